/**
 * Table sizes as an operator reads them: the System page's Storage section and /metrics show, per
 * table that grows with time, its rows, its bytes and its oldest row; the metrics pass promtool.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, type Harness, startHarness } from './harness.ts';

describe('storage stats on the System page and /metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('shows rows, size and the oldest row per table', async () => {
    const p = h.db.prisma;
    const inst = await p.instrument.upsert({ where: { symbol: 'ZZST' }, create: { symbol: 'ZZST' }, update: {} });
    const oldest = new Date('2024-03-05T14:30:00Z');
    await p.$executeRawUnsafe(`DELETE FROM "QuoteSnapshot"`);
    await p.quoteSnapshot.createMany({
      data: [oldest, new Date('2024-03-06T14:30:00Z'), new Date('2024-03-07T14:30:00Z')].map((t) => ({
        instrumentId: inst.id,
        price: 10,
        sourceAt: t,
        fetchedAt: t,
      })),
    });
    await p.$executeRawUnsafe(`DELETE FROM "SourceEvent"`);
    await p.sourceEvent.create({
      data: { source: 'yahoo', kind: 'degraded', message: 'm', createdAt: new Date('2023-01-02T03:04:05Z') },
    });
    const { cookie } = await adminSession(h);
    const page = await (await h.app.request('/admin/system', { headers: { cookie } })).text();
    const row = (table: string) => {
      const m = new RegExp(`<tr data-table="${table}">(.*?)</tr>`, 's').exec(page);
      expect(m, table).not.toBeNull();
      return [...(m?.[1] ?? '').matchAll(/<td[^>]*>(.*?)<\/td>/gs)].map((x) => x[1] as string);
    };
    expect(page).toContain('<h2 id="storage">Storage</h2>');
    const q = row('QuoteSnapshot');
    expect(q[1]).toBe('3');
    expect(q[2]).toMatch(/^\d+ KiB$/);
    expect(q[3]).toContain('2024-03-05');
    expect(row('SourceEvent')[3]).toContain('2023-01-02');
    expect(row('Alert')[3]).toBe('—');

    const res = await h.app.request('/metrics');
    const text = await res.text();
    expect(text).toMatch(/^signals_table_rows\{table="QuoteSnapshot"\} 3$/m);
    expect(text).toMatch(/^signals_table_rows\{table="Alert"\} 0$/m);
    expect(text).toMatch(
      new RegExp(
        `^signals_table_oldest_row_timestamp_seconds\\{table="QuoteSnapshot"\\} ${oldest.getTime() / 1000}$`,
        'm',
      ),
    );
    expect(text).not.toMatch(/signals_table_oldest_row_timestamp_seconds\{table="Alert"\}/); // empty: no oldest
    const bytes = Number(/^signals_table_bytes\{table="QuoteSnapshot"\} (\d+)$/m.exec(text)?.[1]);
    expect(bytes).toBeGreaterThanOrEqual(8192);

    // The exposition passes Prometheus' own linter (naming, units, help).
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((f) => fs.existsSync(f));
    if (promtool) {
      const tables = text
        .split('\n')
        .filter((l) => /^# (HELP|TYPE) signals_table_|^signals_table_/.test(l))
        .join('\n');
      const r = spawnSync(promtool, ['check', 'metrics'], { input: `${tables}\n`, encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
    } else {
      console.warn('promtool not installed: the exposition was not linted (apt-get install -y prometheus)');
    }
  });
});
