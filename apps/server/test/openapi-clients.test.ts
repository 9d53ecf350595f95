/**
 * The API as real client tools see it (issue 18 item 8): the served /api/openapi.json linted by
 * Redocly's recommended ruleset (`redocly lint`, no errors, no warnings), every operation with a
 * unique, stable operationId and a summary, the README's typed-client recipe (openapi-typescript
 * + openapi-fetch) generated from the served document, type-checked and run against the server,
 * and /metrics clean under `promtool check metrics`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPaths } from '@signals/db';
import { promtoolCheckMetrics } from '@signals/testing';
import { type Harness, startHarness } from './harness.ts';

const run = promisify(execFile);
const serverDir = path.join(repoPaths().root, 'apps/server');
const bin = (name: string) => path.join(serverDir, 'node_modules/.bin', name);

type Operation = { operationId?: string; summary?: string };
type Document = { paths: Record<string, Record<string, Operation>> };

/**
 * Every operation's id, by method and path. Client generators name their functions after these,
 * so a rename breaks every client built on the document: a changed, missing or new operation fails
 * here by name until this table says so.
 */
const OPERATION_IDS: Record<string, string> = {
  'GET /watchlists': 'listWatchlists',
  'POST /watchlists': 'createWatchlist',
  'GET /watchlists/{id}': 'getWatchlist',
  'PATCH /watchlists/{id}': 'updateWatchlist',
  'DELETE /watchlists/{id}': 'deleteWatchlist',
  'GET /watchlists/{id}/members': 'listWatchlistMembers',
  'POST /watchlists/{id}/members': 'addWatchlistMember',
  'DELETE /watchlists/{id}/members/{symbol}': 'removeWatchlistMember',
  'GET /instruments': 'listInstruments',
  'GET /instruments/{symbol}': 'getInstrument',
  'GET /rules': 'listRules',
  'POST /rules': 'createRule',
  'GET /rules/kinds': 'listRuleKinds',
  'GET /rules/templates': 'listRuleTemplates',
  'POST /rules/preview': 'previewRule',
  'GET /rules/{id}': 'getRule',
  'PATCH /rules/{id}': 'updateRule',
  'DELETE /rules/{id}': 'deleteRule',
  'POST /backtest': 'runBacktest',
  'GET /alerts': 'listAlerts',
  'GET /alerts/{id}': 'getAlert',
  'GET /alerts/{id}/deliveries': 'listAlertDeliveries',
  'GET /silences': 'listSilences',
  'POST /silences': 'createSilence',
  'GET /silences/{id}': 'getSilence',
  'POST /silences/{id}/expire': 'expireSilence',
  'GET /inhibit-rules': 'listInhibitRules',
  'POST /inhibit-rules': 'createInhibitRule',
  'GET /inhibit-rules/{id}': 'getInhibitRule',
  'DELETE /inhibit-rules/{id}': 'deleteInhibitRule',
  'GET /subscribers': 'listSubscribers',
  'GET /subscribers/{id}': 'getSubscriber',
  'DELETE /subscribers/{id}': 'deleteSubscriber',
  'POST /subscribers/{id}/reactivate': 'reactivateSubscriber',
  'GET /webhook-endpoints': 'listWebhookEndpoints',
  'POST /webhook-endpoints': 'createWebhookEndpoint',
  'GET /webhook-endpoints/{id}': 'getWebhookEndpoint',
  'PATCH /webhook-endpoints/{id}': 'updateWebhookEndpoint',
  'DELETE /webhook-endpoints/{id}': 'deleteWebhookEndpoint',
  'POST /webhook-endpoints/{id}/rotate': 'rotateWebhookEndpointSecret',
  'POST /webhook-endpoints/{id}/test': 'testWebhookEndpoint',
  'GET /webhook-endpoints/{id}/deliveries': 'listWebhookEndpointDeliveries',
  'POST /deliveries/{id}/redeliver': 'redeliverDelivery',
  'GET /feeds': 'listFeeds',
  'POST /feeds': 'createFeed',
  'GET /feeds/{id}': 'getFeed',
  'PATCH /feeds/{id}': 'updateFeed',
  'DELETE /feeds/{id}': 'deleteFeed',
  'GET /message-templates': 'listMessageTemplates',
  'PUT /message-templates/{key}': 'setMessageTemplate',
  'DELETE /message-templates/{key}': 'deleteMessageTemplate',
  'POST /message-templates/{key}/preview': 'previewMessageTemplate',
  'GET /api-keys': 'listApiKeys',
  'POST /api-keys': 'createApiKey',
  'DELETE /api-keys/{id}': 'revokeApiKey',
  'GET /account/sessions': 'listAccountSessions',
  'DELETE /account/sessions': 'endOtherAccountSessions',
  'POST /account/password': 'changeAccountPassword',
};

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

