/**
 * Redaction for anything that may reach a log line or an error message. Secrets (whsec_ signing
 * secrets, SMTP passwords, tokens in URLs) must never be written out, so every URL is logged
 * through {@link redactUrl} and every foreign message through {@link redactSecrets}.
 */

const MASK = '***';

/**
 * A path segment that looks like a token: 16+ URL-safe characters with both letters and digits.
 * Chat webhook URLs carry their secret in the path (Slack `/services/T…/B…/<token>`, Discord
 * `/api/webhooks/<id>/<token>`); words like `/hooks/signals` and short ids are kept.
 */
const TOKENISH = /^(?=[^/]*\d)(?=[^/]*[A-Za-z])[A-Za-z0-9_.~%-]{16,}$/;

/**
 * A URL safe to log: userinfo password, token-like path segments and every query value masked,
 * fragment dropped. Webhook URLs often carry a token in the query (`?token=...`, Teams' `sig`) or
 * in the path (Slack, Discord); SMTP URLs carry a password. Unparseable input is not echoed back
 * (it may be a secret pasted in the wrong field).
 */
export function redactUrl(raw: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(raw));
  } catch {
    return '<invalid url>';
  }
  if (u.password) u.password = MASK;
  if (u.username && u.password === '') u.username = MASK;
  for (const key of [...u.searchParams.keys()]) u.searchParams.set(key, MASK);
  u.pathname = u.pathname
    .split('/')
    .map((seg) => (TOKENISH.test(seg) ? MASK : seg))
    .join('/');
  u.hash = '';
  // URLSearchParams percent-encodes the mask; keep it readable.
  return u.toString().replaceAll(encodeURIComponent(MASK), MASK);
}

/**
 * Replaces every occurrence of the given secrets (and, for whsec_ secrets, of their base64 key,
 * which is what a library might print) in `text`. Empty and very short strings are ignored so a
 * one-character "secret" cannot mangle a whole message.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined | null)[]): string {
  let out = text;
  const needles = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    needles.add(s);
    if (s.startsWith('whsec_')) needles.add(s.slice('whsec_'.length));
    try {
      const decoded = decodeURIComponent(s);
      if (decoded !== s && decoded.length >= 4) needles.add(decoded);
    } catch {
      // not percent-encoded: nothing more to add
    }
    const encoded = encodeURIComponent(s);
    if (encoded !== s) needles.add(encoded);
  }
  // Longest first, so a secret that contains another is replaced whole.
  for (const n of [...needles].sort((a, b) => b.length - a.length)) out = out.split(n).join(MASK);
  return out;
}

/**
 * An email address as mail servers quote it in their answers (`550 5.1.1 <someone@example.com>:
 * Recipient address rejected`): anything around one `@` up to spaces, angle brackets, quotes and
 * separators, an IP literal (`user@[10.0.0.1]`) included.
 */
const EMAIL_ADDRESS = /[^\s<>()[\]"',;:@]+@(?:\[[^\]\s]*\]|[^\s<>()[\]"',;:@]+)/g;

/** The mask an address becomes in text shown to those who may not read subscribers' addresses. */
export const ADDRESS_MASK = '[address hidden]';

/** `text` with every email address replaced by {@link ADDRESS_MASK}. */
export function redactEmailAddresses(text: string): string;
export function redactEmailAddresses(text: string | null): string | null;
export function redactEmailAddresses(text: string | null): string | null {
  return text === null ? null : text.replace(EMAIL_ADDRESS, ADDRESS_MASK);
}
