/** Admin: feeds, API keys, system status and the start page. */
import { appVersion } from '@signals/config';
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv, Runtime } from '../context.ts';
import { SCOPES, type Scope, grantedScopes } from '../api/scopes.ts';
import { FormError, readForm } from '../input.ts';
import type { FieldError } from '../problem.ts';
import { sessionOf } from '../security/auth.ts';
import { apiKeyCreateSchema, createApiKey, listApiKeys, revokeApiKey } from '../services/apikeys.ts';
import { createFeed, deleteFeed, feedCreateSchema, getFeed, listFeeds, updateFeed } from '../services/feeds.ts';
import { storageStatus, systemStatus } from '../services/system.ts';
import { actionButton, badge, checkbox, csrfField, field, fieldErrorList, fmtTime, select } from '../views/layout.ts';
import { type C, csrfOf, formProblem, intField, opt, parseForm, render } from './common.ts';

export function registerOpsPages(admin: Hono<AppEnv>, rt: Runtime) {
  admin.get('/', async (c) => {
    const [status, alerts, rules, subs] = await Promise.all([
      systemStatus(rt),
      rt.prisma.alert.count({ where: { firedAt: { gte: new Date(rt.clock.now().getTime() - 7 * 86_400_000) } } }),
      rt.prisma.rule.count({ where: { enabled: true } }),
      rt.prisma.subscriber.count({ where: { status: 'confirmed' } }),
    ]);
    return render(c, {
      title: 'Overview',
      active: '/admin',
      body: html`<ul>
  <li><a href="/admin/alerts">${alerts} alert(s)</a> in the last 7 days</li>
  <li><a href="/admin/rules">${rules} enabled rule(s)</a></li>
  <li><a href="/admin/subscribers">${subs} confirmed subscriber(s)</a></li>
  <li>Prices from <strong>${status.prices.source}</strong>, last fetched ${fmtTime(status.prices.lastFetchedAt)}</li>
  ${status.degraded.length ? html`<li class="down">Degraded sources: ${status.degraded.join(', ')} (<a href="/admin/system">details</a>)</li>` : ''}
  ${overdueNote(status.loops)}
</ul>
<p>API: <a href="/api/openapi.json">OpenAPI document</a>.</p>`,
    });
  });

  // ---------------------------------------------------------------------------------------------
  // Feeds
  // ---------------------------------------------------------------------------------------------
  const feedsPage = async (
    c: C,
    o: { values?: Record<string, string>; errors?: FieldError[]; error?: string } = {},
    status = 200,
  ) => {
    const feeds = await listFeeds(rt);
    const csrf = csrfOf(c);
    return render(
      c,
      {
        title: 'Feeds',
        active: '/admin/feeds',
        error: o.error ?? null,
        body: html`<table>
  <thead><tr><th scope="col">Feed</th><th scope="col">Status</th><th scope="col">Last fetch</th><th scope="col">Last error</th><th scope="col" class="num">Items</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${feeds.map(
    (f) => html`<tr>
    <td><a href="/admin/feeds/${f.id}">${f.name}</a><br><span class="muted">${f.url}</span></td>
    <td>${badge(f.status)}</td>
    <td>${fmtTime(f.lastFetchedAt)}</td>
    <td>${f.lastError ? html`${f.lastError} <span class="muted">(${fmtTime(f.lastErrorAt)}, ${f.consecutiveFailures} in a row)</span>` : '—'}</td>
    <td class="num">${f.itemCount ?? 0}</td>
    <td>${actionButton(`/admin/feeds/${f.id}/toggle`, f.enabled ? `Disable ${f.name}` : `Enable ${f.name}`, csrf, { hidden: { enabled: f.enabled ? 'false' : 'true' } })}
      <a href="/admin/feeds/${f.id}/delete">Delete<span class="visually-hidden"> ${f.name}</span></a></td>
  </tr>`,
  )}</tbody>
</table>
<h2 id="new-feed">Add a feed</h2>
<form method="post" action="/admin/feeds" class="stack" aria-labelledby="new-feed">
  ${csrfField(csrf)}
  ${field({ name: 'url', label: 'Feed URL (RSS or Atom)', type: 'url', required: true, value: o.values?.url, errors: o.errors, hint: 'Addresses in private networks are refused unless allowed by FEED_ALLOWED_CIDRS.' })}
  ${field({ name: 'name', label: 'Name', required: true, value: o.values?.name, errors: o.errors })}
  ${select({
    name: 'language',
    label: 'Language',
    value: o.values?.language ?? 'en',
    errors: o.errors,
    options: [
      { value: 'en', label: 'English' },
      { value: 'de', label: 'German' },
    ],
  })}
  ${field({ name: 'pollIntervalSec', label: 'Poll every (seconds)', type: 'number', value: o.values?.pollIntervalSec ?? '300', errors: o.errors })}
  <button type="submit">Add feed</button>
</form>`,
      },
      status,
    );
  };

  admin.get('/feeds', (c) => feedsPage(c));
  admin.post('/feeds', async (c) => {
    let values: Record<string, string> = {};
    try {
      values = (await readForm(c)).values;
      const pollIntervalSec = intField(values, 'pollIntervalSec');
      const input = parseForm(feedCreateSchema, {
        url: (values.url ?? '').trim(),
        name: values.name ?? '',
        language: values.language ?? 'en',
        ...(pollIntervalSec !== undefined ? { pollIntervalSec } : {}),
      });
      await createFeed(rt, input);
      return c.redirect('/admin/feeds?done=added', 303);
    } catch (err) {
      const p = formProblem(err);
      if (!p) throw err;
      return feedsPage(c, { values, errors: p.errors, error: p.message }, p.status);
    }
  });
  admin.get('/feeds/:id', async (c) => {
    const f = await getFeed(rt, c.req.param('id'));
    return render(c, {
      title: `Feed: ${f.name}`,
      active: '/admin/feeds',
      body: html`<p><a href="/admin/feeds">← All feeds</a></p>
<dl class="panel">
  <dt>URL</dt><dd><code>${f.url}</code></dd>
  <dt>Status</dt><dd>${badge(f.status)}, polled every ${f.pollIntervalSec} s, next ${fmtTime(f.nextFetchAt)}</dd>
  <dt>Last success</dt><dd>${fmtTime(f.lastSuccessAt)}</dd>
  <dt>Last error</dt><dd>${f.lastError ?? '—'}</dd>
</dl>
<p><a href="/admin/feeds/${f.id}/delete">Delete this feed</a></p>
<h2>Latest items</h2>
<table><thead><tr><th scope="col">Seen</th><th scope="col">Title</th><th scope="col">Symbols</th><th scope="col">Topics</th></tr></thead>
<tbody>${f.items.map(
        (i) =>
          html`<tr><td>${fmtTime(i.firstSeenAt)}</td><td>${i.link && /^https?:\/\//i.test(i.link) ? html`<a href="${i.link}" rel="noopener noreferrer">${i.title}</a>` : i.title}</td><td>${i.symbols.join(', ')}</td><td>${i.topics.join(', ')}</td></tr>`,
      )}</tbody></table>`,
    });
  });
  // Deleting takes a confirmation page (it works without JavaScript): the feed and every news item
  // it brought in are removed, which also changes what news rules and backtests can see.
  admin.get('/feeds/:id/delete', async (c) => {
    const f = await getFeed(rt, c.req.param('id'));
    return render(c, {
      title: `Delete feed: ${f.name}`,
      active: '/admin/feeds',
      body: html`<p>Delete the feed <strong>${f.name}</strong> (<code>${f.url}</code>) and the <strong data-testid="feed-item-count">${f.itemCount ?? 0}</strong> news item(s) it brought in? This cannot be undone.</p>
<form method="post" action="/admin/feeds/${f.id}/delete" class="inline" aria-label="Delete feed">
  ${csrfField(csrfOf(c))}
  <button type="submit" class="danger">Delete feed and its news</button>
</form>
<p><a href="/admin/feeds">Cancel</a></p>`,
    });
  });
  admin.post('/feeds/:id/delete', async (c) => {
    await deleteFeed(rt, c.req.param('id'));
    return c.redirect('/admin/feeds?done=deleted', 303);
  });
  admin.post('/feeds/:id/toggle', async (c) => {
    const { values } = await readForm(c);
    const enabled = values.enabled === 'true';
    await updateFeed(rt, c.req.param('id'), { enabled });
    return c.redirect(`/admin/feeds?done=${enabled ? 'enabled' : 'disabled'}`, 303);
  });

  // ---------------------------------------------------------------------------------------------
  // API keys
  // ---------------------------------------------------------------------------------------------
  /** Expiry choices of the form, in days (empty: never). */
  const EXPIRY_DAYS = [
    { value: '', label: 'Never' },
    { value: '7', label: 'In 7 days' },
    { value: '30', label: 'In 30 days' },
    { value: '90', label: 'In 90 days' },
    { value: '365', label: 'In a year' },
  ];
  const SCOPE_HINTS: Record<Scope, string> = {
    read: 'read: list and read watchlists, rules, alerts, silences, endpoints, feeds',
    write: 'write: change watchlists, rules, silences, feeds, endpoints; backtests and previews',
    admin: 'admin: API keys, subscribers’ addresses, deletions',
  };
  const keyState = (k: { revokedAt: string | null; expiresAt: string | null }) =>
    k.revokedAt
      ? badge('revoked', 'disabled')
      : k.expiresAt && Date.parse(k.expiresAt) <= rt.clock.now().getTime()
        ? badge('expired', 'disabled')
        : badge('active');

  const keysPage = async (
    c: C,
    o: {
      created?: { name: string; key: string };
      errors?: FieldError[];
      error?: string;
      form?: { name: string; scopes: string[]; expiry: string };
    } = {},
    status = 200,
  ) => {
    const keys = await listApiKeys(rt);
    const csrf = csrfOf(c);
    const chosen = new Set(o.form?.scopes ?? ['read']);
    const scopeErrs = (o.errors ?? []).filter((e) => e.path.startsWith('scopes'));
    return render(
      c,
      {
        title: 'API keys',
        active: '/admin/api-keys',
        error: o.error ?? null,
        body: html`${
          o.created
            ? html`<section class="panel" aria-labelledby="key-title"><h2 id="key-title">Key “${o.created.name}”</h2>
<p>Copy it now: it is not shown again. Send it as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
<p class="secret" id="key-value" data-testid="api-key">${o.created.key}</p>
<button type="button" class="secondary" data-copy="key-value" hidden>Copy key</button></section>`
            : ''
        }
<table>
  <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${keys.map(
    (
      k,
    ) => html`<tr data-testid="key-${k.id}"><td>${k.name}</td><td><code>${k.prefix}…</code></td><td>${k.scopes.join(', ')}</td><td>${fmtTime(k.createdAt)}</td><td>${k.expiresAt ? fmtTime(k.expiresAt) : 'never'}</td><td>${k.lastUsedAt ? fmtTime(k.lastUsedAt) : 'never'}</td>
    <td>${keyState(k)}</td>
    <td>${k.revokedAt ? '' : actionButton(`/admin/api-keys/${k.id}/revoke`, `Revoke ${k.name}`, csrf, { className: 'danger', confirm: `Revoke the key ${k.name}? Programs using it stop working.` })}</td></tr>`,
  )}</tbody>
</table>
<h2 id="new-key">New API key</h2>
<form method="post" action="/admin/api-keys" class="stack" aria-labelledby="new-key">
  ${csrfField(csrf)}
  ${field({ name: 'name', label: 'Name', required: true, value: o.form?.name, errors: o.errors, hint: 'What uses it, e.g. "trading bot".' })}
  <fieldset${scopeErrs.length ? html` aria-describedby="f-scopes-err"` : ''}>
    <legend>Scopes</legend>
    ${SCOPES.map((s) => checkbox({ name: 'scopes', value: s, id: `scope-${s}`, label: SCOPE_HINTS[s], checked: chosen.has(s) }))}
    ${fieldErrorList('f-scopes', scopeErrs)}
  </fieldset>
  ${select({ name: 'expiry', label: 'Expires', options: EXPIRY_DAYS, value: o.form?.expiry ?? '' })}
  <button type="submit">Create key</button>
</form>`,
      },
      status,
    );
  };
  admin.get('/api-keys', (c) => keysPage(c));
  admin.post('/api-keys', async (c) => {
    let form: { name: string; scopes: string[]; expiry: string } | undefined;
    try {
      const { values, all } = await readForm(c);
      form = { name: values.name ?? '', scopes: all.scopes ?? [], expiry: values.expiry ?? '' };
      const days = opt(form.expiry);
      if (days !== undefined && !EXPIRY_DAYS.some((d) => d.value === days))
        throw new FormError([{ path: 'expiry', message: 'choose one of the offered expiries' }]);
      const expiresAt =
        days === undefined ? undefined : new Date(rt.clock.now().getTime() + Number(days) * 86_400_000).toISOString();
      const input = parseForm(apiKeyCreateSchema, { name: form.name, scopes: form.scopes, expiresAt });
      const s = sessionOf(c);
      const { key } = await createApiKey(rt, input, { userId: s.userId, granted: grantedScopes(s) });
      return keysPage(c, { created: { name: input.name, key } }, 201);
    } catch (err) {
      const p = formProblem(err);
      if (!p) throw err;
      return keysPage(c, { errors: p.errors, error: p.message, ...(form ? { form } : {}) }, p.status);
    }
  });
  admin.post('/api-keys/:id/revoke', async (c) => {
    await revokeApiKey(rt, c.req.param('id'), grantedScopes(sessionOf(c)));
    return c.redirect('/admin/api-keys?done=revoked', 303);
  });

  // ---------------------------------------------------------------------------------------------
  // System
  // ---------------------------------------------------------------------------------------------
  admin.get('/system', async (c) => {
    const [s, storage] = await Promise.all([systemStatus(rt), storageStatus(rt)]);
    const source = opt(c.req.query('source'));
    const events = source ? s.events.filter((e) => e.source === source) : s.events;
    return render(c, {
      title: 'System',
      active: '/admin/system',
      body: html`<p class="muted" id="version">Market Signals ${appVersion()}</p>
${proxyBanner(rt.proxyWatch.finding())}
<h2 id="loops">Loops</h2>
${overdueNote(s.loops)}
<table aria-labelledby="loops"><thead><tr><th scope="col">Loop</th><th scope="col" class="num">Every</th><th scope="col">Last success</th><th scope="col">State</th><th scope="col">Why</th><th scope="col">Last error</th><th scope="col">Worker</th></tr></thead>
<tbody>${s.loops.map(
        (l) =>
          html`<tr data-loop="${l.loop}"><td>${l.name}</td><td class="num">${l.intervalSec} s</td><td>${fmtTime(l.lastSuccessAt)}</td><td>${badge(l.state, LOOP_BADGE[l.state])}</td><td>${l.reason}</td><td>${l.lastError ? html`${l.lastError} <span class="muted">(${fmtTime(l.lastErrorAt)})</span>` : '—'}</td><td>${l.worker ?? '—'}</td></tr>`,
      )}</tbody></table>
${
  s.incidents.length
    ? html`<table><caption>Outages (service.degraded / service.recovered)</caption><thead><tr><th scope="col">Loop</th><th scope="col">Last success before</th><th scope="col">Overdue since</th><th scope="col">Reported</th><th scope="col">Recovered</th><th scope="col">Why</th></tr></thead>
<tbody>${s.incidents.map((i) => html`<tr><td>${i.loop}</td><td>${fmtTime(i.lastSuccessAt)}</td><td>${fmtTime(i.overdueSince)}</td><td>${fmtTime(i.degradedAt)}</td><td>${i.recoveredAt ? fmtTime(i.recoveredAt) : badge('ongoing', 'failed')}</td><td>${i.reason}</td></tr>`)}</tbody></table>`
    : ''
}
<h2>Prices (${s.prices.source})</h2>
<p>Watched instruments by freshness: ${
        Object.entries(s.prices.instruments).length
          ? Object.entries(s.prices.instruments).map(([k, n]) => html`${badge(k)} ${n} `)
          : 'none'
      }</p>
<p>Last fetch ${fmtTime(s.prices.lastFetchedAt)}; newest price from ${fmtTime(s.prices.lastSourceAt)}.</p>
${
  s.prices.staleOrFailed.length
    ? html`<table><caption>Stale or failed</caption><thead><tr><th scope="col">Symbol</th><th scope="col">Freshness</th><th scope="col">Error</th></tr></thead>
<tbody>${s.prices.staleOrFailed.map((i) => html`<tr><td>${i.symbol}</td><td>${badge(i.freshness)}</td><td>${i.lastError ?? ''}</td></tr>`)}</tbody></table>`
    : ''
}
${
  s.prices.incompleteBaskets.length
    ? html`<table><caption>Incomplete baskets (not evaluated)</caption><thead><tr><th scope="col">Rule</th><th scope="col">Why</th></tr></thead>
<tbody>${s.prices.incompleteBaskets.map((i) => html`<tr><td><a href="/admin/rules/${i.ruleId}">${i.ruleName}</a></td><td>${i.detail}</td></tr>`)}</tbody></table>`
    : ''
}
<h2>Feeds</h2>
<table><thead><tr><th scope="col">Feed</th><th scope="col">Last success</th><th scope="col">Failures in a row</th><th scope="col">Last error</th></tr></thead>
<tbody>${s.feeds.map((f) => html`<tr><td>${f.name}${f.enabled ? '' : html` ${badge('disabled')}`}</td><td>${fmtTime(f.lastSuccessAt)}</td><td class="num">${f.consecutiveFailures}</td><td>${f.lastError ?? ''}</td></tr>`)}</tbody></table>
<h2>Source events</h2>
${s.degraded.length ? html`<p class="down">Degraded now: ${s.degraded.join(', ')}</p>` : html`<p>No source is degraded.</p>`}
<table><thead><tr><th scope="col">When</th><th scope="col">Source</th><th scope="col">Event</th><th scope="col">Message</th></tr></thead>
<tbody>${events.map((e) => html`<tr><td>${fmtTime(e.createdAt)}</td><td>${e.source}</td><td>${badge(e.kind, e.kind === 'recovered' ? 'ok' : 'failed')}</td><td>${e.message}</td></tr>`)}</tbody></table>
${storageTable(storage)}`,
    });
  });
}

/** Requests came through a proxy this server does not trust: every visitor counts as one address. */
function proxyBanner(f: { since: Date; header: string; count: number } | null) {
  return f
    ? html`<p class="down" id="proxy-warning" role="alert">Requests arrive with ${f.header} (${f.count} since ${fmtTime(f.since)}) but <code>TRUST_PROXY</code> is unset: every visitor behind the proxy counts as the proxy's address, so one visitor's wrong logins or subscribes hit the limits of all (the admin included). Set <code>TRUST_PROXY</code> to your proxy's CIDR and restart.</p>`
    : '';
}

/** Badge colour per loop state: overdue red, starting amber, idle and ok green. */
const LOOP_BADGE: Record<string, string> = { ok: 'ok', idle: 'ok', starting: 'pending', overdue: 'failed' };

function overdueNote(loops: { name: string; state: string }[]) {
  const late = loops.filter((l) => l.state === 'overdue');
  return late.length
    ? html`<p class="down">Overdue: ${late.map((l) => l.name).join(', ')}. Alerts that depend on them are not being raised or sent (<a href="/admin/system#loops">details</a>).</p>`
    : '';
}

/** The Storage section: rows, size and oldest row per table that grows (README "Retention"). */
function storageTable(storage: Awaited<ReturnType<typeof storageStatus>>) {
  return html`<h2 id="storage">Storage</h2>
<p class="muted">Tables that grow with time, pruned hourly by the retention job (README "Running for years"). Rows marked ~ are PostgreSQL's estimate.</p>
<table aria-labelledby="storage"><thead><tr><th scope="col">Table</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Size</th><th scope="col">Oldest row</th></tr></thead>
<tbody>${storage.tables.map(
    (t) =>
      html`<tr data-table="${t.table}"><td>${t.table}</td><td class="num">${t.rowsExact ? '' : '~'}${t.rows.toLocaleString('en-US')}</td><td class="num">${fmtBytes(t.bytes)}</td><td>${t.oldest ? fmtTime(t.oldest) : '—'}</td></tr>`,
  )}</tbody>
<tfoot><tr><th scope="row">All</th><td></td><td class="num">${fmtBytes(storage.totalBytes)}</td><td></td></tr></tfoot></table>`;
}

function fmtBytes(n: number): string {
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