function operations(doc: Document) {
  return Object.entries(doc.paths).flatMap(([route, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, op]) => ({ key: `${method.toUpperCase()} ${route}`, ...op })),
  );
}

/** The fenced block of `lang` that follows `marker` in the README (the typed-client recipe). */
function readmeBlock(readme: string, marker: string, lang: string): string {
  const at = readme.indexOf(marker);
  expect(at, `README has no "${marker}"`).toBeGreaterThanOrEqual(0);
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme.slice(at));
  expect(m, `no ${lang} block after "${marker}" in the README`).not.toBeNull();
  return (m as RegExpExecArray)[1] as string;
}

describe('the OpenAPI document and /metrics, checked with real client tools', () => {
  let h: Harness;
  let base: string;
  let doc: Document;
  let work: string;

  beforeAll(async () => {
    h = await startHarness();
    base = await h.listen();
    const res = await fetch(`${base}/api/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
    // Under apps/server/node_modules: the client file there resolves openapi-fetch like a project would.
    const cache = path.join(serverDir, 'node_modules/.cache');
    fs.mkdirSync(cache, { recursive: true });
    work = fs.mkdtempSync(path.join(cache, 'openapi-clients-'));
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** `redocly lint <target> --format=json` in `cwd` (no config file there: the recommended ruleset). */
  async function redoclyLint(target: string, cwd: string) {
    const r = await run(bin('redocly'), ['lint', target, '--format=json'], {
      cwd,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const report = JSON.parse(r.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string; location: { pointer?: string }[] }[];
    };
    return {
      totals: report.totals,
      problems: report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`),
    };
  }

  it("passes Redocly's recommended ruleset with no error and no warning (the README's command)", async () => {
    const readme = fs.readFileSync(path.join(repoPaths().root, 'README.md'), 'utf8');
    const command = readmeBlock(readme, '### Typed clients', 'sh')
      .split('\n')
      .find((l) => l.startsWith('npx @redocly/cli lint '));
    expect(command).toBe('npx @redocly/cli lint http://localhost:3000/api/openapi.json');
    const lint = await redoclyLint(`${base}/api/openapi.json`, work);
    expect(lint.problems).toEqual([]);
    expect(lint.totals).toMatchObject({ errors: 0, warnings: 0 });

    // The same linter on the document with one summary and one operationId taken away: it sees both.
    const broken = structuredClone(doc);
    const alerts = broken.paths['/alerts']?.get as Operation;
    delete alerts.summary;
    delete alerts.operationId;
    const dir = fs.mkdtempSync(path.join(work, 'broken-'));
    fs.writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(broken));
    const seen = await redoclyLint('openapi.json', dir);
    expect(seen.totals).toMatchObject({ errors: 1, warnings: 1 });
    expect(seen.problems).toEqual([
      expect.stringMatching(/^error operation-summary #\/paths\/~1alerts\/get/),
      expect.stringMatching(/^warn operation-operationId #\/paths\/~1alerts\/get/),
    ]);
  }, 60_000);

  it('gives every operation a summary and a unique, stable camelCase operationId', () => {
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(50);
    expect(
      ops.filter((o) => !o.summary?.trim()).map((o) => o.key),
      'operations without a summary',
    ).toEqual([]);
    const ids = ops.map((o) => o.operationId);
    expect(
      ids.filter((id) => !id || !/^[a-z]+[A-Z][A-Za-z]*$/.test(id)),
      'ids not camelCase verb-noun',
    ).toEqual([]);
    expect(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      'ids used twice',
    ).toEqual([]);
    expect(Object.fromEntries(ops.map((o) => [o.key, o.operationId]))).toEqual(OPERATION_IDS);
  });

  it("generates a typed client with the README's openapi-typescript command; the README's client type-checks and lists alerts", async () => {
    const rule = await h.db.prisma.rule.create({ data: { name: 'Client rule', kind: 'pct_move', params: {} } });
    await h.db.prisma.alert.create({
      data: {
        dedupKey: 'openapi-client-1',
        ruleId: rule.id,
        subject: 'NVDA',
        severity: 'info',
        title: 'NVDA fell 17 %',
        value: -0.17,
        threshold: -0.05,
        details: {},
        firedAt: new Date('2025-01-27T21:00:00Z'),
      },
    });
    const readme = fs.readFileSync(path.join(repoPaths().root, 'README.md'), 'utf8');
    const here = (text: string) => text.replaceAll('http://localhost:3000', base);

    // The command as the README gives it, with the local openapi-typescript for `npx` (no download).
    const command = readmeBlock(readme, '### Typed clients', 'sh')
      .split('\n')
      .find((l) => l.startsWith('npx openapi-typescript '));
    expect(command).toMatch(/^npx openapi-typescript http:\/\/localhost:3000\/api\/openapi\.json -o \S+\.d\.ts$/);
    const args = here(command as string)
      .split(' ')
      .slice(2);
    await run(bin('openapi-typescript'), args, { cwd: work });
    const types = fs.readFileSync(path.join(work, args[2] as string), 'utf8');
    expect(types).toContain('listAlerts: {');

    // The README's client, unchanged but for the server's address.
    fs.writeFileSync(path.join(work, 'client.mts'), here(readmeBlock(readme, '### Typed clients', 'ts')));
    // And proof that the types are the document's, not `any`: each of these must be a type error.
    fs.writeFileSync(
      path.join(work, 'wrong.mts'),
      [
        "import createClient from 'openapi-fetch';",
        "import type { paths } from './signals-api';",
        'const api = createClient<paths>({});',
        '// @ts-expect-error: no such path',
        "await api.GET('/alertz');",
        '// @ts-expect-error: limit is a number',
        "await api.GET('/alerts', { params: { query: { limit: 'ten' } } });",
        "const { data } = await api.GET('/alerts');",
        "// @ts-expect-error: an alert's subject is a string",
        'export const subject: number | undefined = data?.items[0]?.subject;',
        'export {};',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noUncheckedIndexedAccess: true,
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2022', 'DOM'],
          types: ['node'],
          noEmit: true,
          skipLibCheck: true,
        },
        include: ['*.mts', '*.d.ts'],
      }),
    );
    const tsc = await run(
      process.execPath,
      [path.join(repoPaths().root, 'node_modules/typescript/bin/tsc'), '-p', work],
      {
        cwd: work,
      },
    ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? 'tsc failed' }));
    expect(tsc.stdout).toBe('');

    const out = await run(process.execPath, ['--import', 'tsx', 'client.mts'], {
      cwd: work,
      env: { ...process.env, SIGNALS_API_KEY: h.apiKey },
    });
    expect(out.stdout).toContain('NVDA');
    expect(out.stdout).toContain('2025-01-27T21:00:00.000Z');
  }, 120_000);

  it('serves /metrics that `promtool check metrics` finds clean', async () => {
    // Some traffic first, so the labelled series (HTTP by route and status) are there to be checked.
    await fetch(`${base}/healthz`);
    await fetch(`${base}/api/alerts`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    await fetch(`${base}/api/alerts/none`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    const body = await (await fetch(`${base}/metrics`)).text();
    expect(body).toMatch(/^signals_http_requests_total\{.*status="404".*\} 1$/m);
    expect(await promtoolCheckMetrics(body)).toEqual({ code: 0, findings: '' });
  });
});
