/**
 * What NODE_ENV=production means: the settings a deployment on the internet cannot do without are
 * checked once at start, by the server and the worker alike. A setting that would leak passwords or
 * send subscribers dead links stops the process (exit 78, the message names the setting and the
 * fix); one that is merely risky starts with a warning in the log.
 */
import path from 'node:path';
import type { Env } from './index.ts';

/**
 * The settings that decide how safe a deployment is. docker-compose.yml passes each of them to the
 * app and .env.example lists each of them (apps/cli/test/deployment.test.ts checks both).
 */
export const SECURITY_SETTINGS = [
  'NODE_ENV',
  'PUBLIC_BASE_URL',
  'ALLOW_INSECURE_HTTP',
  'COOKIE_SECURE',
  'TRUST_PROXY',
  'ALLOWED_HOSTS',
  'METRICS_TOKEN',
  'APP_SECRET',
  'APP_SECRET_PREVIOUS',
  'ADMIN_EMAIL',
  'ADMIN_PASSWORD',
  'SETUP_URL_FILE',
  'SMTP_REQUIRE_TLS',
  'WEBHOOK_ALLOWED_CIDRS',
  'FEED_ALLOWED_CIDRS',
  'NTFY_ALLOWED_CIDRS',
  'TELEGRAM_BOT_TOKEN',
] as const satisfies readonly (keyof Env)[];

export interface ProductionFinding {
  /** `refuse`: the process does not start; `warn`: it starts and says so in the log. */
  level: 'refuse' | 'warn';
  variable: keyof Env;
  message: string;
}

/** Hosts only the machine itself reaches: a link to them in an email is dead everywhere else. */
function isLocalHost(hostname: string): boolean {
  const h = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return (
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    h === '::1' ||
    h === '0.0.0.0' ||
    h === '::'
  );
}

/** What production mode finds wrong with these settings (nothing outside production). */
export function productionFindings(env: Env, who: 'server' | 'worker' = 'server'): ProductionFinding[] {
  if (env.NODE_ENV !== 'production') return [];
  const out: ProductionFinding[] = [];
  const base = env.PUBLIC_BASE_URL;
  if (!base) {
    out.push({
      level: 'refuse',
      variable: 'PUBLIC_BASE_URL',
      message: `is required with NODE_ENV=production: links in emails and webhooks would point to http://localhost:${env.PORT}. Set it to the https:// address people reach the server at.`,
    });
  } else {
    const u = new URL(base);
    if (isLocalHost(u.hostname)) {
      out.push({
        level: 'refuse',
        variable: 'PUBLIC_BASE_URL',
        message: `points to ${u.hostname}, which only this machine reaches: links in emails and webhooks would be dead. Set it to the https:// address people reach the server at.`,
      });
    }
    if (u.protocol === 'http:') {
      if (env.ALLOW_INSECURE_HTTP) {
        out.push({
          level: 'warn',
          variable: 'PUBLIC_BASE_URL',
          message:
            'is http:// and ALLOW_INSECURE_HTTP=true: passwords, session cookies and subscriber links cross the network in clear text. Only for a LAN you trust; put a TLS-terminating proxy in front for anything else.',
        });
      } else {
        out.push({
          level: 'refuse',
          variable: 'PUBLIC_BASE_URL',
          message:
            'is http:// with NODE_ENV=production: passwords and session cookies would cross the network in clear text. Put a TLS-terminating proxy in front and set PUBLIC_BASE_URL=https://..., or set ALLOW_INSECURE_HTTP=true for a LAN install without TLS.',
        });
      }
    }
  }
  // The worker's own WORKER_METRICS_PORT listener is not covered by the token (keep it private).
  if (who === 'server' && !env.METRICS_TOKEN) {
    out.push({
      level: 'warn',
      variable: 'METRICS_TOKEN',
      message:
        'is unset: /metrics is closed (403) with NODE_ENV=production. Set METRICS_TOKEN (16+ characters) and give it to Prometheus as a bearer token to scrape it.',
    });
  }
  return out;
}

interface WarnLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Applies {@link productionFindings}: refusals go to stderr and end the process with 78 (EX_CONFIG),
 * as a malformed variable does; warnings go to the log.
 */
export function checkProductionOrExit(env: Env, logger: WarnLogger, who: 'server' | 'worker' = 'server'): void {
  const findings = productionFindings(env, who);
  const refused = findings.filter((f) => f.level === 'refuse');
  if (refused.length > 0) {
    process.stderr.write(
      `Refusing to start in production mode:\n${refused.map((f) => `  ${f.variable}: ${f.message}`).join('\n')}\nSee "Security" in the README.\n`,
    );
    process.exit(78);
  }
  for (const f of findings) logger.warn({ setting: f.variable }, `${f.variable} ${f.message}`);
}

/** Where the server writes the one-time setup URL: SETUP_URL_FILE, else <DATA_DIR>/setup-url.txt. */
export function setupUrlFile(env: Pick<Env, 'SETUP_URL_FILE' | 'DATA_DIR'>, repoRoot: string): string {
  return path.resolve(env.SETUP_URL_FILE ?? path.join(env.DATA_DIR ?? path.join(repoRoot, '.data'), 'setup-url.txt'));
}
