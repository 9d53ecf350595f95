import os from 'node:os';
import { PermanentDeliveryError, TransientDeliveryError } from '@signals/core';
import {
  classifySmtpError,
  createMailer,
  type MailPermanentError,
  MailTransientError,
  type Mailer,
  renderAlertEmail,
  renderConfirmationEmail,
  renderDigestEmail,
  smtpRequiresTls,
} from '@signals/notify';
import { type SmtpSink, type SmtpSinkOptions, startSmtpSink } from '@signals/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, nvdaShock, PUBLIC_BASE_URL, sellOff } from './fixtures.ts';

const FROM = '"Market Signals" <alerts@signals.example.org>';
let sink: SmtpSink | undefined;
let mailer: Mailer | undefined;

async function setup(options: SmtpSinkOptions = {}, smtpUrl?: (url: string) => string) {
  sink = await startSmtpSink(options);
  const logger = captureLogger();
  mailer = createMailer({
    smtpUrl: smtpUrl ? smtpUrl(sink.url) : sink.url,
    from: FROM,
    pool: true,
    maxConnections: 2,
    rateLimit: 50,
    connectionTimeoutMs: 2000,
    greetingTimeoutMs: 2000,
    socketTimeoutMs: 5000,
    logger,
  });
  return { sink, mailer, logger };
}

afterEach(async () => {
  await mailer?.close();
  await sink?.close();
  mailer = undefined;
  sink = undefined;
});

async function sendError(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the send to fail');
}

