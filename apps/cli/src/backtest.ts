/**
 * `pnpm cli backtest`: replays daily price history (recorded Yahoo chart answers, or the PriceBar
 * rows in the database) through rules (default rules by seed id, or rules given as JSON) with the
 * engine's {@link backtest}, and prints every alert the rules would have raised.
 *
 * Exit status: 0 done (also when nothing fired); 2 a bad argument, rule, date or history file
 * (one line on stderr naming the problem, no stack trace); 1 the database cannot be read.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type BacktestAlert,
  type BacktestResolution,
  type BacktestResult,
  type BacktestRun,
  chooseResolution,
  DomainError,
  dailyFromIntraday,
  dailyResolution,
  describeRule,
  formatThreshold,
  formatValue,
  type History,
  type IntradayHistory,
  type IntradayInterval,
  intradayResolution,
  type NewsItem,
  parseIntradayInterval,
  parseNewsRecording,
  type ResolutionRequest,
  type RuleDefinition,
  ruleNeedsNews,
  ruleNeedsPrices,
  rulePerSymbol,
  runBacktestJob,
  symbolSchema,
  ValidationError,
  validateRuleDefinition,
} from '@signals/core';
import { chartInterval, intradayFromRawChart, parseYahooChart, recordedBody } from '@signals/market-data';
import { type TaggableInstrument, tagRecordedNews } from '@signals/news';
import { defaultWatchlists, seedRules } from '@signals/seeds';

/** A mistake in the command line or its inputs: exit 2 with the message. */
class UsageError extends Error {}
/** The environment failed (database unreachable or unreadable): exit 1 with the message. */
class RunError extends Error {}

