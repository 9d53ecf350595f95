/**
 * Public pages: subscribe (double opt-in), confirm, preferences and unsubscribe (a GET page with a
 * button, and RFC 8058 one-click POST). Rate-limited; the answer to a subscription is the same
 * whether the address is known or not.
 */
import { type Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv, Runtime } from '../context.ts';
import { FormError, limitBody, readForm } from '../input.ts';
import { type FieldError, HttpProblem, fieldErrors } from '../problem.ts';
import { addressRange, normalizedMailbox } from '../security/mailbox.ts';
import { enforce, keyOf } from '../security/ratelimit.ts';
import {
  confirm,
  pendingByConfirmToken,
  manageToken,
  preferencesSchema,
  type RuleGroup,
  loadRuleChoiceRows,
  type RuleChoiceRow,
  ruleChoicesOf,
  type MARKET_WINDOWS,
  marketWindowOf,
  subscribe,
  subscribeSchema,
  subscriberByToken,
  type SubscriberPage,
  subscriberPage,
  timingSchema,
  updateTiming,
  unsubscribe,
  updatePreferences,
} from '../services/subscribers.ts';
import {
  addNtfyChannel,
  channelsOf,
  confirmChannel,
  ntfyChannelSchema,
  pendingChannel,
  stopChannel,
  telegramDeepLink,
} from '../services/channels.ts';
import { checkbox, field, page } from '../views/layout.ts';

/** ntfy topics requested (each sends a confirmation message to the topic), per client address and hour. */
export const NTFY_REQUEST_LIMIT = 10;

/** Confirmation mails per mailbox (see normalizedMailbox) and hour, whatever spelling asks. */
export const CONFIRM_MAILBOX_LIMIT = 5;

/** Subscribes per IPv4 /24 and hour (per single address, and per IPv6 /64, it is 20). */
export const SUBSCRIBE_RANGE_LIMIT = 60;

/** Preferences/unsubscribe links that are not valid, per client address and hour. */
export const MANAGE_LINK_LIMIT = 120;

/**
 * What the choice lists (every watchlist, every rule) are made of, as one value: it changes with
 * any insert, update or delete of a watchlist or rule, from any process (count and updatedAt sums).
 */
const CHOICES_VERSION_SQL = `concat_ws('/',
  (SELECT count(*) FROM "Watchlist"), (SELECT sum(extract(epoch FROM "updatedAt")) FROM "Watchlist"),
  (SELECT count(*) FROM "Rule"), (SELECT sum(extract(epoch FROM "updatedAt")) FROM "Rule"))`;

