import { createRequire } from 'node:module';
import type { Logger as Pino, pino as PinoFactory } from 'pino';

// pino loads with the first logger: a process that never logs JSON (the run command's supervisor)
// never pays for it.
let pino: typeof PinoFactory | undefined;
const loadPino = () => {
  pino ??= (createRequire(import.meta.url)('pino') as { pino: typeof PinoFactory }).pino;
  return pino;
};

/**
 * Structured JSON logs (pino). Secrets never reach a log line: these paths are censored wherever
 * they appear, and URLs with credentials are logged without them (see redactUrl).
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'secrets',
  '*.secrets',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'cookie',
  'botToken',
  '*.botToken',
  'tokenSealed',
  '*.tokenSealed',
  'smtpUrl',
  '*.smtpUrl',
];

export function createLogger(opts: { name: string; level?: string }): Pino {
  const pino = loadPino();
  return pino({
    name: opts.name,
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, service: opts.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A URL fit for logs: password (and query string, which may hold tokens) removed. */
export function redactUrl(raw: string | undefined): string | undefined {
  if (!raw) return raw;
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    u.search = '';
    return u.toString();
  } catch {
    // A cluster URL (`redis+cluster://user:pass@h1:p1,h2:p2`) is not a WHATWG URL: hide its password.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return raw.replace(/^([^:]+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
    return '[unparseable url]';
  }
}