export const backtestUsage = `usage: pnpm cli backtest [options]

Replays daily price history through alert rules with the worker's rule engine (pending, cooldown
and re-arm apply; the clock is pinned to each session's close) and lists the alerts they would
have raised. Intraday rules are measured close to close on daily bars.

rules (at least one):
  --rule <seed-id>      a default rule by its seed id (--list-seeds shows them); repeatable
  --rule '<json>'       a rule as JSON (a value starting with "{"); id, name, severity and
                        cooldownSec may be left out (defaults: cli-<n>, the rule's description,
                        warning, 0); repeatable
  --all-seeds           every default rule
  --list-seeds          list the default rules and exit

history (default: the PriceBar rows in the database named by DATABASE_URL, warmed up by the
rules' longest look-back, and the stored news of those symbols timed by publication, so news and
news+price rules fire as they would have; the same loader as POST /api/backtest and the preview):
  --history <file>      a recorded Yahoo /v8/finance/chart answer: the chart body, or a recorded
                        exchange {request, response: {bodyJson}}; one symbol per file; repeatable
                        (prices only: news rules cannot fire)
  --symbols <A,B,...>   symbols to replay (default: the rules' symbols; every symbol with stored
                        bars when a price rule has no symbols); with --history, keeps only these
  --from YYYY-MM-DD     first session to report, inclusive (earlier bars only warm up the windows)
  --to YYYY-MM-DD       last session to replay, inclusive
  --news <file>         news to replay with --history: a JSON array of
                        {title, publishedAt, symbols?, topics?, summary?, link?, id?}, each item
                        visible from its publishedAt (the .news.json files beside
                        fixtures/yahoo-intraday); repeatable

resolution (the same choice as POST /api/backtest and the rule preview):
  (default)             daily bars, unless a rule is intraday, extended-hours, news or
                        news+price and intraday bars are stored for the symbols over the range
                        (or an intraday --history file is given): then the finest of them. The
                        summary's "resolution:" line says which and why.
  --interval <1m|5m|15m|1h>
                        replay intraday bars one by one as the live quotes the worker would have
                        seen (pre/post-market bars as Yahoo's pre/post-market prices), with news
                        at its publication time; from the IntradayBar rows in the database, or
                        from --history files that are intraday chart recordings (an intraday
                        --history file switches this on by itself); daily --history files then
                        only warm up the windows. Alerts' "at" is the ISO start of the bar.
  --interval 1d         daily bars whatever the rules (stored bars or daily --history files).
                        On daily bars a news+price confirmation is decided only when the daily
                        data can tell: see "news+price on daily bars" in the README.

who would have been told:
  --deliveries          also run the alerts found through the live fan-out (silences, inhibit
                        rules, today's subscribers and endpoints, time intervals, quiet hours,
                        grouping), each judged at the alert's time, from the database: "would have
                        sent N emails, M webhooks, K Telegram messages; H held: ..." and a row per
                        alert (with --json: a last line {"deliveries": {...}}). Reads only; not with
                        --history (recorded files have no stored rules to plan against)

output:
  (default)             a table of alerts (date, rule, symbol, value, threshold) and a summary
  --json                one JSON object per alert per line on stdout:
                          {"rule","symbol","at","value","threshold","unit"}
                        (value and threshold as the engine measures them, in the rule kind's
                        unit: fraction (-0.1 = -10 %), sd, multiple, count or price); the summary
                        goes to stderr
  -h, --help            this text

exit status: 0 done (also when nothing fired), 2 bad arguments, rules, dates or files,
             1 the database cannot be read

examples:
  pnpm cli backtest --rule deepseek-nvda-drop-historic --from 2025-01-01
  pnpm cli backtest --all-seeds --symbols NVDA,MSFT --from 2024-01-01 --to 2025-12-31
  pnpm cli backtest --all-seeds --history fixtures/yahoo-intraday/MSFT-5m-2025-01-29-capex-postmarket.json \\
    --news fixtures/yahoo-intraday/MSFT-5m-2025-01-29-capex-postmarket.news.json
  pnpm -s cli backtest --json --history nvda-chart.json \\
    --rule '{"kind":"pct_move","params":{"sessions":1,"thresholdPct":10,"direction":"either"}}' > alerts.jsonl
`;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
interface Options {
  rules: string[];
  allSeeds: boolean;
  listSeeds: boolean;
  histories: string[];
  symbols: string[] | undefined;
  from: string | undefined;
  to: string | undefined;
  json: boolean;
  help: boolean;
  interval: IntradayInterval | '1d' | undefined;
  news: string[];
  deliveries: boolean;
}

function parseOptions(args: string[]): Options {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (err) {
    // node:util parseArgs errors (unknown option, missing value) are for people: no stack.
    throw new UsageError(`${(err as Error).message} (pnpm cli backtest --help shows the options)`);
  }
  return {
    rules: values.rule ?? [],
    allSeeds: values['all-seeds'] === true,
    listSeeds: values['list-seeds'] === true,
    histories: values.history ?? [],
    symbols: values.symbols === undefined ? undefined : parseSymbols(values.symbols),
    from: values.from === undefined ? undefined : parseDate('--from', values.from),
    to: values.to === undefined ? undefined : parseDate('--to', values.to),
    json: values.json === true,
    help: values.help === true,
    interval: values.interval === undefined ? undefined : parseInterval(values.interval),
    news: values.news ?? [],
    deliveries: values.deliveries === true,
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      rule: { type: 'string', multiple: true },
      'all-seeds': { type: 'boolean' },
      'list-seeds': { type: 'boolean' },
      history: { type: 'string', multiple: true },
      symbols: { type: 'string', multiple: true },
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      interval: { type: 'string' },
      news: { type: 'string', multiple: true },
      deliveries: { type: 'boolean' },
    },
  });
}

function parseDate(flag: string, value: string): string {
  const m = DATE_RE.exec(value.trim());
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const t = new Date(Date.UTC(y, mo - 1, d));
    if (t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d) return value.trim();
  }
  throw new UsageError(`${flag}: "${value}" is not a date (YYYY-MM-DD, e.g. 2025-01-27)`);
}

