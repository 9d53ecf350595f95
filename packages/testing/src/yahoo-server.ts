/**
 * A local Yahoo Finance over a real socket, replaying the recorded exchanges in
 * ../shared/fixtures/yahoo. yahoo-finance2 is pointed at it through a `fetch` that rewrites
 * Yahoo's hosts (see YahooPriceSource's `baseUrl`), so its real quote()/chart() code runs,
 * crumb step included.
 *
 * Routes:
 *   GET /quote/<SYM>                 crumb step 1: 200 + the A3 cookie
 *   GET /v1/test/getcrumb            crumb step 2: the recorded crumb text
 *   GET /v7/finance/quote?symbols=   answers built per requested symbol: recorded quote objects
 *                                    where fixtures have them, synthesized ones (same shape as the
 *                                    recorded AAPL quote) for SYM0001-style symbols, chart-fixture
 *                                    symbols and `extraSymbols`; unknown symbols are left out (as
 *                                    Yahoo does), `delisted` ones come back with quoteType NONE.
 *   GET /v8/finance/chart/<SYM>      the recorded chart of SYM, cut to period1..period2; 404 JSON
 *                                    ("No data found, symbol may be delisted") for unknown ones.
 *                                    At an intraday interval: the intraday recording given in
 *                                    `intradayCharts` (without pre/post bars unless
 *                                    includePrePost=true), else the same 404.
 * Faults are set per path prefix with setFault().
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { faultPlan, requestLog } from './faults.ts';
import path from 'node:path';
import { fixturePath, type YahooExchange } from './fixtures.ts';

export type YahooFault =
  /** 429 Too Many Requests with an HTML body (what Yahoo's edge sends). */
  | '429'
  /** 500 with a plain-text body. */
  | '500'
  /** Accept the request and never answer (until close()). */
  | 'hang'
  /** 200 application/json with a truncated JSON body. */
  | 'malformed-json'
  /** The recorded fake chart answers without timestamps (chart-notimestamp-*.fake.json). */
  | 'chart-notimestamp-quotes-length'
  | 'chart-notimestamp-weird-quote'
  /** Yahoo's 404 JSON for an unknown chart symbol. */
  | 'not-found'
  /** 200 with the requested quotes, but without regularMarketPrice (an answer without prices). */
  | 'quote-no-price';

export interface YahooRequestLog {
  method: string;
  /** Path without the query string, e.g. /v7/finance/quote */
  path: string;
  query: Record<string, string>;
  /** Request sequence number (0-based). */
  seq: number;
}

export interface YahooServerOptions {
  /** Folder with the recorded exchanges (default ../shared/fixtures/yahoo). */
  fixturesDir?: string;
  /** Further symbols to answer quotes for (synthesized). */
  extraSymbols?: string[];
  /** Symbols answered with quoteType "NONE" (Yahoo's delisted answer). */
  delisted?: string[];
  /** regularMarketTime of synthesized quotes (default: the recorded AAPL quote's time). */
  quoteTime?: () => Date;
  /**
   * Intraday chart recordings (paths, e.g. intradayFixturePath(...)): served for
   * /v8/finance/chart/<SYM>?interval=<their dataGranularity>, cut to period1..period2, without the
   * pre/post bars unless includePrePost=true (as Yahoo does).
   */
  intradayCharts?: string[];
}

export interface YahooServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request received, in order. */
  requests: YahooRequestLog[];
  /** Number of requests whose path starts with `prefix` (all when omitted). */
  count(prefix?: string): number;
  /**
   * Injects a fault on every path starting with `pathPrefix` (e.g. "/v7/finance/quote",
   * "/v8/finance/chart/NVDA"); `null` clears it. `times` limits it to the next n matching requests.
   */
  setFault(pathPrefix: string, fault: YahooFault | null, opts?: { times?: number }): void;
  clearFaults(): void;
  /** Forgets the request log. */
  resetRequests(): void;
  close(): Promise<void>;
}

const CRUMB = 'haT3oykhHqZ';
const SYNTH = /^SYM\d{1,6}$/;

