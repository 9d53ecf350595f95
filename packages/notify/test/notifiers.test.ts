/**
 * The channel notifiers behind one interface: the target each reads from a claimed row (and why it
 * refuses one), how each renders a group, and how each classifies a failure. Sending over real
 * sockets is covered per channel (webhook-sender, email) and end to end in apps/worker/test.
 */
import { PermanentDeliveryError, TransientDeliveryError } from '@signals/core';
import { describe, expect, it } from 'vitest';
import {
  buildNotifiers,
  buildSubscriberChannels,
  escapeHtml,
  preferencesUrl,
  renderAlertEmail,
  unsubscribeUrl,
  type DeliveryRow,
  type Mailer,
  MailPermanentError,
  type RenderEnv,
  TelegramChatGoneError,
} from '../src/index.ts';
import { nvdaShock, PUBLIC_BASE_URL } from './fixtures.ts';

const row = (o: Partial<DeliveryRow> = {}): DeliveryRow => ({
  channel: 'email',
  eventType: 'alert.firing',
  messageId: 'msg_1',
  alertId: 'a1',
  subscriberId: 's1',
  subEmail: 'a@example.org',
  subStatus: 'confirmed',
  channelId: null,
  chStatus: null,
  chTopicUrl: null,
  chTokenSealed: null,
  chChatId: null,
  endpointId: null,
  epStatus: null,
  epFormat: null,
  url: null,
  secret: null,
  previousSecret: null,
  previousSecretUntil: null,
  payload: null,
  ...o,
});

const env = (o: Partial<RenderEnv> = {}): RenderEnv => ({
  publicBaseUrl: PUBLIC_BASE_URL,
  now: new Date('2025-01-27T21:01:00Z'),
  templatesVersion: 'v0',
  unsubscribeToken: 'tok',
  template: async () => ({ text: null }),
  alerts: async () => [nvdaShock()],
  confirmToken: async () => ({ token: 'confirm-token', expiresAt: new Date('2025-02-03T00:00:00Z') }),
  channelLink: async () => `${PUBLIC_BASE_URL}/channels/confirm?token=link`,
  adminEmail: async () => 'admin@example.org',
  ...o,
});

const unused = async () => {
  throw new Error('not sent in this test');
};
const notifiers = buildNotifiers({
  mailer: { send: unused, verify: unused, close: unused } as unknown as Mailer,
  webhook: { send: unused },
  subscriberChannels: buildSubscriberChannels({ telegram: { botToken: '123:abc', apiBaseUrl: 'http://127.0.0.1:9' } }),
  emailSchedule: [0, 1000],
  webhookSchedule: [0, 10],
});
const get = (c: string) => {
  const n = notifiers.get(c);
  if (!n) throw new Error(`no ${c} notifier`);
  return n;
};
const open = () => null;

describe('the notifier registry', () => {
  it('has one notifier per channel, each with its schedule; ntfy and Telegram only when configured', () => {
    expect(['email', 'webhook', 'ntfy', 'telegram'].map((c) => notifiers.get(c)?.channel)).toEqual([
      'email',
      'webhook',
      'ntfy',
      'telegram',
    ]);
    expect(get('email').schedule).toEqual([0, 1000]);
    expect(get('telegram').schedule).toEqual([0, 10]);
    const bare = buildNotifiers({
      mailer: {} as Mailer,
      webhook: { send: unused },
      emailSchedule: [0],
      webhookSchedule: [0],
    });
    expect(bare.get('ntfy')).toBeUndefined();
    expect(bare.get('sms')).toBeUndefined();
  });
});

describe('targets', () => {
  const now = new Date();
  it('email: alerts only to confirmed subscribers, confirmations only to pending ones', () => {
    expect(get('email').target(row(), open, now)).toEqual({ ok: true, target: { to: 'a@example.org' } });
    expect(get('email').target(row({ subStatus: 'unsubscribed' }), open, now)).toEqual({
      ok: false,
      error: 'subscriber is unsubscribed: not sent',
    });
    expect(get('email').target(row({ eventType: 'subscriber.confirm' }), open, now)).toEqual({
      ok: false,
      error: 'subscriber is confirmed: no confirmation sent',
    });
    expect(get('email').target(row({ eventType: 'digest.weekly' }), open, now)).toEqual({
      ok: false,
      error: 'unknown email event digest.weekly',
    });
  });
  it('webhook: an active endpoint with its signing secrets, the kept body for a retry', () => {
    const ep = {
      endpointId: 'e1',
      epStatus: 'active',
      url: 'https://h.example.org',
      secret: 'whsec_a',
      epFormat: 'slack',
    };
    const t = get('webhook').target(row({ ...ep, payload: '{"kept":1}' }), open, now);
    expect(t).toEqual({
      ok: true,
      target: { url: 'https://h.example.org', secrets: ['whsec_a'], format: 'slack', kept: '{"kept":1}' },
    });
    expect(get('webhook').target(row({ ...ep, epStatus: 'disabled' }), open, now)).toEqual({
      ok: false,
      error: 'endpoint disabled or removed',
    });
  });
  it('ntfy / Telegram: a confirmed channel of a confirmed subscriber; a token that does not open refuses', () => {
    const ch = { channel: 'telegram', channelId: 'c1', chStatus: 'confirmed', chChatId: '42' };
    expect(get('telegram').target(row(ch), open, now)).toEqual({ ok: true, target: { chatId: '42' } });
    expect(get('telegram').target(row({ ...ch, chStatus: 'stopped' }), open, now)).toEqual({
      ok: false,
      error: 'channel is stopped: not sent',
    });
    expect(
      get('ntfy').target(
        row({ ...ch, channel: 'ntfy', chTopicUrl: 'https://ntfy.sh/t', chTokenSealed: 'x' }),
        open,
        now,
      ),
    ).toEqual({ ok: false, error: 'the stored access token cannot be opened with the app key' });
  });
});

