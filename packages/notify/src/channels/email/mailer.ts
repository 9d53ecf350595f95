/**
 * Email over SMTP with nodemailer's connection pool. Failures become domain errors: the worker
 * retries {@link TransientDeliveryError}s and gives up on {@link PermanentDeliveryError}s.
 *
 * Classification:
 * - 4xx replies (421 closing, 450/451 greylisting, 452 full) and connection errors, timeouts,
 *   TLS errors: transient, `statusCode` = the SMTP code when there is one.
 * - 5xx to MAIL FROM, RCPT TO or DATA: permanent, with what the refusal means
 *   ({@link smtpFailureKind}): `recipient` (the address does not work: 5.1.x, 5.2.1, a bare 550,
 *   551 or 553 to RCPT TO) counts as a bounce of the subscriber; `content` (5.7.x policy and spam
 *   refusals, 552, 554 at DATA, 5.2.2, 5.3.4, 5.6.x) fails that message only; `other` too.
 * - 5xx outside a transaction (535 authentication failed at AUTH, 5xx greeting, STARTTLS refused):
 *   transient and logged as an error. It is our configuration, not the message: the alert should
 *   wait for an operator instead of being dropped for every subscriber.
 */
import { PermanentDeliveryError, silentLogger, TransientDeliveryError, type Logger } from '@signals/core';
import net from 'node:net';
import { createRequire } from 'node:module';
import type nodemailer from 'nodemailer';
import { redactSecrets, redactUrl } from '../../redact.ts';

export interface MailerOptions {
  /** `smtp://user:pass@host:port` or `smtps://...` (implicit TLS). Credentials percent-encoded. */
  smtpUrl: string;
  /** Default From, e.g. `"Market Signals" <alerts@example.org>`. */
  from: string;
  /** Reuse connections (default true). */
  pool?: boolean;
  /** Simultaneous SMTP connections (default 5). */
  maxConnections?: number;
  /** Messages per connection before it is recycled (default 100). */
  maxMessages?: number;
  /** Messages per second across the pool (default: unlimited). */
  rateLimit?: number;
  /** TCP connect timeout (default 10 s; nodemailer's own default is 2 minutes). */
  connectionTimeoutMs?: number;
  /** Wait for the 220 greeting (default 10 s). */
  greetingTimeoutMs?: number;
  /** Socket inactivity timeout (default 30 s; nodemailer's own default is 10 minutes). */
  socketTimeoutMs?: number;
  /**
   * Refuse to talk to an smtp:// server that does not upgrade to TLS with STARTTLS: nothing, the
   * credentials included, is sent in clear. Default: required unless the host is loopback
   * (`localhost`, 127.0.0.0/8, `::1`: a local relay or mail catcher). `false` allows plain text to
   * any host (SMTP_REQUIRE_TLS=false). smtps:// is TLS from the first byte either way.
   */
  requireTls?: boolean;
  logger?: Logger;
}

export interface MailMessage {
  to: string | readonly string[];
  subject: string;
  text: string;
  html?: string;
  /** Extra headers, e.g. List-Unsubscribe from the templates. */
  headers?: Readonly<Record<string, string>>;
  /** Overrides the mailer's default From. */
  from?: string;
  replyTo?: string;
  /** Message-ID to use (`<id@domain>`); a stable one lets receivers spot a duplicate after a retry. */
  messageId?: string;
}

export interface SendResult {
  /** Message-ID header value. */
  messageId: string;
  /** Last SMTP reply to DATA, e.g. `250 OK: queued as ABC`. */
  response: string;
  /** Its code (250), or null if the server answered without one. */
  code: number | null;
  accepted: string[];
  /** Recipients refused while others were accepted (the message was still sent). */
  rejected: string[];
}

