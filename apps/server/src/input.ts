/**
 * Input hygiene shared by the API, the admin page and the public pages: bodies are size-capped,
 * must be valid UTF-8, JSON must parse, and every string is refused when it holds a NUL or a lone
 * surrogate (neither survives Postgres or a JSON round trip intact) and is normalized to NFC.
 * SQL and HTML in strings are data: stored verbatim (Prisma binds parameters) and escaped on output.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { type FieldError, HttpProblem, validationProblem } from './problem.ts';

export const MAX_BODY_BYTES = 64 * 1024;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string is refused, or null when it is acceptable. */
export function badText(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(s)) return 'must not contain unpaired surrogates (invalid Unicode)';
  return null;
}

/**
 * Walks a parsed JSON value: collects refused strings (with their paths) and returns a copy with
 * every string (keys included) normalized to NFC.
 */
export const MAX_DEPTH = 32;

export function cleanJson(value: unknown, path: (string | number)[] = [], errors: FieldError[] = []): unknown {
  if (path.length > MAX_DEPTH) {
    if (!errors.some((e) => e.message.startsWith('nested more than'))) {
      errors.push({ path: path.slice(0, MAX_DEPTH).join('.'), message: `nested more than ${MAX_DEPTH} levels deep` });
    }
    return null;
  }
  if (typeof value === 'string') {
    const why = badText(value);
    if (why) errors.push({ path: path.join('.'), message: why });
    return why ? value : value.normalize('NFC');
  }
  if (Array.isArray(value)) return value.map((v, i) => cleanJson(v, [...path, i], errors));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const why = badText(k);
      if (why) errors.push({ path: [...path, k].join('.'), message: `field name ${why}` });
      out[k.normalize('NFC')] = cleanJson(v, [...path, k], errors);
    }
    return out;
  }
  return value;
}

/** A string schema with the rules above: NUL and lone surrogates refused, NFC, trimmed. */
export function text(opts: { min?: number; max: number; trim?: boolean } = { max: 1000 }) {
  let s = z.string();
  if (opts.trim !== false) s = s.trim();
  s = s
    .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters')
    .refine((v) => !LONE_SURROGATE.test(v), 'must not contain unpaired surrogates (invalid Unicode)')
    .overwrite((v) => v.normalize('NFC'));
  if (opts.min) s = s.min(opts.min, opts.min === 1 ? 'must not be empty' : `must be at least ${opts.min} characters`);
  return s.max(opts.max, `must be at most ${opts.max} characters`);
}

export const tooLarge = (c: Context) => {
  throw new HttpProblem(413, 'Payload Too Large', { detail: `request bodies are limited to ${MAX_BODY_BYTES} bytes` });
  // biome-ignore lint/correctness/noUnreachable: bodyLimit wants a Response-typed handler.
  return c.body(null, 413);
};

export const limitBody: MiddlewareHandler = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * For JSON requests: reads the body once, refuses invalid UTF-8, malformed JSON and bad strings
 * with problem+json, and leaves the cleaned value in Hono's body cache, where validators read it.
 */
export const cleanJsonBody: MiddlewareHandler = async (c, next) => {
  const m = c.req.method;
  if (m === 'GET' || m === 'HEAD' || m === 'OPTIONS' || m === 'DELETE') return next();
  const ct = c.req.header('content-type') ?? '';
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(ct)) {
    const len = c.req.header('content-length');
    const hasBody = (len !== undefined && len !== '0') || c.req.header('transfer-encoding') !== undefined;
    if (!hasBody) return next();
    return validationProblem(
      c,
      [{ path: '', message: 'the body must be JSON (Content-Type: application/json)' }],
      'Unsupported Media Type',
    );
  }
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  let textBody: string;
  try {
    textBody = utf8.decode(bytes);
  } catch {
    return validationProblem(c, [{ path: '', message: 'the body is not valid UTF-8' }], 'Malformed request body');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(textBody);
  } catch (err) {
    return validationProblem(
      c,
      [{ path: '', message: `malformed JSON: ${(err as Error).message.slice(0, 200)}` }],
      'Malformed JSON',
    );
  }
  const errors: FieldError[] = [];
  const cleaned = cleanJson(parsed, [], errors);
  if (errors.length) return validationProblem(c, errors);
  (c.req as unknown as { bodyCache: Record<string, Promise<unknown>> }).bodyCache = { json: Promise.resolve(cleaned) };
  return next();
};

/** Reads an urlencoded/multipart form into strings (last value wins), refusing bad text. */
export async function readForm(c: Context): Promise<{ values: Record<string, string>; all: Record<string, string[]> }> {
  const body = await c.req.parseBody({ all: true });
  const values: Record<string, string> = {};
  const all: Record<string, string[]> = {};
  const errors: FieldError[] = [];
  for (const [k, v] of Object.entries(body)) {
    const list = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
    for (const s of list) {
      const why = badText(s);
      if (why) errors.push({ path: k, message: why });
    }
    const norm = list.map((s) => s.normalize('NFC'));
    all[k] = norm;
    const last = norm[norm.length - 1];
    if (last !== undefined) values[k] = last;
  }
  if (errors.length) throw new FormError(errors);
  return { values, all };
}

/** Refused form input; pages show the messages next to the fields. */
export class FormError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    this.name = 'FormError';
  }
}