interface ChartFixture {
  chart: { result: Array<Record<string, unknown>>; error: unknown };
}

function readExchange(dir: string, file: string): YahooExchange {
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as YahooExchange;
}

/** Loads quote objects (by symbol) and charts (by symbol) from the fixture folder. */
function loadFixtures(dir: string) {
  const quotes = new Map<string, Record<string, unknown>>();
  const charts = new Map<string, ChartFixture>();
  const fakes = new Map<string, ChartFixture>();
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  for (const f of files) {
    const ex = readExchange(dir, f);
    const body = ex.response.bodyJson as Record<string, unknown> | undefined;
    if (!body) continue;
    if (f.startsWith('quote-')) {
      const res = (body.quoteResponse as { result?: Record<string, unknown>[] } | undefined)?.result ?? [];
      for (const q of res) {
        const sym = String(q.symbol);
        // Prefer the fullest recorded object (quote-MSFT-fields-beta has a reduced field set).
        const prev = quotes.get(sym);
        if (!prev || Object.keys(q).length > Object.keys(prev).length) quotes.set(sym, q);
      }
    } else if (f.startsWith('chart-notimestamp-')) {
      fakes.set(f.replace(/\.fake\.json$/, '').replace(/^chart-notimestamp-/, ''), body as unknown as ChartFixture);
    } else if (f.startsWith('chart-') || f.startsWith('historical-via-chart-')) {
      const chart = body as unknown as ChartFixture;
      const meta = chart.chart?.result?.[0]?.meta as { symbol?: string } | undefined;
      const sym = meta?.symbol;
      if (!sym) continue;
      const prev = charts.get(sym);
      const len = (c: ChartFixture) => ((c.chart.result[0]?.timestamp as unknown[] | undefined) ?? []).length;
      if (!prev || len(chart) > len(prev)) charts.set(sym, chart);
    }
  }
  return { quotes, charts, fakes };
}

function hashInt(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Regular-session windows (seconds) of an intraday chart's meta.tradingPeriods. */
function regularPeriods(r: Record<string, unknown>): Array<[number, number]> {
  const tp = (r.meta as { tradingPeriods?: unknown } | undefined)?.tradingPeriods;
  const days = (Array.isArray(tp) ? tp : (tp as { regular?: unknown } | undefined)?.regular) as
    | Array<Array<{ start: number; end: number }>>
    | undefined;
  return (days ?? []).flat().map((p) => [p.start, p.end]);
}

/** Cuts a recorded chart to period1..period2 (seconds), as Yahoo does; `regularOnly` drops pre/post bars. */
function sliceChart(src: ChartFixture, p1: number, p2: number, regularOnly = false): ChartFixture {
  const r = src.chart.result[0] as Record<string, unknown>;
  const ts = (r.timestamp as number[] | undefined) ?? [];
  const regular = regularOnly ? regularPeriods(r) : null;
  const keep: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as number;
    if (regular && !regular.some(([a, b]) => t >= a && t < b)) continue;
    if (t >= p1 && t < p2) keep.push(i);
  }
  const pick = <T>(a: T[] | undefined) => (a ? keep.map((i) => a[i] as T) : a);
  const ind = r.indicators as { quote: Record<string, unknown[]>[]; adjclose?: { adjclose: unknown[] }[] };
  const quote = ind.quote.map((q) => Object.fromEntries(Object.entries(q).map(([k, v]) => [k, pick(v)])));
  const adjclose = ind.adjclose?.map((a) => ({ adjclose: pick(a.adjclose) }));
  const events = r.events as Record<string, Record<string, { date: number }>> | undefined;
  let ev: Record<string, Record<string, unknown>> | undefined;
  if (events) {
    ev = {};
    for (const [kind, byTs] of Object.entries(events)) {
      const kept = Object.fromEntries(Object.entries(byTs).filter(([, e]) => e.date >= p1 && e.date < p2));
      if (Object.keys(kept).length) ev[kind] = kept;
    }
  }
  const out: Record<string, unknown> = { ...r, indicators: { quote, ...(adjclose ? { adjclose } : {}) } };
  if (keep.length) out.timestamp = keep.map((i) => ts[i]);
  else {
    delete out.timestamp;
    out.indicators = { quote: [{}], ...(adjclose ? { adjclose: [{}] } : {}) };
  }
  if (ev && Object.keys(ev).length) out.events = ev;
  else delete out.events;
  return { chart: { result: [out], error: null } };
}