describe('render', () => {
  const one = { eventType: 'alert.firing', payload: null, alertIds: ['a1'] };
  it('email: one alert, or several due together as one message; a failed template leaves a note', async () => {
    const r = await get('email').render(
      one,
      { to: 'a@example.org' },
      env({
        template: async (key) =>
          key === 'email.subject' ? { text: null, note: 'template email.subject failed' } : { text: null },
      }),
    );
    expect((r.message as { subject: string }).subject).toMatch(/NVDA/);
    expect(r.note).toBe('template email.subject failed');
    const two = await get('email').render(
      { ...one, alertIds: ['a1', 'a2'] },
      { to: 'a@example.org' },
      env({ alerts: async () => [nvdaShock(), nvdaShock({ id: 'a2', symbol: 'AMD', title: 'AMD fell 6 %' })] }),
    );
    expect((two.message as { subject: string }).subject).toMatch(/2 alerts/);
    await expect(get('email').render(one, { to: 'a@example.org' }, env({ alerts: async () => [] }))).rejects.toThrow(
      'alert no longer exists',
    );
  });
  it('email: an alert is rendered once (templates included) and each message carries its own token, byte for byte as a full render', async () => {
    // A notifier of its own: its render cache starts empty.
    const email = buildNotifiers({
      mailer: { send: unused, verify: unused, close: unused } as unknown as Mailer,
      webhook: { send: unused },
      emailSchedule: [0],
      webhookSchedule: [0],
    }).get('email');
    if (!email) throw new Error('no email notifier');
    let templateCalls = 0;
    const withBody = (token: string, version = 'v1') =>
      env({
        unsubscribeToken: token,
        templatesVersion: version,
        template: async (key) => {
          templateCalls++;
          return key === 'email.body' ? { text: 'Custom: {{alert.title}} & more' } : { text: null };
        },
      });
    const tokens = ['sub_a.0.AAAA-bbbb_CCCC', 'sub_b.3.zzzz-yyyy_XXXX', 'has spaces/and?marks&'];
    const cached = [];
    for (const t of tokens) cached.push(await email.render(one, { to: 'a@example.org' }, withBody(t)));
    // Two tokens that URL-encoding keeps as they are: one render (2 template calls); the third,
    // which it would change, is rendered for itself (2 more).
    expect(templateCalls).toBe(4);
    for (const [i, t] of tokens.entries()) {
      const m = cached[i]?.message as { text: string; html: string; headers: Record<string, string> };
      expect(m.text).toBe(
        `Custom: {{alert.title}} & more\n\n--\nChange what you receive: ${preferencesUrl(PUBLIC_BASE_URL, t)}\nUnsubscribe: ${unsubscribeUrl(PUBLIC_BASE_URL, t)}`,
      );
      expect(m.html).toContain(escapeHtml(unsubscribeUrl(PUBLIC_BASE_URL, t)));
      expect(m.headers['List-Unsubscribe']).toBe(`<${unsubscribeUrl(PUBLIC_BASE_URL, t)}>`);
    }
    // Without operator templates (another version): the built-in message, exactly as rendered for
    // each token alone.
    for (const t of tokens) {
      const r = await email.render(one, { to: 'b@example.org' }, env({ unsubscribeToken: t }));
      expect(r.message).toEqual({
        to: 'b@example.org',
        ...renderAlertEmail({ publicBaseUrl: PUBLIC_BASE_URL, alert: nvdaShock(), unsubscribeToken: t }),
      });
    }
  });
  it('webhook: a kept body is sent as it is; otherwise the event is built and kept', async () => {
    const target = { url: 'https://h.example.org', secrets: ['whsec_a'], format: 'standard', kept: null };
    const built = await get('webhook').render(one, target, env());
    expect(JSON.parse(built.message as string).type).toBe('alert.firing');
    expect(built.keep).toBe(built.message);
    const kept = await get('webhook').render(one, { ...target, kept: '{"same":"bytes"}' }, env());
    expect(kept).toEqual({ message: '{"same":"bytes"}' });
  });
  it('Telegram: an operator template replaces the whole text; a confirmation carries its link', async () => {
    const own = await get('telegram').render(one, { chatId: '42' }, env({ template: async () => ({ text: 'mine' }) }));
    expect((own.message as { fullText?: string }).fullText).toBe('mine');
    const confirm = await get('ntfy').render(
      { eventType: 'channel.confirm', payload: null, alertIds: [] },
      { topicUrl: 'https://ntfy.sh/t', token: null },
      env(),
    );
    expect((confirm.message as { click?: string }).click).toBe(`${PUBLIC_BASE_URL}/channels/confirm?token=link`);
  });
});

describe('classify', () => {
  it('names retries, permanent failures, bounces and gone chats', () => {
    expect(get('webhook').classify(new TransientDeliveryError('503', 503, 2000))).toEqual({
      kind: 'retry',
      statusCode: 503,
      error: '503',
      retryAfterMs: 2000,
    });
    expect(get('webhook').classify(new PermanentDeliveryError('410', 410)).kind).toBe('permanent');
    expect(get('webhook').classify(new Error('socket hang up')).kind).toBe('retry');
    expect(get('email').classify(new MailPermanentError('550 no such user', 550, 'RCPT', 'recipient')).kind).toBe(
      'bounce',
    );
    expect(get('email').classify(new MailPermanentError('554 spam', 554, 'DATA', 'content')).kind).toBe('permanent');
    expect(get('telegram').classify(new TelegramChatGoneError('403 blocked', 403)).kind).toBe('gone');
  });
});
