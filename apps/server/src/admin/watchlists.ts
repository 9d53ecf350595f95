/** Admin: watchlists and their members. */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv, Runtime } from '../context.ts';
import { readForm } from '../input.ts';
import type { FieldError } from '../problem.ts';
import {
  addMember,
  createWatchlist,
  deleteWatchlist,
  getWatchlist,
  listWatchlists,
  memberAddSchema,
  removeMember,
  updateWatchlist,
  watchlistCreateSchema,
  watchlistUpdateSchema,
} from '../services/watchlists.ts';
import { actionButton, badge, csrfField, field, fmtNum, fmtPct, fmtTime } from '../views/layout.ts';
import { type C, csrfOf, formProblem, opt, parseForm, render } from './common.ts';

const ACTIVE = '/admin/watchlists';

export function registerWatchlistPages(admin: Hono<AppEnv>, rt: Runtime) {
  const listPage = async (
    c: C,
    form: { values?: Record<string, string>; errors?: FieldError[]; error?: string } = {},
    status = 200,
  ) => {
    const rows = await listWatchlists(rt);
    const csrf = csrfOf(c);
    const v = form.values ?? {};
    return render(
      c,
      {
        title: 'Watchlists',
        active: ACTIVE,
        error: form.error ?? null,
        body: html`<table>
  <caption class="muted">${rows.length} watchlist(s)</caption>
  <thead><tr><th scope="col">Name</th><th scope="col">Slug</th><th scope="col" class="num">Symbols</th><th scope="col" class="num">Rules</th></tr></thead>
  <tbody>${rows.map(
    (w) =>
      html`<tr><td><a href="/admin/watchlists/${w.id}">${w.name}</a></td><td><code>${w.slug}</code></td><td class="num">${w.memberCount}</td><td class="num">${w.ruleCount}</td></tr>`,
  )}</tbody>
</table>
<h2 id="new-watchlist">New watchlist</h2>
<form method="post" action="/admin/watchlists" class="stack" aria-labelledby="new-watchlist">
  ${csrfField(csrf)}
  ${field({ name: 'name', label: 'Name', required: true, value: v.name, errors: form.errors })}
  ${field({ name: 'slug', label: 'Slug', value: v.slug, errors: form.errors, hint: 'Optional; made from the name when empty (lower-case letters, digits, dashes).' })}
  ${field({ name: 'description', label: 'Description', value: v.description, errors: form.errors })}
  <button type="submit">Create watchlist</button>
</form>`,
      },
      status,
    );
  };

  admin.get('/watchlists', (c) => listPage(c));

  admin.post('/watchlists', async (c) => {
    let values: Record<string, string> = {};
    try {
      values = (await readForm(c)).values;
      const input = parseForm(watchlistCreateSchema, {
        name: values.name ?? '',
        ...(opt(values.slug) ? { slug: values.slug?.trim() } : {}),
        ...(opt(values.description) ? { description: values.description } : {}),
      });
      const w = await createWatchlist(rt, input);
      return c.redirect(`/admin/watchlists/${w.id}?done=created`, 303);
    } catch (err) {
      const p = formProblem(err);
      if (!p) throw err;
      return listPage(c, { values, errors: p.errors, error: p.message }, p.status);
    }
  });

  const detailPage = async (
    c: C,
    id: string,
    form: { values?: Record<string, string>; errors?: FieldError[]; error?: string; which?: 'rename' | 'member' } = {},
    status = 200,
  ) => {
    const w = await getWatchlist(rt, id);
    const csrf = csrfOf(c);
    const rv =
      form.which === 'rename' ? (form.values ?? {}) : { name: w.name, slug: w.slug, description: w.description ?? '' };
    const renameErrors = form.which === 'rename' ? form.errors : [];
    const memberErrors = form.which === 'member' ? form.errors : [];
    return render(
      c,
      {
        title: `Watchlist: ${w.name}`,
        active: ACTIVE,
        error: form.error ?? null,
        body: html`<p><a href="/admin/watchlists">← All watchlists</a></p>
${w.description ? html`<p>${w.description}</p>` : ''}
<h2 id="members">Symbols</h2>
<table aria-labelledby="members">
  <thead><tr><th scope="col">Symbol</th><th scope="col">Name</th><th scope="col" class="num">Last price</th><th scope="col" class="num">Day move</th><th scope="col">Freshness</th><th scope="col">Price time</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${w.members.map(
    (m) => html`<tr>
    <td><strong>${m.symbol}</strong></td><td>${m.name ?? '—'}</td>
    <td class="num">${fmtNum(m.lastPrice)} ${m.currency ?? ''}</td>
    <td class="num ${m.dayMove == null ? '' : m.dayMove >= 0 ? 'up' : 'down'}">${fmtPct(m.dayMove)}</td>
    <td>${badge(m.freshness)}${m.lastError ? html` <span class="muted">${m.lastError}</span>` : ''}</td>
    <td>${fmtTime(m.lastSourceAt)}</td>
    <td>${actionButton(`/admin/watchlists/${w.id}/members/${encodeURIComponent(m.symbol)}/delete`, `Remove ${m.symbol}`, csrf, { confirm: `Remove ${m.symbol} from ${w.name}?` })}</td>
  </tr>`,
  )}</tbody>
</table>
${w.members.length === 0 ? html`<p class="muted">No symbols yet.</p>` : ''}
<form method="post" action="/admin/watchlists/${w.id}/members" class="stack" aria-label="Add a symbol">
  ${csrfField(csrf)}
  ${field({ name: 'symbol', label: 'Add a symbol', required: true, value: form.which === 'member' ? form.values?.symbol : '', errors: memberErrors, hint: 'Ticker as on Yahoo Finance, e.g. NVDA, BRK-B, ^GSPC, SAP.DE. It is checked against the price source.' })}
  <button type="submit">Add symbol</button>
</form>
<h2 id="rename">Rename</h2>
<form method="post" action="/admin/watchlists/${w.id}" class="stack" aria-labelledby="rename">
  ${csrfField(csrf)}
  ${field({ name: 'name', label: 'Name', required: true, value: rv.name, errors: renameErrors })}
  ${field({ name: 'slug', label: 'Slug', required: true, value: rv.slug, errors: renameErrors })}
  ${field({ name: 'description', label: 'Description', value: rv.description, errors: renameErrors })}
  <button type="submit">Save</button>
</form>
<h2>Delete</h2>
${actionButton(`/admin/watchlists/${w.id}/delete`, 'Delete this watchlist', csrf, { className: 'danger', confirm: `Delete the watchlist ${w.name}? Its rules keep existing without a watchlist.` })}`,
      },
      status,
    );
  };

  admin.get('/watchlists/:id', (c) => detailPage(c, c.req.param('id')));

  admin.post('/watchlists/:id', async (c) => {
    const id = c.req.param('id');
    let values: Record<string, string> = {};
    try {
      values = (await readForm(c)).values;
      const input = parseForm(watchlistUpdateSchema, {
        name: values.name ?? '',
        slug: (values.slug ?? '').trim(),
        description: opt(values.description) ?? null,
      });
      await updateWatchlist(rt, id, input);
      return c.redirect(`/admin/watchlists/${id}?done=saved`, 303);
    } catch (err) {
      const p = formProblem(err);
      if (!p || p.status === 404) throw err;
      return detailPage(c, id, { values, errors: p.errors, error: p.message, which: 'rename' }, p.status);
    }
  });

  admin.post('/watchlists/:id/delete', async (c) => {
    await deleteWatchlist(rt, c.req.param('id'));
    return c.redirect('/admin/watchlists?done=deleted', 303);
  });

  admin.post('/watchlists/:id/members', async (c) => {
    const id = c.req.param('id');
    let values: Record<string, string> = {};
    try {
      values = (await readForm(c)).values;
      const input = parseForm(memberAddSchema, { symbol: values.symbol ?? '' });
      await addMember(rt, id, input.symbol);
      return c.redirect(`/admin/watchlists/${id}?done=added`, 303);
    } catch (err) {
      const p = formProblem(err);
      if (!p || p.status === 404) throw err;
      return detailPage(
        c,
        id,
        {
          values,
          errors: p.errors.length ? p.errors : [{ path: 'symbol', message: p.message }],
          error: p.message,
          which: 'member',
        },
        p.status,
      );
    }
  });

  admin.post('/watchlists/:id/members/:symbol/delete', async (c) => {
    const id = c.req.param('id');
    await removeMember(rt, id, decodeURIComponent(c.req.param('symbol')));
    return c.redirect(`/admin/watchlists/${id}?done=removed`, 303);
  });
}