function parseInterval(value: string): IntradayInterval | '1d' {
  if (value.trim() === '1d') return '1d';
  const v = parseIntradayInterval(value.trim());
  if (!v) throw new UsageError(`--interval: "${value}" is not an intraday interval (1m, 5m, 15m or 1h) or 1d`);
  return v;
}

function parseSymbols(values: string[]): string[] {
  const out: string[] = [];
  for (const raw of values.flatMap((v) => v.split(','))) {
    if (!raw.trim()) continue;
    const r = symbolSchema.safeParse(raw);
    if (!r.success) throw new UsageError(`--symbols: "${raw.trim()}": ${r.error.issues[0]?.message ?? 'invalid'}`);
    if (!out.includes(r.data)) out.push(r.data);
  }
  if (!out.length) throw new UsageError('--symbols: give at least one symbol, e.g. --symbols NVDA,MSFT');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

function issuesText(issues: { path: string; message: string }[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

function seedRule(id: string, label: string): RuleDefinition {
  const seed = seedRules.find((s) => s.seedId === id);
  if (!seed) {
    throw new UsageError(
      `${label}: unknown seed rule "${id}" (pnpm cli backtest --list-seeds lists them; a JSON rule starts with "{")`,
    );
  }
  // The seed's provenance fields are not part of a rule definition (the schema rejects unknown fields).
  const { seedId, watchlist: _watchlist, sourceArticle: _article, sourcePassage: _passage, ...def } = seed;
  const r = validateRuleDefinition({ ...def, id: seedId });
  if (!r.ok) throw new Error(`seed rule ${seedId} is invalid: ${issuesText(r.issues)}`);
  return r.rule;
}

function jsonRule(raw: string, n: number, label: string): RuleDefinition {
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`${label}: not valid JSON (${(err as Error).message})`);
  }
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new UsageError(`${label}: must be a JSON object, e.g. {"kind":"pct_move","params":{...}}`);
  }
  const given = input as Record<string, unknown>;
  const named = 'name' in given;
  // Defaults for what an operator trying a rule out should not have to type. The name is replaced
  // by the rule's description once the rule is valid (describeRule needs a valid rule).
  const filled = { id: `cli-${n}`, severity: 'warning', cooldownSec: 0, ...given, ...(named ? {} : { name: 'cli' }) };
  const r = validateRuleDefinition(filled);
  if (!r.ok) throw new UsageError(`${label}: ${issuesText(r.issues)}`);
  if (!named) r.rule.name = describeRule(r.rule).slice(0, 200);
  return r.rule;
}

function buildRules(opts: Options): RuleDefinition[] {
  const rules: RuleDefinition[] = [];
  const from = new Map<string, { label: string; seed: boolean }>();
  const add = (rule: RuleDefinition, label: string, seed: boolean) => {
    const prev = from.get(rule.id);
    if (prev) {
      if (prev.seed && seed) return; // the same default rule twice (e.g. --rule x with --all-seeds)
      throw new UsageError(`${label}: id "${rule.id}" is already used by ${prev.label}`);
    }
    from.set(rule.id, { label, seed });
    rules.push(rule);
  };
  opts.rules.forEach((raw, i) => {
    const n = i + 1;
    const label = `rule ${n}`;
    const value = raw.trim();
    if (value.startsWith('{')) add(jsonRule(value, n, label), label, false);
    else add(seedRule(value, label), label, true);
  });
  if (opts.allSeeds) for (const s of seedRules) add(seedRule(s.seedId, '--all-seeds'), '--all-seeds', true);
  if (!rules.length) {
    throw new UsageError(
      'no rules: give --rule <seed-id>, --rule \'{"kind":...}\' or --all-seeds (pnpm cli backtest --help)',
    );
  }
  return rules;
}

