/**
 * Reading pieces out of HTML and headers in tests. A helper that answered '' for a missing element
 * would let `not.toMatch(/hidden/)` or `not.toContain(...)` pass on a page that lost the element:
 * these throw instead, naming what was looked for.
 */

/** The first match of `re` in `text`; throws when there is none. */
export function mustMatch(re: RegExp, text: string, what: string): RegExpExecArray {
  const m = re.exec(text);
  if (!m) throw new Error(`${what}: not found (${re}) in ${text.length} characters: ${text.slice(0, 300)}`);
  return m;
}

/** Capture group `group` (default 1) of the first match of `re` in `text`; throws when absent. */
export function captured(re: RegExp, text: string, what: string, group = 1): string {
  const v = mustMatch(re, text, what)[group];
  if (v === undefined) throw new Error(`${what}: group ${group} of ${re} did not take part in the match`);
  return v;
}

/** The `name=value` part of the Set-Cookie named `name` (a Cookie header value); throws when absent. */
export function cookieFrom(res: Response, name: string): string {
  const sc = res.headers.getSetCookie().find((x) => x.startsWith(`${name}=`) || x.startsWith(`__Host-${name}=`));
  if (!sc)
    throw new Error(`cookie ${name}: not set (status ${res.status}; got ${res.headers.getSetCookie().join(' | ')})`);
  return sc.split(';')[0] as string;
}
