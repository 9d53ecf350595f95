/**
 * `pnpm bench [area ...]`: runs bench/<area>.bench.ts (all by default), merges the figures into
 * bench/results.json (by name, so one area can be re-run alone) and rewrites bench/RESULTS.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './lib.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
/** Flags (e.g. `--short` for the soak) are read by the bench files themselves. */
const flags = args.filter((a) => a.startsWith('--'));
const wanted = args.filter((a) => !a.startsWith('--'));
/** Run only when named: the soak takes up to an hour (`pnpm bench soak [--short]`), fanout100k sends 100,000 mails. */
const ON_REQUEST = new Set(['soak', 'fanout100k']);
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => {
    const area = f.replace('.bench.ts', '');
    return wanted.length === 0 ? !ON_REQUEST.has(area) : wanted.includes(area);
  })
  .sort();

// results.json holds exactly { name, value, unit, target, better } per figure (the published
// format); what RESULTS.md also shows (note, command, date) is kept beside it in results.meta.json,
// so re-running one area keeps the others' notes and dates.
const resultsPath = path.join(dir, 'results.json');
const metaPath = path.join(dir, 'results.meta.json');
type Meta = { note?: string; command?: string; measuredAt?: string };
const readJson = <T>(file: string, fallback: T): T =>
  fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : fallback;
const previousMeta = readJson<Record<string, Meta>>(metaPath, {});
const previous: (BenchResult & Meta)[] = readJson<BenchResult[]>(resultsPath, []).map((r) => ({
  ...r,
  ...previousMeta[r.name],
}));
const byName = new Map(previous.map((r) => [r.name, r]));

let failed = false;
for (const f of files) {
  const area = f.replace('.bench.ts', '');
  process.stdout.write(`bench ${area} ...\n`);
  try {
    const mod = (await import(path.join(dir, f))) as { default: () => Promise<BenchResult[]> };
    for (const r of await mod.default()) {
      byName.set(r.name, {
        ...r,
        measuredAt: new Date().toISOString(),
        command: `pnpm bench ${[area, ...flags].join(' ')}`,
      });
      const ok =
        r.target === null ? '' : (r.better === 'lower' ? r.value <= r.target : r.value >= r.target) ? ' ok' : ' MISSED';
      process.stdout.write(
        `  ${r.name} = ${r.value} ${r.unit}${r.target === null ? '' : ` (target ${r.better === 'lower' ? '<=' : '>='} ${r.target})`}${ok}\n`,
      );
    }
  } catch (err) {
    failed = true;
    process.stderr.write(`  ${area} failed: ${(err as Error).stack}\n`);
  }
}

const all = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
fs.writeFileSync(
  resultsPath,
  `${JSON.stringify(
    all.map(({ name, value, unit, target, better }) => ({ name, value, unit, target, better })),
    null,
    2,
  )}\n`,
);
fs.writeFileSync(
  metaPath,
  `${JSON.stringify(
    Object.fromEntries(all.map(({ name, note, command, measuredAt }) => [name, { note, command, measuredAt }])),
    null,
    2,
  )}\n`,
);

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const machine = `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
const fmt = (n: number) =>
  Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : String(Math.round(n * 100) / 100);
const lines = [
  '# Benchmark results',
  '',
  'Written by `pnpm bench` (bench/run.ts); the same figures are in bench/results.json. Re-run one area',
  'with `pnpm bench <area>` (engine, cycle, ingest, intraday, news, delivery, ops, limits, http, memory; soak only when named). Postgres 15 and Redis 7 on the same machine;',
  'the benchmark process, the worker and the databases share its cores, and throughput figures move by',
  'about 10-30 % with other load on the host (each delivery note gives the load average at its start).',
  'Hosts of the same nominal kind differ more (up to ~2x between sessions on this machine kind):',
  '`engine.evals_per_s` (pure CPU, one core) is the yardstick to compare two runs by.',
  '',
  `Machine: ${machine}.`,
  '',
  '| name | figure | target | met | command | measured |',
  '| --- | --- | --- | --- | --- | --- |',
  ...all.map((r) => {
    const met =
      r.target === null ? 'n/a' : (r.better === 'lower' ? r.value <= r.target : r.value >= r.target) ? 'yes' : '**no**';
    const target = r.target === null ? 'report' : `${r.better === 'lower' ? '≤' : '≥'} ${fmt(r.target)} ${r.unit}`;
    return `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${target} | ${met} | \`${r.command ?? 'pnpm bench'}\` | ${r.measuredAt?.slice(0, 10) ?? ''} |`;
  }),
  '',
  ...all.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`),
  '',
];
fs.writeFileSync(path.join(dir, 'RESULTS.md'), lines.join('\n'));
process.exit(failed ? 1 : 0);
