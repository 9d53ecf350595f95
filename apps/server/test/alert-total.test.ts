/**
 * Issue 20, item 4: the unfiltered alert list's `total` (a count of the whole Alert table) is
 * counted at most once per ALERT_TOTAL_MAX_AGE_MS; with any filter it is counted exactly on every
 * request. The items themselves are always read fresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClock } from '@signals/testing';
import { ALERT_TOTAL_MAX_AGE_MS } from '../src/services/alerts.ts';
import { api, type Harness, startHarness } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
const clock = testClock();
beforeAll(async () => {
  h = await startHarness({ clock });
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

describe('the alert list total', () => {
  it('is at most ALERT_TOTAL_MAX_AGE_MS old without filters, exact with one', async () => {
    const rule = await h.db.prisma.rule.create({ data: { name: 'Total rule', kind: 'pct_move', params: {} } });
    let n = 0;
    const alert = () =>
      h.db.prisma.alert.create({
        data: {
          dedupKey: `total-${n++}`,
          ruleId: rule.id,
          subject: 'TOT',
          severity: 'info',
          title: `Total ${n}`,
          value: -0.1,
          threshold: -0.05,
          details: { unit: 'pct', kind: 'pct_move' },
          firedAt: new Date(Date.now() + n * 1_000),
        },
      });
    clock.freeze();
    try {
      await alert();
      const first = await call('GET', '/alerts');
      expect(first.status).toBe(200);
      const counted = await h.db.prisma.alert.count();
      expect(first.json.total).toBe(counted);

      const late = await alert();
      const again = await call('GET', '/alerts');
      // The new alert is listed at once...
      expect(again.json.items[0].id).toBe(late.id);
      // ...while the unfiltered total is the count of up to ALERT_TOTAL_MAX_AGE_MS ago,
      expect(again.json.total).toBe(counted);
      // a filtered one is exact,
      expect((await call('GET', `/alerts?ruleId=${rule.id}`)).json.total).toBe(2);
      // and the unfiltered one catches up once the count is that old.
      clock.advance(ALERT_TOTAL_MAX_AGE_MS);
      expect((await call('GET', '/alerts')).json.total).toBe(counted + 1);
    } finally {
      clock.thaw();
    }
  });
});