export interface Mailer {
  send(message: MailMessage): Promise<SendResult>;
  /** Connects, greets and authenticates once: a health check. Throws the classified error. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a permanent SMTP refusal says about the address:
 * - `recipient`: the mailbox does not exist or is disabled; sending again will not work (a bounce).
 * - `content`: this message was refused (policy, spam, size); the address itself may be fine.
 * - `other`: anything else (our sender refused, a syntax error): this message failed, nothing more.
 */
export type SmtpFailureKind = 'recipient' | 'content' | 'other';

/**
 * Reads a permanent reply by its enhanced status code (RFC 3463) when the server gave one, else by
 * its reply code and the command it answered.
 */
export function smtpFailureKind(
  code: number | undefined,
  enhanced: string | undefined,
  command?: string,
): SmtpFailureKind {
  if (enhanced) {
    const [, subject = '', detail = ''] = enhanced.split('.');
    // 5.1.7 / 5.1.8 are about the sender's address, not the recipient's.
    if (subject === '1') return detail === '7' || detail === '8' ? 'other' : 'recipient';
    if (subject === '2' && detail === '1') return 'recipient'; // mailbox disabled
    if (subject === '7' || subject === '6') return 'content'; // security/policy, media
    if ((subject === '2' && (detail === '2' || detail === '3')) || (subject === '3' && detail === '4'))
      return 'content';
    return 'other';
  }
  if (command === 'RCPT TO' && (code === 550 || code === 551 || code === 553)) return 'recipient';
  if (code === 552 || (code === 554 && command === 'DATA')) return 'content';
  return 'other';
}

/** The enhanced status code (`5.1.1`) a reply carries after its reply code, if any. */
export function enhancedStatusCode(reply: string | undefined): string | undefined {
  return reply ? /(?:^|[\s:])([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(reply)?.[1] : undefined;
}

/** A permanent SMTP failure, with what it means for the address ({@link SmtpFailureKind}). */
export class MailPermanentError extends PermanentDeliveryError {
  constructor(
    message: string,
    statusCode: number | undefined,
    readonly command: string | undefined,
    readonly kind: SmtpFailureKind = 'other',
    /** The enhanced status code of the reply (e.g. `5.1.1`), when it had one. */
    readonly enhancedCode?: string,
  ) {
    super(message, statusCode);
  }
  /** True when the recipient's mailbox does not work: the subscriber's address bounces. */
  get recipientRejected(): boolean {
    return this.kind === 'recipient';
  }
}

export class MailTransientError extends TransientDeliveryError {
  constructor(
    message: string,
    statusCode: number | undefined,
    readonly command: string | undefined,
    /** True when the failure is our setup (authentication, greeting) rather than this message. */
    readonly configuration = false,
  ) {
    super(message, statusCode);
  }
}

interface SmtpLikeError {
  message?: unknown;
  code?: unknown;
  responseCode?: unknown;
  command?: unknown;
  response?: unknown;
}

const TRANSACTION_COMMANDS = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);

/**
 * Turns a nodemailer error into a domain error. `secrets` (the SMTP password and user) are
 * removed from the message, which may quote the server.
 */
export function classifySmtpError(
  err: unknown,
  secrets: readonly string[] = [],
): MailPermanentError | MailTransientError {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SmtpLikeError;
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const command = typeof e.command === 'string' ? e.command : undefined;
  const kind = typeof e.code === 'string' ? e.code : undefined;
  const raw = typeof e.message === 'string' ? e.message : 'SMTP error';
  const message = redactSecrets(
    `SMTP ${[kind, code, command].filter(Boolean).join(' ')}: ${raw}`.replace(/\s+/g, ' ').slice(0, 500),
    secrets,
  );
  if (code !== undefined && code >= 500 && code < 600) {
    if ((command && TRANSACTION_COMMANDS.has(command)) || kind === 'EENVELOPE' || kind === 'EMESSAGE') {
      const enhanced = enhancedStatusCode(typeof e.response === 'string' ? e.response : raw);
      return new MailPermanentError(message, code, command, smtpFailureKind(code, enhanced, command), enhanced);
    }
    return new MailTransientError(message, code, command, true);
  }
  if (code !== undefined) return new MailTransientError(message, code, command, kind === 'EAUTH');
  // No reply code: our own refusal to build the envelope (no or invalid recipients) is permanent;
  // everything else (ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EAUTH...) may pass.
  if (kind === 'EENVELOPE' || kind === 'EMESSAGE') return new MailPermanentError(message, undefined, command);
  return new MailTransientError(message, undefined, command, kind === 'EAUTH');
}

function parseSmtpUrl(smtpUrl: string): {
  host: string;
  port: number;
  secure: boolean;
  auth?: { user: string; pass: string };
} {
  let u: URL;
  try {
    u = new URL(smtpUrl);
  } catch {
    throw new Error('createMailer: smtpUrl is not a valid URL');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    throw new Error(`createMailer: smtpUrl must be smtp:// or smtps:// (got ${u.protocol})`);
  }
  const secure = u.protocol === 'smtps:';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : secure ? 465 : 587;
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  return { host, port, secure, ...(user ? { auth: { user, pass } } : {}) };
}

/** localhost, 127.0.0.0/8, ::1 and ::ffff:127.x: the connection never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/** Whether createMailer makes nodemailer insist on STARTTLS (see MailerOptions.requireTls). */
export function smtpRequiresTls(smtpUrl: string, requireTls?: boolean): boolean {
  const conn = parseSmtpUrl(smtpUrl);
  if (conn.secure) return false; // implicit TLS: nothing to upgrade
  return requireTls ?? !isLoopbackHost(conn.host);
}

function replyCode(response: string): number | null {
  const m = /^(\d{3})/.exec(response);
  return m ? Number(m[1]) : null;
}

function addresses(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((a) => (typeof a === 'string' ? a : String((a as { address?: unknown }).address ?? a)));
}

export function createMailer(options: MailerOptions): Mailer {
  const conn = parseSmtpUrl(options.smtpUrl);
  const secrets = conn.auth ? [conn.auth.pass, conn.auth.user] : [];
  const log = (options.logger ?? silentLogger).child({ component: 'mailer', smtp: redactUrl(options.smtpUrl) });

  // nodemailer drops every other option when given `url`, so the URL is parsed here.
  const transportOptions = {
    host: conn.host,
    port: conn.port,
    secure: conn.secure,
    auth: conn.auth,
    requireTLS: smtpRequiresTls(options.smtpUrl, options.requireTls),
    pool: options.pool ?? true,
    maxConnections: options.maxConnections ?? 5,
    maxMessages: options.maxMessages ?? 100,
    ...(options.rateLimit ? { rateLimit: options.rateLimit, rateDelta: 1000 } : {}),
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    greetingTimeout: options.greetingTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 30_000,
    // Messages are built from our templates only: never read files or URLs named in a message.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
    // Nagle's algorithm against the server's delayed ACK stalls every message ~40 ms (measured:
    // 104 -> 728 messages/s over 5 pooled connections with it off). Plain and STARTTLS connections
    // get a socket with TCP_NODELAY; implicit TLS (smtps) keeps nodemailer's own connect.
    getSocket: (
      opts: { secure?: boolean; host?: string; port?: number },
      callback: (err: Error | null, socketOptions?: unknown) => void,
    ) => {
      // nodemailer's pool only takes an already connected socket (`connection`), so connect here.
      if (opts.secure || !opts.host || !opts.port) return callback(null, false);
      const timeoutMs = options.connectionTimeoutMs ?? 10_000;
      const socket = net.connect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      const fail = (err: Error) => {
        socket.destroy();
        callback(err);
      };
      const timer = setTimeout(
        () => fail(Object.assign(new Error(`SMTP connection timeout after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        timeoutMs,
      );
      socket.once('error', (err) => {
        clearTimeout(timer);
        fail(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        callback(null, { connection: socket });
      });
    },
  };
  // nodemailer loads with the first message (or verify): a process that has sent no mail yet, the
  // idle worker or the server, does not hold it.
  let transporter: ReturnType<typeof nodemailer.createTransport> | undefined;
  const transport = () => {
    if (transporter) return transporter;
    const mail = createRequire(import.meta.url)('nodemailer') as typeof nodemailer;
    const t = mail.createTransport(transportOptions as nodemailer.TransportOptions);
    // An unhandled 'error' event would crash the worker; the failed send already rejects.
    t.on('error', (err: unknown) => {
      log.warn({ err: classifySmtpError(err, secrets).message }, 'smtp transport error');
    });
    transporter = t;
    return t;
  };

  return {
    async send(message) {
      const to = typeof message.to === 'string' ? [message.to] : [...message.to];
      try {
        const info = (await transport().sendMail({
          from: message.from ?? options.from,
          to,
          subject: message.subject,
          text: message.text,
          ...(message.html !== undefined ? { html: message.html } : {}),
          ...(message.headers ? { headers: { ...message.headers } } : {}),
          ...(message.replyTo ? { replyTo: message.replyTo } : {}),
          ...(message.messageId ? { messageId: message.messageId } : {}),
          // What nodemailer would pick for our mostly-ASCII templates anyway; naming it skips its
          // per-message scan of every body character (~10 % of the worker's CPU per email).
          textEncoding: 'quoted-printable',
        })) as { messageId?: string; response?: string; accepted?: unknown; rejected?: unknown };
        const response = String(info.response ?? '');
        const result: SendResult = {
          messageId: String(info.messageId ?? ''),
          response,
          code: replyCode(response),
          accepted: addresses(info.accepted),
          rejected: addresses(info.rejected),
        };
        log.debug({ messageId: result.messageId, code: result.code, recipients: to.length }, 'email sent');
        if (result.rejected.length > 0) {
          log.warn({ messageId: result.messageId, rejected: result.rejected.length }, 'some recipients refused');
        }
        return result;
      } catch (err) {
        const failure = classifySmtpError(err, secrets);
        const level = failure instanceof MailTransientError && failure.configuration ? 'error' : 'warn';
        log[level](
          {
            err: failure.message,
            statusCode: failure.statusCode,
            command: failure.command,
            outcome: failure instanceof PermanentDeliveryError ? 'failed' : 'retry',
          },
          'email not sent',
        );
        throw failure;
      }
    },
    async verify() {
      try {
        await transport().verify();
      } catch (err) {
        const failure = classifySmtpError(err, secrets);
        log.error({ err: failure.message, statusCode: failure.statusCode }, 'smtp verify failed');
        throw failure;
      }
    },
    async close() {
      transporter?.close();
    },
  };
}
