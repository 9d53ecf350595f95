/** Admin: your account. Change the password (ends your other sessions) and log other sessions out. */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { HttpProblem } from '../problem.ts';
import type { AppEnv, Runtime } from '../context.ts';
import { readForm } from '../input.ts';
import type { FieldError } from '../problem.ts';
import { sessionOf } from '../security/auth.ts';
import { changePassword, endOtherSessions, listSessions, passwordChangeSchema } from '../services/account.ts';
import { actionButton, csrfField, field, fmtTime } from '../views/layout.ts';
import { type C, csrfOf, formProblem, parseForm, render } from './common.ts';

const ACTIVE = '/admin/account';

export function registerAccountPages(admin: Hono<AppEnv>, rt: Runtime) {
  const accountPage = async (c: C, o: { errors?: FieldError[]; error?: string | null } = {}, status = 200) => {
    const sessions = await listSessions(rt, c.get('auth'));
    const csrf = csrfOf(c);
    const others = sessions.filter((s) => !s.current).length;
    return render(
      c,
      {
        title: 'Your account',
        active: ACTIVE,
        error: o.error ?? null,
        body: html`<p>Logged in as <strong>${sessionOf(c).email}</strong>.</p>
<h2 id="pw">Change your password</h2>
<form method="post" action="/admin/account/password" class="stack card" aria-labelledby="pw">
  ${csrfField(csrf)}
  ${field({ name: 'currentPassword', label: 'Current password', type: 'password', required: true, errors: o.errors, autocomplete: 'current-password' })}
  ${field({ name: 'newPassword', label: 'New password', type: 'password', required: true, errors: o.errors, hint: 'At least 12 characters. Every other session of your account is logged out; API keys keep working.', autocomplete: 'new-password' })}
  ${field({ name: 'confirm', label: 'Repeat the new password', type: 'password', required: true, errors: o.errors, autocomplete: 'new-password' })}
  <button type="submit">Change password</button>
</form>
<h2 id="sessions">Sessions</h2>
<table aria-labelledby="sessions">
  <thead><tr><th scope="col">Session</th><th scope="col">Logged in</th><th scope="col">Last seen</th><th scope="col">Address</th><th scope="col">Browser</th></tr></thead>
  <tbody>${sessions.map(
    (s) =>
      html`<tr data-testid="session-${s.id}"><td><code>${s.id}</code>${s.current ? html` <span class="badge">this one</span>` : ''}</td><td>${fmtTime(s.createdAt)}</td><td>${fmtTime(s.lastSeenAt)}</td><td>${s.ip ?? '—'}</td><td>${s.userAgent ?? '—'}</td></tr>`,
  )}</tbody>
</table>
${
  others > 0
    ? actionButton(
        '/admin/account/sessions/end-others',
        `Log out the other ${others} session${others === 1 ? '' : 's'}`,
        csrf,
        {
          className: 'danger',
          confirm: 'Log out every other session of your account?',
        },
      )
    : html`<p class="muted">No other session is logged in.</p>`
}`,
      },
      status,
    );
  };

  admin.get('/account', (c) => accountPage(c));

  admin.post('/account/password', async (c) => {
    try {
      const { values } = await readForm(c);
      if ((values.newPassword ?? '') !== (values.confirm ?? ''))
        return accountPage(
          c,
          {
            errors: [{ path: 'confirm', message: 'the passwords differ' }],
            error: 'Please correct the marked fields.',
          },
          400,
        );
      const input = parseForm(passwordChangeSchema, {
        currentPassword: values.currentPassword ?? '',
        newPassword: values.newPassword ?? '',
      });
      await changePassword(rt, c.get('auth'), input);
      return c.redirect('/admin/account?done=password-changed', 303);
    } catch (err) {
      if (err instanceof HttpProblem && (err.status === 429 || err.status === 503)) {
        for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
        return accountPage(c, { error: `${err.title}: ${err.extra.detail ?? ''}` }, err.status);
      }
      const p = formProblem(err);
      if (!p) throw err;
      return accountPage(c, { errors: p.errors, error: p.message }, p.status);
    }
  });

  admin.post('/account/sessions/end-others', async (c) => {
    await endOtherSessions(rt, c.get('auth'));
    return c.redirect('/admin/account?done=sessions-ended', 303);
  });
}