/** Symbols the rules need prices of, or undefined when a price rule watches every symbol. */
function priceSymbols(rules: readonly RuleDefinition[]): string[] | undefined {
  const set = new Set<string>();
  for (const r of rules) {
    if (!ruleNeedsPrices(r)) continue; // needs news, not prices
    if (!r.symbols?.length) return undefined;
    for (const s of r.symbols) set.add(s);
  }
  return set.size ? [...set].sort() : undefined;
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

function errorCode(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** The chart body of a recording (market-data's one unwrapping of recorded exchanges). */
function unwrapRecording(json: unknown, label: string): unknown {
  try {
    return recordedBody(json, label);
  } catch (err) {
    if (err instanceof DomainError) throw new UsageError(`${label}: ${err.message}`);
    throw err;
  }
}

function timestampCount(body: unknown): number {
  let r: unknown = body;
  if (r && typeof r === 'object' && 'chart' in r) {
    const result = (r as { chart?: { result?: unknown } }).chart?.result;
    r = Array.isArray(result) ? result[0] : undefined;
  }
  const ts = r && typeof r === 'object' ? (r as { timestamp?: unknown }).timestamp : undefined;
  return Array.isArray(ts) ? ts.length : 0;
}

function loadHistoryFile(file: string): History {
  const label = `history ${file}`;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') throw new UsageError(`${label}: no such file`);
    if (code === 'EISDIR') throw new UsageError(`${label}: is a directory, not a file`);
    if (code === 'EACCES') throw new UsageError(`${label}: permission denied`);
    throw new UsageError(`${label}: cannot read it (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${label}: not valid JSON (${(err as Error).message})`);
  }
  const body = unwrapRecording(json, label);
  let h: History;
  try {
    h = parseYahooChart(body);
  } catch (err) {
    if (err instanceof DomainError && timestampCount(body) === 0)
      throw new UsageError(`${label}: the chart has no timestamps, so no price bars (an empty or malformed answer)`);
    if (err instanceof DomainError) throw new UsageError(`${label}: not a Yahoo chart answer: ${err.message}`);
    throw err;
  }
  if (!h.bars.length) {
    throw new UsageError(
      timestampCount(body) === 0
        ? `${label}: the chart has no timestamps, so no price bars (an empty or malformed answer)`
        : `${label}: the chart has no usable closes`,
    );
  }
  return { ...h, symbol: h.symbol.toUpperCase() };
}

function loadHistoryFiles(files: readonly string[], symbols: string[] | undefined, warn: (s: string) => void) {
  const out: History[] = [];
  const fileOf = new Map<string, string>();
  for (const f of files) {
    const h = loadHistoryFile(f);
    const prev = fileOf.get(h.symbol);
    if (prev) throw new UsageError(`history ${f}: a second history for ${h.symbol} (also in ${prev})`);
    fileOf.set(h.symbol, f);
    out.push(h);
  }
  if (!symbols) return out;
  const missing = symbols.filter((s) => !fileOf.has(s));
  const kept = out.filter((h) => symbols.includes(h.symbol));
  if (!kept.length)
    throw new UsageError(
      `--symbols: none of ${symbols.join(', ')} is in the history files (${[...fileOf.keys()].join(', ')})`,
    );
  if (missing.length) warn(`note: no history file for ${missing.join(', ')}`);
  return kept;
}

/** Last meaningful line of a driver/Prisma error (their messages start with call-site context). */
function shortMessage(err: unknown): string {
  const lines = String((err as Error)?.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? 'unknown error';
}

/** A backtest's input as loaded by either door of the CLI, with the resolution chosen. */
interface Loaded {
  daily: History[];
  /** Intraday histories when the resolution is intraday, else null. */
  intraday: IntradayHistory[] | null;
  news: NewsItem[];
  resolution: BacktestResolution;
}

/**
 * Bars stored in the database named by DATABASE_URL and, when a rule needs news, the news items
 * stored over the same range (so news and news+price rules can fire, as in the API's backtest),
 * through the one loader of POST /api/backtest and the preview: the same daily/intraday choice
 * (`asked` 'auto' by default: intraday bars when a rule wants them and they are stored).
 */
async function loadFromDatabase(
  symbols: string[] | undefined,
  opts: { from?: string | undefined; to?: string | undefined },
  rules: readonly RuleDefinition[],
  warn: (s: string) => void,
  asked: ResolutionRequest,
): Promise<Loaded> {
  const { loadEnvOrExit, redactUrl } = await import('@signals/config');
  const env = loadEnvOrExit();
  const where = redactUrl(env.DATABASE_URL);
  const u = new URL(env.DATABASE_URL);
  const host = u.hostname || '127.0.0.1';
  const port = u.port ? Number(u.port) : 5432;
  const { reachable } = await import('./preflight.ts');
  if (!(await reachable(host, port))) {
    throw new RunError(
      `cannot reach PostgreSQL at ${host}:${port} (DATABASE_URL): start it, or replay recorded history with --history <file>`,
    );
  }
  const { createPrisma, inclusiveRange, loadBacktestInput, BACKTEST_NEWS_TAKE } = await import('@signals/db');
  const prisma = createPrisma({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
  try {
    const instruments = await prisma.instrument.findMany({
      where: symbols ? { symbol: { in: symbols } } : { bars: { some: {} } },
      select: { id: true, symbol: true },
      orderBy: { symbol: 'asc' },
    });
    const names = instruments.map((i) => i.symbol);
    let input: Awaited<ReturnType<typeof loadBacktestInput>>;
    try {
      input = await loadBacktestInput(prisma, {
        rules,
        symbols: names,
        ...inclusiveRange(opts.from, opts.to),
        interval: asked,
      });
    } catch (err) {
      // The interval asked for is not stored (the same 422 as the API's).
      if (err instanceof ValidationError && err.issues[0]?.path === 'interval')
        throw new UsageError(
          `no ${asked} bars stored for ${(symbols ?? names).join(', ') || 'any symbol'} (the worker stores them when INTRADAY_INTERVALS includes ${asked}; or use --history <file>)`,
        );
      throw err;
    }
    const histories = input.histories.filter((h) => h.bars.length > 0);
    const wanted = symbols ?? names;
    const have = new Set(histories.map((h) => h.symbol));
    const missing = wanted.filter((s) => !have.has(s));
    if (!histories.length && !input.intraday?.length) {
      throw new UsageError(
        symbols
          ? `no price bars stored for ${symbols.join(', ')}${opts.to ? ` up to ${opts.to}` : ''} in ${where} (the worker stores them; or use --history <file>)`
          : `no price bars stored in ${where} (the worker stores them; or use --history <file>)`,
      );
    }
    if (missing.length && !input.intraday) warn(`note: no price bars stored for ${missing.join(', ')}`);
    if (input.newsCapped) warn(`note: only the first ${BACKTEST_NEWS_TAKE} stored news items are replayed`);
    return { daily: histories, news: input.news, intraday: input.intraday, resolution: input.resolution };
  } catch (err) {
    if (err instanceof UsageError || err instanceof RunError) throw err;
    const msg = shortMessage(err);
    const hint = /does not exist/i.test(msg) ? ' (run pnpm cli migrate first)' : '';
    throw new RunError(`reading price bars and news from ${where} failed: ${msg}${hint}`);
  } finally {
    await prisma.$disconnect();
  }
}

/**
 * The instruments a recording's news is tagged against, as the live worker tags against the
 * instruments it watches: the default watchlists (names and aliases) and the replayed symbols.
 */
function knownInstruments(replayed: readonly string[]): TaggableInstrument[] {
  const out = new Map<string, TaggableInstrument>();
  for (const w of defaultWatchlists)
    for (const m of w.symbols) out.set(m.symbol, { symbol: m.symbol, name: m.name, aliases: m.aliases });
  for (const s of replayed) if (!out.has(s)) out.set(s, { symbol: s });
  return [...out.values()];
}

/**
 * Recorded charts (--history) and news (--news; items without symbols or topics are tagged by the
 * live tagger, see knownInstruments). An intraday recording asks for its interval by
 * itself (as --interval does); the choice is then the runner's, as for stored bars. Daily files
 * beside intraday ones only warm up the windows.
 */
function loadFromFiles(opts: Options, rules: readonly RuleDefinition[], warn: (s: string) => void): Loaded {
  const news = loadNewsFiles(opts.news);
  const intraday: IntradayHistory[] = [];
  const dailyFiles: string[] = [];
  const keep = (symbol: string) => !opts.symbols || opts.symbols.includes(symbol);
  for (const f of opts.histories) {
    const label = `history ${f}`;
    const json = readJson(f, label);
    if (chartInterval(json) === undefined) {
      dailyFiles.push(f);
      continue;
    }
    let h: IntradayHistory;
    try {
      h = intradayFromRawChart(json, { source: label });
    } catch (err) {
      if (err instanceof DomainError) throw new UsageError(`${label}: not a Yahoo chart answer: ${err.message}`);
      throw err;
    }
    if (!h.bars.length) throw new UsageError(`${label}: the chart has no usable bars`);
    if (opts.interval === '1d') throw new UsageError(`${label}: an intraday chart, but --interval 1d`);
    if (opts.interval && h.interval !== opts.interval) {
      throw new UsageError(`${label}: ${h.interval} bars, but --interval ${opts.interval}`);
    }
    if (intraday.length && (intraday[0] as IntradayHistory).interval !== h.interval) {
      throw new UsageError(`${label}: ${h.interval} bars, but the first file has ${intraday[0]?.interval} bars`);
    }
    if (intraday.some((x) => x.symbol === h.symbol)) {
      throw new UsageError(`${label}: a second intraday history for ${h.symbol}`);
    }
    if (keep(h.symbol)) intraday.push(h);
  }
  const fileInterval = intraday[0]?.interval;
  if (opts.interval && opts.interval !== '1d' && !fileInterval)
    throw new UsageError('--interval: none of the --history files is an intraday chart');
  const daily = fileInterval
    ? dailyFiles.map((f) => loadHistoryFile(f)).filter((h) => keep(h.symbol))
    : loadHistoryFiles(dailyFiles, opts.symbols, warn);
  const tagging = tagRecordedNews(news, knownInstruments([...intraday, ...daily].map((h) => h.symbol)));
  if (tagging.tagged)
    warn(
      `note: ${plural(tagging.tagged, 'recorded news item')} tagged by the live tagger (symbols and topics the recording did not name), against the default watchlists and the replayed symbols`,
    );
  let chosen: ReturnType<typeof chooseResolution>;
  try {
    chosen = chooseResolution(rules, opts.interval ?? fileInterval ?? 'auto', {
      intervals: fileInterval ? [fileInterval] : [],
      missing: (i) => (i ? `no ${i} recordings among the --history files` : 'the --history files are daily charts'),
    });
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(issuesText(err.issues));
    throw err;
  }
  if ('interval' in chosen) {
    const extended = intraday.some((h) => h.bars.some((b) => b.session !== 'regular'));
    return {
      daily,
      intraday,
      news: tagging.items,
      resolution: intradayResolution(rules, chosen.interval, { requested: true, extended }),
    };
  }
  return { daily, intraday: null, news: tagging.items, resolution: dailyResolution(rules, chosen.why) };
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths: number[] = [];
  for (const r of rows) for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  return rows
    .map((r) =>
      r
        .map((c, i) => {
          const w = widths[i] ?? 0;
          if (i === r.length - 1 && !rightAligned.has(i)) return c;
          return rightAligned.has(i) ? c.padStart(w) : c.padEnd(w);
        })
        .join('  '),
    )
    .join('\n');
}

function alertTable(alerts: readonly BacktestAlert[]): string {
  const rows = [['date', 'rule', 'symbol', 'value', 'threshold']];
  for (const a of alerts)
    rows.push([a.at, a.rule, a.symbol, formatValue(a.value, a.unit), formatThreshold(a.threshold, a.unit)]);
  return table(rows, new Set([3, 4]));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function summaryText(
  result: BacktestResult,
  histories: readonly History[],
  range: { from?: string | undefined; to?: string | undefined },
): string {
  const rows = [['rule', 'kind', 'fired', 'subjects', 'not evaluated', 'name']];
  for (const s of result.summary) {
    const skipped = Object.entries(s.skipped)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    rows.push([s.rule, s.kind, String(s.fired), String(s.subjects), skipped || '-', s.name]);
  }
  const dates = new Set<string>();
  for (const h of histories)
    for (const b of h.bars)
      if ((range.from === undefined || b.date >= range.from) && (range.to === undefined || b.date <= range.to))
        dates.add(b.date);
  const sorted = [...dates].sort();
  const span = sorted.length ? ` (${sorted[0]} .. ${sorted[sorted.length - 1]})` : '';
  const symbols = histories.map((h) => h.symbol).sort();
  const symText = symbols.length <= 12 ? symbols.join(', ') : `${symbols.slice(0, 12).join(', ')}, ...`;
  const fired = result.summary.filter((s) => s.fired > 0).length;
  return (
    `${table(rows, new Set([2, 3]))}\n` +
    `total: ${plural(result.alerts.length, 'alert')} from ${fired} of ${plural(result.summary.length, 'rule')}, ` +
    `${plural(sorted.length, 'session')}${span}, ${plural(symbols.length, 'symbol')}: ${symText}\n`
  );
}

function seedList(): string {
  const rows = [['seed id', 'kind', 'symbols', 'name']];
  for (const s of seedRules) rows.push([s.seedId, s.kind, s.symbols?.join(',') ?? '(any)', s.name]);
  return `${table(rows)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Command
// ---------------------------------------------------------------------------------------------

async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args);
  if (opts.help) {
    process.stdout.write(backtestUsage);
    return 0;
  }
  if (opts.listSeeds) {
    process.stdout.write(seedList());
    return 0;
  }
  if (opts.from && opts.to && opts.from > opts.to) throw new UsageError(`--from ${opts.from} is after --to ${opts.to}`);
  const rules = buildRules(opts);
  const warn = (s: string) => process.stderr.write(`${s}\n`);
  if (opts.news.length && !opts.histories.length) {
    throw new UsageError('--news replays recorded news with --history files (without them, the stored news is used)');
  }
  if (opts.deliveries && opts.histories.length)
    throw new UsageError(
      '--deliveries plans against stored rules and subscribers: run it on the stored history (leave out --history)',
    );
  const fromFiles = opts.histories.length > 0;
  const input = fromFiles
    ? loadFromFiles(opts, rules, warn)
    : await loadFromDatabase(opts.symbols ?? priceSymbols(rules), opts, rules, warn, opts.interval ?? 'auto');
  const { daily, intraday, news } = input;

  if (intraday) {
    const interval = (intraday[0] as IntradayHistory).interval;
    const extended = intraday.some((h) => h.bars.some((b) => b.session !== 'regular'));
    warn(
      `note: intraday backtest on ${interval} bars: each bar replayed as the live quote after it${extended ? ' (pre/post-market bars as extended-hours prices)' : ''}, news at its publication time; "at" is the bar's start`,
    );
    const newsRules = rules.filter((r) => ruleNeedsNews(r)).map((r) => r.id);
    if (newsRules.length && !news.length)
      warn(`note: no news to replay; these rules cannot fire: ${newsRules.join(', ')}`);
  } else {
    const have = new Set(daily.map((h) => h.symbol));
    const newsOnly: string[] = [];
    const noHistory: string[] = [];
    for (const r of rules) {
      if (ruleNeedsNews(r) && news.length === 0) {
        newsOnly.push(r.id);
        continue;
      }
      const missing = r.symbols?.filter((s) => !have.has(s)) ?? [];
      if (r.symbols?.length && missing.length === r.symbols.length) noHistory.push(`${r.id} (${missing.join(', ')})`);
      else if (!rulePerSymbol(r) && ruleNeedsPrices(r) && missing.length)
        warn(`note: ${r.id}: no history for basket members ${missing.join(', ')}`);
    }
    if (noHistory.length)
      warn(
        `note: no history for the symbols of ${plural(noHistory.length, 'rule')}, which cannot fire: ${noHistory.join(', ')}`,
      );
    if (newsOnly.length)
      warn(
        fromFiles
          ? `note: --history replays prices only; these rules need news and cannot fire: ${newsOnly.join(', ')} (add --news <file>, or run without --history to replay the stored news too)`
          : `note: no news stored for the range; these rules need news and cannot fire: ${newsOnly.join(', ')}`,
      );
    else if (news.length) warn(`note: replaying ${plural(news.length, 'stored news item')} for the news rules`);
  }

  let run: BacktestRun;
  try {
    // The one runner of the API, the preview and this command.
    run = runBacktestJob({ rules, daily, intraday, news, from: opts.from, to: opts.to, resolution: input.resolution });
  } catch (err) {
    if (err instanceof DomainError) throw new UsageError(err.message);
    throw err;
  }
  const shown = intraday ? intraday.map((h) => ({ symbol: h.symbol, bars: dailyFromIntraday(h), splits: [] })) : daily;
  const resolution = intraday
    ? `resolution: ${input.resolution.interval} bars, ${plural(run.steps, 'bar step')}\n`
    : `resolution: ${input.resolution.reason}\n`;
  printResult(run.result.alerts, `${summaryText(run.result, shown, opts)}${resolution}`, opts.json);
  await printDeliveries(run.result.alerts, rules, opts);
  return 0;
}

/** With --deliveries: who the alerts would have told (backtest-deliveries.ts), after the alerts. */
async function printDeliveries(alerts: readonly BacktestAlert[], rules: RuleDefinition[], opts: Options) {
  if (!opts.deliveries) return;
  const { forecastForCli, forecastText } = await import('./backtest-deliveries.ts');
  const f = await forecastForCli(alerts, rules, (m) => new RunError(m));
  process.stdout.write(opts.json ? `${JSON.stringify({ deliveries: f })}\n` : forecastText(f));
}

/** The alerts (a JSON line each with --json, else a table) on stdout; the summary after them, or on stderr with --json. */
function printResult(alerts: readonly BacktestAlert[], summary: string, json: boolean | undefined): void {
  if (json) {
    let out = '';
    for (const a of alerts) {
      out += `${JSON.stringify({ rule: a.rule, symbol: a.symbol, at: a.at, value: a.value, threshold: a.threshold, unit: a.unit })}\n`;
    }
    process.stdout.write(out);
    process.stderr.write(summary);
  } else {
    const head = alerts.length ? `${alertTable(alerts)}\n` : 'no alerts fired\n';
    process.stdout.write(`${head}\n${summary}`);
  }
}

/** Entry point for `pnpm cli backtest ...`; returns the exit code. */
export async function backtestCommand(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`backtest: ${err.message}\n`);
      return 2;
    }
    if (err instanceof RunError) {
      process.stderr.write(`backtest: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Intraday
// ---------------------------------------------------------------------------------------------

function readJson(file: string, label: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') throw new UsageError(`${label}: no such file`);
    if (code === 'EISDIR') throw new UsageError(`${label}: is a directory, not a file`);
    throw new UsageError(`${label}: cannot read it (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${label}: not valid JSON (${(err as Error).message})`);
  }
}

function loadNewsFiles(files: readonly string[]): NewsItem[] {
  const out: NewsItem[] = [];
  for (const f of files) {
    try {
      out.push(...parseNewsRecording(readJson(f, `news ${f}`), `news ${f}`));
    } catch (err) {
      if (err instanceof DomainError) throw new UsageError(err.message);
      throw err;
    }
  }
  return out;
}