describe('mailer over real SMTP', () => {
  it('delivers the confirmation email with its link', async () => {
    const { sink, mailer } = await setup();
    await mailer.verify();
    const email = renderConfirmationEmail({
      publicBaseUrl: PUBLIC_BASE_URL,
      email: 'ada@example.org',
      token: 'ctok_123',
    });
    const res = await mailer.send({ to: 'ada@example.org', ...email });
    expect(res.code).toBe(250);
    expect(res.accepted).toEqual(['ada@example.org']);
    const m = await sink.waitFor((x) => x.envelope.to.includes('ada@example.org'));
    expect(m.subject).toBe('Confirm your subscription to Market Signals');
    expect(m.from).toBe('alerts@signals.example.org');
    expect(m.to).toEqual(['ada@example.org']);
    expect(m.headers['message-id']).toBe(res.messageId);
    expect(m.text).toContain(`${PUBLIC_BASE_URL}/confirm?token=ctok_123`);
    expect(m.html).toContain(`href="${PUBLIC_BASE_URL}/confirm?token=ctok_123"`);
    expect(m.headers['list-unsubscribe']).toBeUndefined();
    // Both bodies quoted-printable (readable, spam-filter friendly), chosen without nodemailer's scan.
    expect(m.raw.match(/^Content-Transfer-Encoding: .+$/gim)).toEqual([
      'Content-Transfer-Encoding: quoted-printable',
      'Content-Transfer-Encoding: quoted-printable',
    ]);
  });

  it('alert email carries one-click unsubscribe headers and escaped HTML', async () => {
    const { sink, mailer } = await setup();
    const alert = nvdaShock({
      rule: { ...nvdaShock().rule, name: 'Shock <script>alert("pwn")</script>' },
    });
    const email = renderAlertEmail({ alert, publicBaseUrl: PUBLIC_BASE_URL, unsubscribeToken: 'mtok_abc' });
    await mailer.send({ to: 'ada@example.org', ...email });
    const m = await sink.waitFor();
    expect(m.headers['list-unsubscribe']).toBe(`<${PUBLIC_BASE_URL}/unsubscribe?token=mtok_abc>`);
    expect(m.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('Shock &lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt;');
    // The text part is plain text: the name reads as written.
    expect(m.text).toContain('Rule: Shock <script>alert("pwn")</script>');
    expect(m.html).toContain(`href="${PUBLIC_BASE_URL}/unsubscribe?token=mtok_abc"`);
    expect(m.html).toContain(`href="${PUBLIC_BASE_URL}/preferences?token=mtok_abc"`);
    expect(m.html).toContain('Börsenwert');
  });

  it('421 is transient, and the retry is delivered', async () => {
    const { sink, mailer } = await setup({ failures: [{ rcpt: 'grey@example.org', replies: [421] }] });
    const email = renderAlertEmail({ alert: nvdaShock(), publicBaseUrl: PUBLIC_BASE_URL, unsubscribeToken: 't' });
    const err = await sendError(mailer.send({ to: 'grey@example.org', ...email }));
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect(err).toBeInstanceOf(MailTransientError);
    expect((err as MailTransientError).statusCode).toBe(421);
    expect(sink.messages).toHaveLength(0);

    const res = await mailer.send({ to: 'grey@example.org', ...email });
    expect(res.code).toBe(250);
    expect(sink.rejections).toEqual([{ stage: 'rcpt', address: 'grey@example.org', code: 421 }]);
    expect(sink.messages).toHaveLength(1);
  });

  it('451 at DATA is transient', async () => {
    const { mailer } = await setup({ failures: [{ stage: 'data', replies: [451] }] });
    const err = await sendError(mailer.send({ to: 'a@example.org', subject: 's', text: 't' }));
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect((err as TransientDeliveryError).statusCode).toBe(451);
  });

  it('550 for a recipient is permanent and marks a bounce', async () => {
    const { sink, mailer } = await setup({ failures: [{ rcpt: 'gone@example.org', replies: [550], repeat: true }] });
    const email = renderAlertEmail({ alert: nvdaShock(), publicBaseUrl: PUBLIC_BASE_URL, unsubscribeToken: 't' });
    for (let i = 0; i < 2; i++) {
      const err = await sendError(mailer.send({ to: 'gone@example.org', ...email }));
      expect(err).toBeInstanceOf(PermanentDeliveryError);
      expect((err as MailPermanentError).statusCode).toBe(550);
      expect((err as MailPermanentError).recipientRejected).toBe(true);
    }
    // Another recipient on the same pool is unaffected.
    await mailer.send({ to: 'ok@example.org', ...email });
    expect(sink.messages.map((m) => m.envelope.to)).toEqual([['ok@example.org']]);
  });

  it('a digest of N alerts is one message', async () => {
    const { sink, mailer } = await setup();
    const symbols = ['NVDA', 'AMD', 'AVGO', 'TSM', 'ASML', 'ARM', 'MU'];
    const alerts = [
      ...sellOff(symbols),
      nvdaShock({
        id: 'a_capex',
        symbol: 'MSFT',
        severity: 'warning',
        rule: { id: 'r2', name: 'Capex warning', description: null, sourceArticle: null, sourcePassage: null },
      }),
    ];
    const email = renderDigestEmail({ alerts, publicBaseUrl: PUBLIC_BASE_URL, unsubscribeToken: 'dtok' });
    await mailer.send({ to: 'ada@example.org', ...email });
    const m = await sink.waitFor();
    expect(sink.messages).toHaveLength(1);
    expect(m.subject).toBe('[critical] 8 alerts from 2 rules: AI leader one-day shock, Capex warning');
    expect(m.text).toContain('== [critical] AI leader one-day shock (7 alerts)');
    expect(m.text).toContain('== [warning] Capex warning (1 alert)');
    for (const s of [...symbols, 'MSFT']) expect(m.text).toContain(`- ${s}: `);
    for (const a of alerts) expect(m.html).toContain(`href="${PUBLIC_BASE_URL}/admin/alerts/${a.id}"`);
    expect(m.headers['list-unsubscribe']).toBe(`<${PUBLIC_BASE_URL}/unsubscribe?token=dtok>`);
    expect(m.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
  });

  it('a wrong SMTP password is transient and never appears in errors or logs', async () => {
    const password = 'Sup3r-s3cret-pw';
    const { mailer, logger } = await setup({ auth: { user: 'mailer', pass: 'the-right-one' } }, (url) =>
      url.replace('smtp://', `smtp://mailer:${password}@`),
    );
    const err = await sendError(mailer.send({ to: 'a@example.org', subject: 's', text: 't' }));
    expect(err).toBeInstanceOf(MailTransientError);
    expect((err as MailTransientError).statusCode).toBe(535);
    expect((err as MailTransientError).configuration).toBe(true);
    const verifyErr = await sendError(mailer.verify());
    expect(verifyErr).toBeInstanceOf(TransientDeliveryError);
    expect(logger.lines.length).toBeGreaterThan(0);
    const everything = [...logger.lines, String(err), String(verifyErr), JSON.stringify(err)].join('\n');
    expect(everything).not.toContain(password);
    expect(everything).toContain('smtp://mailer:***@127.0.0.1');
  });

  it('an unreachable server is transient', async () => {
    const { sink, mailer } = await setup();
    await sink.close();
    const err = await sendError(mailer.send({ to: 'a@example.org', subject: 's', text: 't' }));
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect((err as TransientDeliveryError).statusCode).toBeUndefined();
    expect((err as Error).message).toMatch(/ECONNECTION|ECONNREFUSED/);
  });
});

/** The machine's own non-loopback IPv4 address, if it has one (a server there is not "local"). */
function nonLoopbackAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}

describe('SMTP TLS', () => {
  const message = { to: 'a@example.org', subject: 'TLS check', text: 't' };
  const credentials = (url: string) => url.replace('smtp://', 'smtp://mailer:Sup3r-s3cret-pw@');
  const host = nonLoopbackAddress();

  it.skipIf(!host)(
    'to a non-loopback host without STARTTLS: refuses before sending anything, credentials included',
    async () => {
      sink = await startSmtpSink({ host, auth: { user: 'mailer', pass: 'Sup3r-s3cret-pw' } });
      const logger = captureLogger();
      mailer = createMailer({ smtpUrl: credentials(sink.url), from: FROM, pool: false, logger });
      const err = await sendError(mailer.send(message));
      // Our setup, not the message: retried, logged as an error for the operator.
      expect(err).toBeInstanceOf(MailTransientError);
      expect((err as MailTransientError).configuration).toBe(true);
      expect((err as Error).message).toMatch(/STARTTLS/);
      expect(sink.authAttempts).toEqual([]);
      expect(sink.messages).toEqual([]);
      expect(logger.lines.join('\n')).not.toContain('Sup3r-s3cret-pw');
    },
  );

  it.skipIf(!host)('SMTP_REQUIRE_TLS=false (requireTls: false) sends in clear to that host', async () => {
    sink = await startSmtpSink({ host, auth: { user: 'mailer', pass: 'Sup3r-s3cret-pw' } });
    mailer = createMailer({ smtpUrl: credentials(sink.url), from: FROM, pool: false, requireTls: false });
    expect((await mailer.send(message)).code).toBe(250);
    expect(sink.authAttempts).toEqual(['mailer']);
    expect(sink.messages).toHaveLength(1);
  });

  it('loopback is exempt by default; requireTls: true refuses there too', async () => {
    sink = await startSmtpSink();
    mailer = createMailer({ smtpUrl: sink.url, from: FROM, pool: false });
    expect((await mailer.send(message)).code).toBe(250);
    await mailer.close();
    mailer = createMailer({ smtpUrl: sink.url, from: FROM, pool: false, requireTls: true });
    expect(await sendError(mailer.send(message))).toBeInstanceOf(MailTransientError);
    expect(sink.messages).toHaveLength(1);
  });

  it('decides by host: loopback spellings exempt, others and names required, smtps already TLS', () => {
    for (const h of ['127.0.0.1', '127.8.9.1', 'localhost', '[::1]', 'mail.localhost']) {
      expect(smtpRequiresTls(`smtp://${h}:25`)).toBe(false);
    }
    for (const h of ['192.0.2.2', '10.0.0.5', 'smtp.example.org', '[2001:db8::1]', 'localhost.example.org']) {
      expect(smtpRequiresTls(`smtp://${h}:587`)).toBe(true);
      expect(smtpRequiresTls(`smtp://${h}:587`, false)).toBe(false);
    }
    expect(smtpRequiresTls('smtps://smtp.example.org:465')).toBe(false);
    expect(smtpRequiresTls('smtp://127.0.0.1:25', true)).toBe(true);
  });
});

describe('what a permanent SMTP refusal means', () => {
  it.each([
    // [reply code, reply text, command, kind]
    [550, '550 5.1.1 <a@example.org>: Recipient address rejected: User unknown', 'RCPT TO', 'recipient'],
    [550, '550-5.1.1 The email account that you tried to reach does not exist.', 'RCPT TO', 'recipient'],
    [550, '550 5.1.10 RESOLVER.ADR.RecipientNotFound', 'RCPT TO', 'recipient'],
    [550, '550 5.2.1 Mailbox disabled, not accepting messages', 'RCPT TO', 'recipient'],
    [550, '550 Requested action not taken: mailbox unavailable', 'RCPT TO', 'recipient'],
    [553, '553 Requested action not taken: mailbox name not allowed', 'RCPT TO', 'recipient'],
    [550, '550 5.7.1 Message rejected as spam', 'DATA', 'content'],
    [550, '550 5.7.1 Recipient address rejected: Access denied', 'RCPT TO', 'content'],
    [554, '554 5.7.1 Service unavailable; client host blocked', 'RCPT TO', 'content'],
    [552, '552 Message size exceeds fixed maximum message size', 'DATA', 'content'],
    [552, '552 5.2.2 Mailbox full', 'RCPT TO', 'content'],
    [554, '554 Transaction failed', 'DATA', 'content'],
    [554, '554 5.6.0 Message content rejected', 'DATA', 'content'],
    [550, '550 5.1.8 Sender address rejected: Domain not found', 'MAIL FROM', 'other'],
    [550, '550 Sender rejected', 'MAIL FROM', 'other'],
    [554, '554 No valid recipients', 'RCPT TO', 'other'],
    [550, '550 Message rejected', 'DATA', 'other'],
  ])('%i "%s" to %s: %s', (code, reply, command, kind) => {
    const err = classifySmtpError({ code: 'EENVELOPE', responseCode: code, response: reply, command, message: reply });
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect((err as MailPermanentError).kind).toBe(kind);
    expect((err as MailPermanentError).recipientRejected).toBe(kind === 'recipient');
  });

  it('reads the enhanced status code from a real SMTP server reply', async () => {
    const { mailer } = await setup({
      failures: [{ rcpt: 'gone@example.org', replies: [{ code: 550, message: '5.1.1 No such user here' }] }],
    });
    const err = (await sendError(
      mailer.send({ to: 'gone@example.org', subject: 's', text: 't' }),
    )) as MailPermanentError;
    expect(err.enhancedCode).toBe('5.1.1');
    expect(err.kind).toBe('recipient');
  });
});