export function createPublicPages(rt: Runtime) {
  const app = new Hono<AppEnv>();
  app.use('*', limitBody);

  const loadWatchlists = () =>
    rt.prisma.watchlist.findMany({ orderBy: { name: 'asc' }, select: { id: true, name: true, description: true } });

  /**
   * What the choice lists are made of (every watchlist, every rule), read again only when the
   * Watchlist or Rule table changed: one small aggregate per request instead of three queries, and
   * exact (any insert, update or delete, from any process, changes the count or the updatedAt sums).
   * The subscribe page as GET shows it (no per-request token in it) is kept with the same key.
   */
  let choiceData:
    | {
        version: string;
        lists: Promise<Awaited<ReturnType<typeof loadWatchlists>>>;
        rules: Promise<RuleChoiceRow[]>;
        subscribePage?: Promise<string>;
      }
    | undefined;
  /** `known`: the version when the caller read it already (with the subscriber, see subscriberPage). */
  const publicData = async (known?: string) => {
    const version =
      known ?? (await rt.prisma.$queryRawUnsafe<{ v: string }[]>(`SELECT ${CHOICES_VERSION_SQL} AS v`))[0]?.v ?? '';
    if (choiceData?.version !== version) {
      const lists = loadWatchlists();
      const rules = loadRuleChoiceRows(rt);
      // A failed read is not kept: the next request tries again.
      const entry = { version, lists, rules };
      Promise.all([lists, rules]).catch(() => {
        if (choiceData === entry) choiceData = undefined;
      });
      choiceData = entry;
    }
    return choiceData;
  };
  const watchlists = async () => (await publicData()).lists;

  const limited = async (c: Context<AppEnv>, what: string, max: number) => {
    await enforce(rt.rateLimiter, [{ key: `public:${what}:${keyOf(c.get('clientIp'))}`, max, windowSec: 3600 }]);
  };

  /**
   * The subscriber of a preferences/unsubscribe link. A valid signed link is never refused by a
   * rate limit (mail providers post one-click unsubscribes for many people from few addresses, and
   * junk from one of them must not block the rest); only links that are not valid count.
   */
  const linkSubscriber = async (c: Context<AppEnv>) => {
    const sub = await subscriberByToken(rt, c.req.query('token') ?? '');
    if (!sub) await limited(c, 'manage', MANAGE_LINK_LIMIT);
    return sub;
  };

  const errorList = (id: string, errs: FieldError[]) =>
    errs.length ? html`<ul class="errors" id="${id}">${errs.map((e) => html`<li>${e.message}</li>`)}</ul>` : '';

  const watchlistChoices = (
    lists: { id: string; name: string; description: string | null }[],
    chosen: Set<string>,
    errors: FieldError[],
  ) => {
    const errs = errors.filter((e) => e.path.startsWith('watchlistIds'));
    return html`<fieldset${errs.length ? html` aria-describedby="wl-err"` : ''}>
  <legend>Watchlists</legend>
  ${lists.map((w) =>
    checkbox({
      name: 'watchlistIds',
      value: w.id,
      id: `wl-${w.id}`,
      label: w.description ? `${w.name} — ${w.description}` : w.name,
      checked: chosen.has(w.id),
    }),
  )}
  ${errorList('wl-err', errs)}
</fieldset>`;
  };

  /** Individual rules, one fieldset per watchlist; each checkbox labelled by the rule name, described by its line. */
  const ruleList = (groups: RuleGroup[], chosen: Set<string>, errors: FieldError[]) => {
    const errs = errors.filter((e) => e.path.startsWith('ruleIds'));
    if (groups.length === 0 && errs.length === 0) return '';
    return html`<fieldset data-testid="rule-choices"${errs.length ? html` aria-describedby="rule-err"` : ''}>
  <legend>Individual rules</legend>
  <p class="hint">Only the alerts of the rules you tick, whatever their watchlist.</p>
  ${groups.map(
    (g) => html`<fieldset class="rule-group">
    <legend>${g.watchlist ? g.watchlist.name : 'Other rules'}</legend>
    ${g.rules.map((r) => {
      const id = `rule-${r.id}`;
      return html`<div class="check"><input type="checkbox" id="${id}" name="ruleIds" value="${r.id}"${
        chosen.has(r.id) ? html` checked` : ''
      }${r.line ? html` aria-describedby="${id}-desc"` : ''}> <label for="${id}">${r.name}${r.enabled ? '' : ' (paused)'}</label>${
        r.line ? html`<br><span class="hint" id="${id}-desc">${r.line}</span>` : ''
      }</div>`;
    })}
  </fieldset>`,
  )}
  ${errorList('rule-err', errs)}
</fieldset>`;
  };

  /** Watchlists and rules, with the "choose at least one" message above both. */
  const choices = async (
    o: { watchlists: Set<string>; rules: Set<string>; errors: FieldError[] },
    extraRuleIds: string[] = [],
    loaded?: Promise<Awaited<ReturnType<typeof watchlists>>>,
    version?: string,
  ) => {
    const data = await publicData(version);
    const [lists, rows] = await Promise.all([loaded ?? data.lists, data.rules]);
    const groups = ruleChoicesOf(rows, extraRuleIds);
    const errs = o.errors.filter((e) => e.path === 'subscriptions');
    return html`<div class="choices" role="group" aria-labelledby="choices-h"${errs.length ? html` aria-describedby="choice-err"` : ''}>
  <p id="choices-h"><strong>What to receive</strong> <span class="hint">(at least one watchlist or rule)</span></p>
  ${errorList('choice-err', errs)}
  ${watchlistChoices(lists, o.watchlists, o.errors)}
  ${ruleList(groups, o.rules, o.errors)}
</div>`;
  };

  /** Form errors, with "choose at least one" added when neither list was ticked (zod skips the refine on other errors). */
  const withChoiceError = (errors: FieldError[], watchlistIds: string[], ruleIds: string[]) =>
    watchlistIds.length + ruleIds.length === 0 && !errors.some((e) => e.path === 'subscriptions')
      ? [...errors, { path: 'subscriptions', message: 'choose at least one watchlist or rule' }]
      : errors;

  const modeChoice = (mode: string) => html`<fieldset>
  <legend>How often</legend>
  <div class="check"><input type="radio" id="mode-immediate" name="mode" value="immediate"${mode !== 'digest' ? html` checked` : ''}> <label for="mode-immediate">Right away, one email per alert</label></div>
  <div class="check"><input type="radio" id="mode-digest" name="mode" value="digest"${mode === 'digest' ? html` checked` : ''}> <label for="mode-digest">A digest, at most one email an hour</label></div>
</fieldset>`;

  const subscribePage = async (
    o: {
      email?: string;
      chosen?: string[];
      rules?: string[];
      mode?: string;
      errors?: FieldError[];
      error?: string;
    } = {},
  ) => {
    // One read of the watchlists: the default ticks (all of them) and the list itself.
    const loaded = watchlists();
    const lists = o.chosen ? [] : await loaded;
    const errors = o.errors ?? [];
    return page({
      title: 'Subscribe to market signals',
      error: o.error ?? null,
      body: html`<p>Get an email when one of the signals that moved the AI trade shows up again. We send a confirmation link first; nothing else is sent until you click it.</p>
<form method="post" action="/subscribe" class="stack" aria-label="Subscribe">
  ${field({ name: 'email', label: 'Email', type: 'email', required: true, value: o.email, errors, autocomplete: 'email' })}
  ${await choices({ watchlists: new Set(o.chosen ?? lists.map((l) => l.id)), rules: new Set(o.rules ?? []), errors }, [], loaded)}
  ${modeChoice(o.mode ?? 'immediate')}
  <button type="submit">Subscribe</button>
</form>
${channelsOffer()}`,
    });
  };

  /**
   * The subscribe page's word on the other channels the preferences page offers: email comes
   * first (it confirms the address and carries the links to manage everything); the page that
   * confirms it offers ntfy and Telegram at once, as the preferences page does.
   */
  const channelsOffer = () => {
    const telegram = Boolean(rt.env.TELEGRAM_BOT_USERNAME && rt.env.TELEGRAM_BOT_TOKEN);
    return html`<h2 id="channels">Also on ntfy${telegram ? ' or Telegram' : ''}</h2>
<ul data-testid="channel-offer">
  <li><strong>Email</strong> first: it confirms you, and every email carries your links to change or stop alerts.</li>
  <li><strong>ntfy</strong> (push notifications, <a href="https://ntfy.sh" rel="noopener">ntfy.sh</a> or your own server): give your topic on the confirmation page.</li>
  ${telegram ? html`<li><strong>Telegram</strong>: press "Get alerts on Telegram" on the confirmation page and Start in the chat with @${rt.env.TELEGRAM_BOT_USERNAME}.</li>` : ''}
</ul>`;
  };

  app.get('/subscribe', async (c) => {
    const data = await publicData();
    if (!data.subscribePage) {
      const rendered = Promise.resolve(subscribePage()).then(String);
      data.subscribePage = rendered;
      rendered.catch(() => {
        if (data.subscribePage === rendered) data.subscribePage = undefined;
      });
    }
    return c.html(await data.subscribePage);
  });

  app.post('/subscribe', async (c) => {
    await limited(c, 'subscribe', 20);
    let values: Record<string, string> = {};
    let all: Record<string, string[]> = {};
    try {
      ({ values, all } = await readForm(c));
      const watchlistIds = all.watchlistIds ?? [];
      const ruleIds = all.ruleIds ?? [];
      const r = subscribeSchema.safeParse({
        email: values.email ?? '',
        watchlistIds,
        ruleIds,
        mode: values.mode === 'digest' ? 'digest' : 'immediate',
      });
      if (!r.success) throw new FormError(withChoiceError(fieldErrors(r.error), watchlistIds, ruleIds));
      // Per mailbox (victim+1@, Victim@, v.ictim@gmail all count as one) and per network range.
      await enforce(rt.rateLimiter, [
        {
          key: `public:subscribe:mailbox:${keyOf(normalizedMailbox(r.data.email))}`,
          max: CONFIRM_MAILBOX_LIMIT,
          windowSec: 3600,
        },
        {
          key: `public:subscribe:range:${keyOf(addressRange(c.get('clientIp')))}`,
          // An IPv6 /64 is usually one host: it gets what one address gets.
          max: c.get('clientIp').includes(':') ? 20 : SUBSCRIBE_RANGE_LIMIT,
          windowSec: 3600,
        },
      ]);
      const { deliveryId } = await subscribe(rt, r.data);
      rt.logger.info({ reqId: c.get('requestId'), confirmation: deliveryId !== null }, 'subscription requested');
    } catch (err) {
      if (err instanceof FormError || (err as { code?: string }).code === 'validation_failed') {
        const errors = err instanceof FormError ? err.errors : (err as { issues: FieldError[] }).issues;
        return c.html(
          await subscribePage({
            email: values.email ?? '',
            chosen: all.watchlistIds ?? [],
            rules: all.ruleIds ?? [],
            mode: values.mode ?? '',
            errors,
            error: 'Please correct the marked fields.',
          }),
          400,
        );
      }
      throw err;
    }
    return c.html(
      page({
        title: 'Check your inbox',
        body: html`<p role="status" data-testid="subscribe-done">If the address can receive our alerts, a confirmation email is on its way. Click the link in it to start receiving alerts.</p>`,
      }),
    );
  });

  const linkProblem = (title: string) =>
    page({
      title,
      body: html`<p>This link is not valid (it may have expired, or been replaced by a newer one). <a href="/subscribe">Subscribe again</a>.</p>`,
    });

  // GET only shows the button: mail scanners and link previews follow links, and must not be able
  // to confirm an address on its owner's behalf. The POST confirms.
  app.get('/confirm', async (c) => {
    await limited(c, 'confirm', 60);
    const token = c.req.query('token') ?? '';
    const sub = await pendingByConfirmToken(rt, token);
    if (!sub) return c.html(linkProblem('Confirmation link not valid'), 400);
    return c.html(
      page({
        title: 'Confirm your subscription',
        body: html`<p>Confirm that <strong>${sub.email}</strong> should receive Market Signals alerts.</p>
<form method="post" action="/confirm" class="stack" aria-label="Confirm subscription">
  <input type="hidden" name="token" value="${token}">
  <button type="submit" data-testid="confirm-button">Confirm my subscription</button>
</form>`,
      }),
    );
  });

  app.post('/confirm', async (c) => {
    await limited(c, 'confirm', 60);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form.token === 'string' ? form.token : '';
    const r = await confirm(rt, token);
    if (!r) return c.html(linkProblem('Confirmation link not valid'), 400);
    const manage = await manageToken(rt, r.subscriberId);
    return c.html(
      page({
        title: 'Subscription confirmed',
        body: html`<p role="status" data-testid="confirmed">Thank you: your address is confirmed. Alerts will arrive by email.</p>
<p><a href="/preferences?token=${manage}">Change what you receive</a> (also quiet hours) · <a href="/unsubscribe?token=${manage}">Unsubscribe</a></p>
${await channelsSection(manage, r.subscriberId)}`,
      }),
    );
  });

  const WINDOW_LABELS: Record<keyof typeof MARKET_WINDOWS, string> = {
    any: 'Any time',
    regular: 'Only during the regular US session (09:30-16:00 New York)',
    trading: 'Only while US stocks trade (pre-market 04:00 to after-hours 20:00 New York)',
    closed: 'Only while the US market is closed',
  };

  /** When to notify: time zone, quiet hours per channel, critical break-through, market window. */
  const timingSection = (
    token: string,
    sub: {
      timeZone: string;
      quietHours: unknown;
      quietCriticalBreaksThrough: boolean;
      subscriptions: { activeIntervals?: unknown }[];
    },
    o: { errors?: FieldError[]; values?: Record<string, string> } = {},
  ) => {
    const stored = (sub.quietHours ?? {}) as Record<string, { start?: string; end?: string } | undefined>;
    const v = o.values ?? {};
    const win = v.window ?? marketWindowOf(sub.subscriptions[0]?.activeIntervals);
    const quietRow = (
      c: 'email' | 'ntfy' | 'telegram',
      label: string,
    ) => html`<fieldset><legend>${label}: quiet from … to …</legend>
    ${field({ name: `quiet.${c}.start`, label: 'From', type: 'time', value: v[`quiet.${c}.start`] ?? stored[c]?.start ?? '', errors: o.errors })}
    ${field({ name: `quiet.${c}.end`, label: 'To', type: 'time', value: v[`quiet.${c}.end`] ?? stored[c]?.end ?? '', errors: o.errors })}
  </fieldset>`;
    return html`<h2 id="timing">When</h2>
<form method="post" action="/preferences/timing?token=${token}" class="stack" aria-labelledby="timing">
  ${field({ name: 'timeZone', label: 'Your time zone', required: true, value: v.timeZone ?? sub.timeZone, hint: 'e.g. Europe/Berlin, America/New_York, UTC', errors: o.errors })}
  <p class="hint">Alerts due in quiet hours are held and sent together when they end.</p>
  ${quietRow('email', 'Email')}
  ${quietRow('ntfy', 'ntfy')}
  ${quietRow('telegram', 'Telegram')}
  ${checkbox({ name: 'criticalBreaksThrough', label: 'Critical alerts break through quiet hours', checked: v.timeZone ? v.criticalBreaksThrough === 'on' : sub.quietCriticalBreaksThrough })}
  <fieldset><legend>Send alerts</legend>
  ${(Object.keys(WINDOW_LABELS) as (keyof typeof WINDOW_LABELS)[]).map(
    (k) =>
      html`<div class="check"><input type="radio" id="f-window-${k}" name="window" value="${k}"${win === k ? html` checked` : ''}> <label for="f-window-${k}">${WINDOW_LABELS[k]}</label></div>`,
  )}
  </fieldset>
  <button type="submit">Save when</button>
</form>`;
  };

  /** The own-channels part (ntfy, Telegram) of the preferences page: state, add an ntfy topic, link Telegram, stop. */
  const channelsSection = async (
    token: string,
    subscriberId: string,
    o: { errors?: FieldError[]; values?: Record<string, string>; telegramLink?: string | null } = {},
    read?: { kind: string; status: string; topicUrl: string | null; chatId: string | null }[],
  ) => {
    const chs = read ?? (await channelsOf(rt, subscriberId));
    const ntfy = chs.find((c) => c.kind === 'ntfy');
    const tg = chs.find((c) => c.kind === 'telegram');
    const stopButton = (kind: string) =>
      html`<form method="post" action="/preferences/stop?token=${token}" class="inline"><input type="hidden" name="kind" value="${kind}"><button type="submit">Stop ${kind}</button></form>`;
    const state = (c: { status: string } | undefined, what: string) =>
      !c
        ? html`<span class="muted">not set up</span>`
        : c.status === 'confirmed'
          ? html`<strong data-testid="${what}-state">on</strong>`
          : c.status === 'pending'
            ? html`<span data-testid="${what}-state">waiting for your confirmation</span>`
            : html`<span data-testid="${what}-state">stopped</span>`;
    return html`<h2 id="channels">Other channels</h2>
<p>Alerts can also arrive on ntfy or Telegram. Nothing is sent to a topic or chat until you confirm it there.</p>
<h3>ntfy</h3>
<p>ntfy: ${state(ntfy, 'ntfy')}${ntfy?.topicUrl ? html` (${ntfy.topicUrl})` : ''} ${ntfy && ntfy.status !== 'stopped' ? stopButton('ntfy') : ''}</p>
<form method="post" action="/preferences/ntfy?token=${token}" class="stack" aria-label="Alerts on ntfy">
  ${field({ name: 'topic', label: 'ntfy topic', required: true, value: o.values?.topic, hint: `A topic name (on ${rt.env.NTFY_DEFAULT_SERVER}) or its URL.`, errors: o.errors })}
  ${field({ name: 'accessToken', label: 'Access token (protected topics only)', type: 'password', errors: o.errors })}
  <button type="submit">Send alerts to this topic</button>
</form>
${
  rt.env.TELEGRAM_BOT_USERNAME && rt.env.TELEGRAM_BOT_TOKEN
    ? html`<h3>Telegram</h3>
<p>Telegram: ${state(tg?.chatId || tg?.status === 'stopped' ? tg : undefined, 'telegram')} ${tg?.status === 'confirmed' ? stopButton('telegram') : ''}</p>
${
  o.telegramLink
    ? html`<p><a href="${o.telegramLink}" data-testid="telegram-link" rel="noopener">Open Telegram and press Start</a> (this link works once, for an hour).</p>`
    : html`<form method="post" action="/preferences/telegram?token=${token}" aria-label="Alerts on Telegram"><button type="submit">Get alerts on Telegram</button></form>`
}`
    : ''
}`;
  };

  const prefsPage = async (
    token: string,
    sub: {
      id: string;
      mode: string;
      timeZone: string;
      quietHours: unknown;
      quietCriticalBreaksThrough: boolean;
      subscriptions: { watchlistId: string | null; ruleId: string | null; activeIntervals?: unknown }[];
    },
    o: {
      errors?: FieldError[];
      notice?: string;
      chosen?: { watchlistIds: string[]; ruleIds: string[]; mode: string };
      channels?: { errors?: FieldError[]; values?: Record<string, string>; telegramLink?: string | null };
      timing?: { errors?: FieldError[]; values?: Record<string, string> };
    } = {},
    read?: SubscriberPage,
  ) => {
    const has = sub.subscriptions.flatMap((s) => (s.ruleId ? [s.ruleId] : []));
    const wl = o.chosen?.watchlistIds ?? sub.subscriptions.flatMap((s) => (s.watchlistId ? [s.watchlistId] : []));
    const rules = o.chosen?.ruleIds ?? has;
    return page({
      title: 'Your preferences',
      notice: o.notice ?? null,
      error: o.errors?.length ? 'Please correct the marked fields.' : null,
      body: html`<form method="post" action="/preferences?token=${token}" class="stack" aria-label="Preferences">
  ${await choices({ watchlists: new Set(wl), rules: new Set(rules), errors: o.errors ?? [] }, has, undefined, read?.version)}
  ${modeChoice(o.chosen?.mode ?? sub.mode)}
  <button type="submit">Save preferences</button>
</form>
${timingSection(token, sub, o.timing ?? {})}
${await channelsSection(token, sub.id, o.channels ?? {}, read?.channels)}
<p><a href="/unsubscribe?token=${token}">Unsubscribe from everything</a></p>`,
    });
  };

  app.post('/preferences/ntfy', async (c) => {
    const token = c.req.query('token') ?? '';
    const sub = await linkSubscriber(c);
    if (!sub || sub.status === 'unsubscribed') return c.html(linkProblem('Link not valid'), 400);
    // Each request posts a confirmation to a topic someone names: bounded, so nobody can flood a topic.
    await limited(c, 'ntfy-request', NTFY_REQUEST_LIMIT);
    let values: Record<string, string> = {};
    try {
      values = (await readForm(c)).values;
      const r = ntfyChannelSchema.safeParse({
        topic: values.topic ?? '',
        ...(values.accessToken ? { accessToken: values.accessToken } : {}),
      });
      if (!r.success) throw new FormError(fieldErrors(r.error));
      await addNtfyChannel(rt, sub.id, r.data);
    } catch (err) {
      const errors =
        err instanceof FormError
          ? err.errors
          : (err as { code?: string }).code === 'validation_failed'
            ? (err as { issues: FieldError[] }).issues
            : null;
      if (!errors) throw err;
      // The token is never echoed back into the page.
      const { accessToken: _t, ...shown } = values;
      return c.html(await prefsPage(token, sub, { errors, channels: { errors, values: shown } }), 400);
    }
    return c.html(
      await prefsPage(token, sub, {
        notice: 'A confirmation was sent to your ntfy topic: open its link to start receiving alerts there.',
      }),
    );
  });

  app.post('/preferences/timing', async (c) => {
    const token = c.req.query('token') ?? '';
    const sub = await linkSubscriber(c);
    if (!sub || sub.status === 'unsubscribed') return c.html(linkProblem('Link not valid'), 400);
    const { values } = await readForm(c);
    const input = {
      timeZone: (values.timeZone ?? '').trim(),
      quiet: Object.fromEntries(
        (['email', 'ntfy', 'telegram'] as const).map((ch) => [
          ch,
          { start: values[`quiet.${ch}.start`] ?? '', end: values[`quiet.${ch}.end`] ?? '' },
        ]),
      ),
      criticalBreaksThrough: values.criticalBreaksThrough === 'on',
      window: values.window ?? 'any',
    };
    try {
      const r = timingSchema.safeParse(input);
      if (!r.success) throw new FormError(fieldErrors(r.error));
      await updateTiming(rt, sub.id, r.data);
    } catch (err) {
      const errors =
        err instanceof FormError
          ? err.errors
          : (err as { code?: string }).code === 'validation_failed'
            ? (err as { issues: FieldError[] }).issues
            : null;
      if (!errors) throw err;
      return c.html(await prefsPage(token, sub, { errors, timing: { errors, values } }), 400);
    }
    const fresh = await subscriberByToken(rt, token);
    return c.html(await prefsPage(token, fresh ?? sub, { notice: 'Saved: when alerts are sent.' }));
  });

  app.post('/preferences/telegram', async (c) => {
    const token = c.req.query('token') ?? '';
    const sub = await linkSubscriber(c);
    if (!sub || sub.status === 'unsubscribed') return c.html(linkProblem('Link not valid'), 400);
    const link = await telegramDeepLink(rt, sub.id);
    if (!link) return c.html(await prefsPage(token, sub, { notice: 'Telegram is not set up on this service.' }), 404);
    return c.html(await prefsPage(token, sub, { channels: { telegramLink: link } }));
  });

  app.post('/preferences/stop', async (c) => {
    const token = c.req.query('token') ?? '';
    const sub = await linkSubscriber(c);
    if (!sub || sub.status === 'unsubscribed') return c.html(linkProblem('Link not valid'), 400);
    const { values } = await readForm(c);
    const kind = values.kind === 'telegram' ? 'telegram' : values.kind === 'ntfy' ? 'ntfy' : null;
    if (!kind) return c.html(await prefsPage(token, sub, { notice: 'Unknown channel.' }), 400);
    await stopChannel(rt, sub.id, kind);
    return c.html(await prefsPage(token, sub, { notice: `Stopped: no more alerts on ${kind}.` }));
  });

  // As for email: GET only shows the button (link previews of a topic's message must not confirm).
  app.get('/channels/confirm', async (c) => {
    await limited(c, 'confirm', 60);
    const token = c.req.query('token') ?? '';
    const ch = await pendingChannel(rt, token);
    if (!ch) return c.html(linkProblem('Confirmation link not valid'), 400);
    return c.html(
      page({
        title: 'Confirm alerts on ntfy',
        body: html`<p>Send Market Signals alerts for <strong>${ch.subscriber.email}</strong> to <strong>${ch.topicUrl ?? ''}</strong>?</p>
<form method="post" action="/channels/confirm" class="stack" aria-label="Confirm channel">
  <input type="hidden" name="token" value="${token}">
  <button type="submit" data-testid="confirm-channel">Confirm</button>
</form>`,
      }),
    );
  });

  app.post('/channels/confirm', async (c) => {
    await limited(c, 'confirm', 60);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form.token === 'string' ? form.token : '';
    const r = await confirmChannel(rt, token);
    if (!r) return c.html(linkProblem('Confirmation link not valid'), 400);
    return c.html(
      page({
        title: 'Topic confirmed',
        body: html`<p role="status" data-testid="channel-confirmed">Confirmed: alerts will arrive on this ntfy topic.</p>`,
      }),
    );
  });

  app.get('/preferences', async (c) => {
    const token = c.req.query('token') ?? '';
    // The subscriber, their subscriptions and channels and the choice lists' version in one query.
    const read = await subscriberPage(rt, token, CHOICES_VERSION_SQL);
    if (!read) await limited(c, 'manage', MANAGE_LINK_LIMIT);
    if (!read || read.sub.status === 'unsubscribed') return c.html(linkProblem('Link not valid'), 400);
    return c.html(await prefsPage(token, read.sub, {}, read));
  });

  app.post('/preferences', async (c) => {
    const token = c.req.query('token') ?? '';
    const sub = await linkSubscriber(c);
    if (!sub || sub.status === 'unsubscribed') return c.html(linkProblem('Link not valid'), 400);
    let chosen: { watchlistIds: string[]; ruleIds: string[]; mode: string } | undefined;
    try {
      const { values, all } = await readForm(c);
      const watchlistIds = all.watchlistIds ?? [];
      const ruleIds = all.ruleIds ?? [];
      const mode = values.mode === 'digest' ? 'digest' : 'immediate';
      chosen = { watchlistIds, ruleIds, mode };
      const r = preferencesSchema.safeParse({ watchlistIds, ruleIds, mode });
      if (!r.success) throw new FormError(withChoiceError(fieldErrors(r.error), watchlistIds, ruleIds));
      await updatePreferences(rt, sub.id, r.data);
    } catch (err) {
      const opts = chosen ? { chosen } : {};
      if (err instanceof FormError) return c.html(await prefsPage(token, sub, { ...opts, errors: err.errors }), 400);
      if ((err as { code?: string }).code === 'validation_failed') {
        return c.html(await prefsPage(token, sub, { ...opts, errors: (err as { issues: FieldError[] }).issues }), 400);
      }
      throw err;
    }
    const fresh = await subscriberByToken(rt, token);
    return c.html(await prefsPage(token, fresh ?? sub, { notice: 'Preferences saved.' }));
  });

  app.get('/unsubscribe', async (c) => {
    const token = c.req.query('token') ?? '';
    const sub = await linkSubscriber(c);
    if (!sub) return c.html(linkProblem('Unsubscribe link not valid'), 400);
    if (sub.status === 'unsubscribed') return c.html(unsubscribedPage());
    return c.html(
      page({
        title: 'Unsubscribe',
        body: html`<p>Stop all alert emails to this address?</p>
<form method="post" action="/unsubscribe?token=${token}" aria-label="Unsubscribe">
  <input type="hidden" name="List-Unsubscribe" value="One-Click">
  <button type="submit">Unsubscribe</button>
</form>`,
      }),
    );
  });

  const unsubscribedPage = () =>
    page({
      title: 'Unsubscribed',
      body: html`<p role="status" data-testid="unsubscribed">You are unsubscribed: no more alert emails will be sent to this address. <a href="/subscribe">Subscribe again</a>.</p>`,
    });

  // RFC 8058: mail clients POST `List-Unsubscribe=One-Click` to the URL of the List-Unsubscribe
  // header, without cookies or a confirmation step. The signed token in the URL is the authority.
  app.post('/unsubscribe', async (c) => {
    const sub = await linkSubscriber(c);
    if (!sub) return c.html(linkProblem('Unsubscribe link not valid'), 400);
    await unsubscribe(rt, sub.id);
    rt.logger.info({ reqId: c.get('requestId') }, 'subscriber unsubscribed');
    return c.html(unsubscribedPage());
  });

  app.onError((err, c) => {
    if (err instanceof HttpProblem && err.status === 429) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.html(
        page({
          title: 'Too many requests',
          body: html`<p>Please wait a little and try again (${err.extra.detail ?? ''}).</p>`,
        }),
        429,
      );
    }
    if (err instanceof HttpProblem && err.status === 413) {
      return c.html(
        page({ title: 'Request too large', body: html`<p>That was more than this form accepts.</p>` }),
        413,
      );
    }
    throw err;
  });

  return app;
}