export async function startYahooServer(opts: YahooServerOptions = {}): Promise<YahooServer> {
  const dir = opts.fixturesDir ?? fixturePath('yahoo');
  const { quotes, charts, fakes } = loadFixtures(dir);
  const intraday = new Map<string, ChartFixture>();
  for (const f of opts.intradayCharts ?? []) {
    const chart = (JSON.parse(fs.readFileSync(f, 'utf8')) as YahooExchange).response.bodyJson as ChartFixture;
    const meta = chart.chart.result[0]?.meta as { symbol?: string; dataGranularity?: string } | undefined;
    if (meta?.symbol && meta.dataGranularity) intraday.set(`${meta.symbol}|${meta.dataGranularity}`, chart);
  }
  const template = quotes.get('AAPL');
  if (!template) throw new Error(`yahoo-server: quote-AAPL fixture missing in ${dir}`);
  const extra = new Set((opts.extraSymbols ?? []).map((s) => s.toUpperCase()));
  const delisted = new Set((opts.delisted ?? []).map((s) => s.toUpperCase()));
  const log = requestLog<YahooRequestLog>();
  const { requests } = log;
  const plan = faultPlan<YahooFault>();
  const hanging = new Set<http.ServerResponse>();
  let seq = 0;

  function synthQuote(sym: string): Record<string, unknown> {
    const meta = charts.get(sym)?.chart.result[0]?.meta as Record<string, number | string> | undefined;
    const price =
      typeof meta?.regularMarketPrice === 'number' ? meta.regularMarketPrice : 10 + (hashInt(sym) % 49000) / 100;
    const prev = Math.round(price * (1 - ((hashInt(`${sym}p`) % 400) - 200) / 10000) * 100) / 100;
    const name = typeof meta?.longName === 'string' ? meta.longName : `${sym} Synthetic Corp.`;
    return {
      ...template,
      symbol: sym,
      shortName: name,
      longName: name,
      displayName: name,
      messageBoardId: `finmb_${hashInt(sym)}`,
      regularMarketPrice: price,
      regularMarketPreviousClose: prev,
      regularMarketChange: Math.round((price - prev) * 1e4) / 1e4,
      regularMarketChangePercent: Math.round(((price - prev) / prev) * 1e6) / 1e4,
      regularMarketOpen: prev,
      regularMarketDayHigh: Math.max(price, prev),
      regularMarketDayLow: Math.min(price, prev),
      regularMarketDayRange: `${Math.min(price, prev)} - ${Math.max(price, prev)}`,
      regularMarketVolume: 1_000_000 + (hashInt(`${sym}v`) % 50_000_000),
      ...(opts.quoteTime ? { regularMarketTime: Math.floor(opts.quoteTime().getTime() / 1000) } : {}),
    };
  }

  function quoteFor(sym: string): Record<string, unknown> | undefined {
    if (delisted.has(sym))
      return { symbol: sym, quoteType: 'NONE', language: 'en-US', region: 'US', triggerable: false };
    const q = quotes.get(sym);
    if (q) return q;
    if (SYNTH.test(sym) || charts.has(sym) || extra.has(sym)) return synthQuote(sym);
    return undefined;
  }

  function send(
    res: http.ServerResponse,
    status: number,
    body: string,
    type: string,
    headers: http.OutgoingHttpHeaders = {},
  ) {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    send(res, status, JSON.stringify(body), 'application/json;charset=utf-8');

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://local');
    const p = u.pathname;
    requests.push({ method: req.method ?? 'GET', path: p, query: Object.fromEntries(u.searchParams), seq: seq++ });

    const fault = plan.take(p);
    if (fault) {
      switch (fault) {
        case '429':
          return send(
            res,
            429,
            '<!DOCTYPE html><html><head><title>Too Many Requests</title></head><body><h1>Too Many Requests</h1><p>Edge: Too Many Requests</p></body></html>',
            'text/html; charset=utf-8',
          );
        case '500':
          return send(res, 500, 'Internal Server Error', 'text/plain; charset=utf-8');
        case 'hang':
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        case 'malformed-json':
          return send(
            res,
            200,
            '{"quoteResponse":{"result":[{"symbol":"AAPL","regularMarketPrice":24',
            'application/json;charset=utf-8',
          );
        case 'chart-notimestamp-quotes-length':
        case 'chart-notimestamp-weird-quote': {
          const body = fakes.get(fault.replace('chart-notimestamp-', ''));
          if (body) return json(res, 200, body);
          return send(res, 500, `fixture for ${fault} missing`, 'text/plain');
        }
        case 'quote-no-price': {
          const syms = (u.searchParams.get('symbols') ?? '').split(',').filter(Boolean);
          const result = syms
            .map((x) => quoteFor(x.toUpperCase()))
            .filter((q): q is Record<string, unknown> => q !== undefined)
            .map(({ regularMarketPrice: _drop, ...rest }) => rest);
          return json(res, 200, { quoteResponse: { result, error: null } });
        }
        case 'not-found':
          return json(res, 404, {
            chart: { result: null, error: { code: 'Not Found', description: 'No data found, symbol may be delisted' } },
          });
      }
    }

    if (p.startsWith('/quote/')) {
      return send(res, 200, '<!DOCTYPE html><html><body>quote page</body></html>', 'text/html; charset=utf-8', {
        'set-cookie': 'A3=d=test; Max-Age=3600; Domain=.yahoo.com; Path=/; Secure',
      });
    }
    if (p === '/v1/test/getcrumb') return send(res, 200, CRUMB, 'text/plain;charset=utf-8');
    if (p === '/v7/finance/quote') {
      const syms = (u.searchParams.get('symbols') ?? '')
        .split(',')
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean);
      const result = syms.map(quoteFor).filter((q): q is Record<string, unknown> => q !== undefined);
      return json(res, 200, { quoteResponse: { result, error: null } });
    }
    const m = /^\/v8\/finance\/chart\/([^/]+)$/.exec(p);
    if (m) {
      const sym = decodeURIComponent(m[1] as string).toUpperCase();
      const interval = u.searchParams.get('interval') ?? '1d';
      const intra = intraday.get(`${sym}|${interval === '60m' ? '1h' : interval}`);
      if (intra) {
        const p1 = Number(u.searchParams.get('period1') ?? 0);
        const p2 = Number(u.searchParams.get('period2') ?? Number.MAX_SAFE_INTEGER);
        return json(res, 200, sliceChart(intra, p1, p2, u.searchParams.get('includePrePost') !== 'true'));
      }
      // No intraday recording of this symbol and interval: answer as Yahoo does for no data, rather
      // than daily bars a caller would take for intraday ones.
      if (interval !== '1d' && interval !== '1wk' && interval !== '1mo') {
        return json(res, 404, {
          chart: { result: null, error: { code: 'Not Found', description: 'No data found, symbol may be delisted' } },
        });
      }
      const chart = charts.get(sym);
      if (!chart) {
        return json(res, 404, {
          chart: { result: null, error: { code: 'Not Found', description: 'No data found, symbol may be delisted' } },
        });
      }
      const p1 = Number(u.searchParams.get('period1') ?? 0);
      const p2 = Number(u.searchParams.get('period2') ?? Number.MAX_SAFE_INTEGER);
      return json(
        res,
        200,
        sliceChart(chart, Number.isFinite(p1) ? p1 : 0, Number.isFinite(p2) ? p2 : Number.MAX_SAFE_INTEGER),
      );
    }
    return send(res, 404, 'Not Found', 'text/plain');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: log.count,
    setFault: plan.setFault,
    clearFaults: plan.clearFaults,
    resetRequests: log.resetRequests,
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
