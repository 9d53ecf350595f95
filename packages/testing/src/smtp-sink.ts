/**
 * A real SMTP server in-process (smtp-server on 127.0.0.1 or a given address, random port, no
 * STARTTLS) that parses every accepted message with postal-mime. Scripted failures answer chosen SMTP codes at MAIL FROM, RCPT TO or
 * DATA, e.g. a 421 once then accept, or a 550 for a bouncing address, forever.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import PostalMime from 'postal-mime';
import { SMTPServer } from 'smtp-server';

export type SmtpReply = number | { code: number; message?: string };

export interface SmtpFailureScript {
  /** Recipient the script applies to (case-insensitive address or RegExp); omitted: every message. */
  rcpt?: string | RegExp;
  /** Where to answer (default: `rcpt` when `rcpt` is given, else `data`). */
  stage?: 'mail' | 'rcpt' | 'data';
  /** Replies, one per matching command, in order; then commands are accepted. */
  replies: SmtpReply[];
  /** Keep answering the last reply once the list is used up (a 550 that never goes away). */
  repeat?: boolean;
}

export interface SmtpSinkOptions {
  failures?: SmtpFailureScript[];
  /** Require these credentials when the client authenticates (any other gets 535). */
  auth?: { user: string; pass: string };
  /** Address to listen on (default 127.0.0.1); e.g. the machine's own non-loopback address. */
  host?: string;
}

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  from: string | undefined;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Header name (lowercase) to value; the first occurrence wins. */
  headers: Record<string, string>;
  messageId: string | undefined;
  raw: string;
}

export interface SmtpRejection {
  stage: 'mail' | 'rcpt' | 'data' | 'auth';
  address: string | undefined;
  code: number;
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Parsed accepted messages, in arrival order. */
  messages: ReceivedMail[];
  /** Every scripted refusal given. */
  rejections: SmtpRejection[];
  /** User names of every AUTH the client sent (the password arrived with it, in clear without TLS). */
  authAttempts: string[];
  /** First message (already received or still to come) matching `predicate`. */
  waitFor(predicate?: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

interface ScriptState {
  script: SmtpFailureScript;
  stage: 'mail' | 'rcpt' | 'data';
  used: number;
}

function smtpError(reply: SmtpReply): Error & { responseCode: number } {
  const { code, message } = typeof reply === 'number' ? { code: reply, message: undefined } : reply;
  const text = message ?? (code >= 500 ? 'Scripted permanent failure' : 'Scripted temporary failure');
  return Object.assign(new Error(text), { responseCode: code });
}

function matches(rule: string | RegExp | undefined, address: string | undefined): boolean {
  if (rule === undefined) return true;
  if (address === undefined) return false;
  return typeof rule === 'string' ? rule.toLowerCase() === address.toLowerCase() : rule.test(address);
}

/** Next scripted reply for this command, or null to accept. */
function nextReply(states: ScriptState[], stage: ScriptState['stage'], addresses: string[]): SmtpReply | null {
  for (const s of states) {
    if (s.stage !== stage) continue;
    const hit = stage === 'mail' ? s.script.rcpt === undefined : addresses.some((a) => matches(s.script.rcpt, a));
    if (!hit) continue;
    const { replies, repeat } = s.script;
    if (s.used < replies.length) return replies[s.used++] ?? null;
    if (repeat && replies.length > 0) return replies[replies.length - 1] ?? null;
  }
  return null;
}

function addressOf(a: { address?: string; group?: { address: string }[] } | undefined): string[] {
  if (!a) return [];
  if (a.group) return a.group.map((g) => g.address);
  return a.address ? [a.address] : [];
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const states: ScriptState[] = (options.failures ?? []).map((script) => ({
    script,
    stage: script.stage ?? (script.rcpt !== undefined ? 'rcpt' : 'data'),
    used: 0,
  }));
  const messages: ReceivedMail[] = [];
  const rejections: SmtpRejection[] = [];
  const authAttempts: string[] = [];
  const events = new EventEmitter();
  const host = options.host ?? '127.0.0.1';

  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      authAttempts.push(auth.username ?? '');
      const ok = options.auth && auth.username === options.auth.user && auth.password === options.auth.pass;
      if (ok) return callback(null, { user: auth.username });
      rejections.push({ stage: 'auth', address: undefined, code: 535 });
      callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
    },
    onMailFrom(address, _session, callback) {
      const reply = nextReply(states, 'mail', []);
      if (reply === null) return callback();
      const err = smtpError(reply);
      rejections.push({ stage: 'mail', address: address.address, code: err.responseCode });
      callback(err);
    },
    onRcptTo(address, _session, callback) {
      const reply = nextReply(states, 'rcpt', [address.address]);
      if (reply === null) return callback();
      const err = smtpError(reply);
      rejections.push({ stage: 'rcpt', address: address.address, code: err.responseCode });
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        const reply = nextReply(states, 'data', to);
        if (reply !== null) {
          const err = smtpError(reply);
          rejections.push({ stage: 'data', address: to[0], code: err.responseCode });
          return callback(err);
        }
        const raw = Buffer.concat(chunks);
        PostalMime.parse(raw).then(
          (email) => {
            const headers: Record<string, string> = {};
            for (const h of email.headers) if (!(h.key in headers)) headers[h.key] = h.value;
            const mailFrom = session.envelope.mailFrom;
            const mail: ReceivedMail = {
              envelope: { from: mailFrom ? mailFrom.address : '', to },
              from: addressOf(email.from)[0],
              to: (email.to ?? []).flatMap(addressOf),
              subject: email.subject ?? '',
              text: email.text ?? '',
              html: email.html ?? '',
              headers,
              messageId: email.messageId,
              raw: raw.toString('utf8'),
            };
            messages.push(mail);
            events.emit('message', mail);
            callback(null, 'OK: message accepted');
          },
          (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Errors on client sockets (a client that hangs up) are not the test's business.
  server.on('error', () => {});
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `smtp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    messages,
    rejections,
    authAttempts,
    waitFor(predicate = () => true, timeoutMs = 5000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const onMessage = (m: ReceivedMail) => {
          if (!predicate(m)) return;
          clearTimeout(timer);
          events.off('message', onMessage);
          resolve(m);
        };
        const timer = setTimeout(() => {
          events.off('message', onMessage);
          reject(new Error(`smtp sink: no matching message within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        events.on('message', onMessage);
      });
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
