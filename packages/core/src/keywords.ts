/**
 * News keywords: what a keyword may be (the schema) and how it matches (the matcher), in one place.
 *
 * A keyword matches case-insensitively as whole words in a news item's title and summary: the
 * match may neither start right after a letter or digit nor end right before one. `*` stands for
 * any run of letters and digits inside a word (`*blase` matches "KI-Blase" and "Kostenblase"),
 * whitespace for any run of whitespace.
 *
 * Matching runs in time linear in the text: the keywords become one automaton (a state per
 * keyword character, Thompson's construction) read over the text once; the set of states reached
 * moves on by one character at a time, every state at most once per character, so no text and no
 * keyword can make it backtrack. Sets already seen are remembered with their moves (a lazily built
 * DFA, bounded in memory), so repeated text costs one look-up per character. It used to be a
 * regular expression with `[\p{L}\p{N}]*` per `*`: a keyword of 99 `*` stalled the whole process
 * for over a minute on one long word, because a backtracking regex tries every way of splitting
 * the word between them.
 */
import { z } from 'zod';

/** Wildcards allowed in one keyword: enough for `*blase*`-like stems, few enough to stay readable. */
export const MAX_KEYWORD_WILDCARDS = 3;

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** One keyword as stored in a rule. */
export const keywordSchema = z
  .string()
  .trim()
  .min(1, 'keywords must not be empty')
  .max(100)
  .superRefine((k, ctx) => {
    // One message per keyword: the first problem is the one to fix.
    if ((k.match(/\*/g)?.length ?? 0) > MAX_KEYWORD_WILDCARDS) {
      ctx.addIssue({ code: 'custom', message: `a keyword may have at most ${MAX_KEYWORD_WILDCARDS} wildcards (*)` });
    } else if (!WORD_CHAR.test(k)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a keyword needs at least one letter or digit (a lone * would match every item)',
      });
    }
  });

// Program instructions (one per state). The last state of every keyword is ACCEPT.
const LIT = 0; // one character equal to `cp` (case-folded)
const ONE_WS = 1; // one whitespace character
const MANY_WORD = 2; // any run of letters and digits, also none (`*`)
const MANY_WS = 3; // any run of whitespace, also none
const ACCEPT = 4;

const foldCache = new Map<string, number>();
/** Simple case folding of one code point, close to what a regular expression's `iu` flags do. */
function fold(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c < 128) return c >= 65 && c <= 90 ? c + 32 : c;
  const known = foldCache.get(ch);
  if (known !== undefined) return known;
  const single = (s: string) => (s.length === 1 || (s.length === 2 && (s.codePointAt(0) ?? 0) > 0xffff) ? s : null);
  // Upper then lower maps the variant forms (final sigma, long s) onto one; a character whose
  // mappings grow (ß -> SS, İ -> i̇) keeps the one-character form that exists.
  const viaUpper = single(ch.toUpperCase());
  const f = (viaUpper && single(viaUpper.toLowerCase())) ?? single(ch.toLowerCase()) ?? ch;
  const cp = f.codePointAt(0) as number;
  if (foldCache.size < 10_000) foldCache.set(ch, cp);
  return cp;
}

const isWordChar = (ch: string): boolean => {
  const c = ch.charCodeAt(0);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  return WORD_CHAR.test(ch);
};
const isSpace = (ch: string): boolean => /^\s$/u.test(ch);

/** Counts work done, for tests that check the bound (steps <= 2 x (characters + 1) x states). */
export interface MatchStats {
  steps: number;
}

export interface KeywordMatcher {
  /** Does any keyword occur in `text`? Linear in the text's length. */
  test(text: string, stats?: MatchStats): boolean;
  /** States of the automaton (all keywords together): the constant of the linear bound. */
  readonly states: number;
}

/** A set of automaton states reached after some text, with the moves out of it learned so far. */
interface SetState {
  states: Int32Array;
  accepting: boolean;
  /** Character key (see charKey) -> the set reached by reading that character. */
  next: Map<number, SetState>;
}

/** Folded code point plus whether the character is a word character and whitespace. */
const charKey = (folded: number, word: number, space: number) => folded * 4 + word * 2 + space;

/**
 * Learned sets are kept up to this many state numbers in total (about 1 MB), then forgotten and
 * learned again: repeated text (a long run of one letter, the same words again) costs one table
 * look-up per character, and memory stays bounded whatever the text.
 */
const CACHE_STATES = 250_000;

export interface KeywordMatcherOptions {
  /** State numbers the learned sets may hold before they are forgotten (default 250,000, ~1 MB). */
  cacheStates?: number;
}

/** The matcher for a rule's keywords, or null when there are none. */
export function compileKeywords(
  keywords: readonly string[] | undefined,
  options: KeywordMatcherOptions = {},
): KeywordMatcher | null {
  const cacheStates = options.cacheStates ?? CACHE_STATES;
  if (!keywords?.length) return null;
  const op: number[] = [];
  const cp: number[] = [];
  const starts: number[] = [];
  for (const raw of keywords) {
    starts.push(op.length);
    let last = -1;
    for (const ch of raw.normalize('NFC').trim()) {
      if (ch === '*') {
        if (last !== MANY_WORD) {
          op.push(MANY_WORD);
          cp.push(0);
        }
        last = MANY_WORD;
      } else if (isSpace(ch)) {
        if (last !== MANY_WS) {
          op.push(ONE_WS, MANY_WS);
          cp.push(0, 0);
        }
        last = MANY_WS;
      } else {
        op.push(LIT);
        cp.push(fold(ch));
        last = LIT;
      }
    }
    op.push(ACCEPT);
    cp.push(0);
  }
  const ops = Uint8Array.from(op);
  const cps = Int32Array.from(cp);
  const size = ops.length;
  const seen = new Int32Array(size);
  let generation = 0;

  /**
   * Adds state s0 to the set being built and follows the moves that read nothing (past a `*` or a
   * whitespace run that may match nothing). Each state enters a set once (`seen`).
   */
  function add(out: number[], s0: number, stats: MatchStats): boolean {
    for (let s = s0; s < size && seen[s] !== generation; s++) {
      seen[s] = generation;
      stats.steps++;
      const o = ops[s] as number;
      if (o === ACCEPT) return true;
      out.push(s);
      if (o !== MANY_WORD && o !== MANY_WS) return false;
    }
    return false;
  }

  // Learned sets, by a hash of their sorted states (a bucket holds the rare collisions).
  const sets = new Map<number, SetState[]>();
  let cached = 0;
  /** The set before any text (kept until the learned sets are forgotten). */
  let first: SetState | undefined;
  function intern(list: number[], accepting: boolean): SetState {
    const states = Int32Array.from(list).sort();
    let h = accepting ? 0x9e3779b9 : 0x811c9dc5;
    for (const x of states) h = Math.imul(h ^ x, 0x01000193);
    const bucket = sets.get(h);
    const same = (st: SetState) =>
      st.accepting === accepting && st.states.length === states.length && st.states.every((x, i) => x === states[i]);
    const found = bucket?.find(same);
    if (found) return found;
    if (cached + states.length > cacheStates) {
      // Forget everything learned, the start set's moves included (they lead into the old sets).
      sets.clear();
      cached = 0;
      first = undefined;
    }
    const st: SetState = { states, accepting, next: new Map() };
    const b = sets.get(h);
    if (b) b.push(st);
    else sets.set(h, [st]);
    cached += states.length + 1;
    return st;
  }

  /** The set before any text: every keyword may start. */
  function initial(stats: MatchStats): SetState {
    generation++;
    const out: number[] = [];
    let accepting = false;
    for (const s of starts) if (add(out, s, stats)) accepting = true;
    return intern(out, accepting);
  }
  /** Reads one character from `from`: the states it leads to, plus new starts after a non-word character. */
  function step(from: SetState, c: number, word: number, space: number, stats: MatchStats): SetState {
    generation++;
    const out: number[] = [];
    let accepting = false;
    for (const s of from.states) {
      stats.steps++;
      const o = ops[s];
      let to = -1;
      if (o === LIT) to = cps[s] === c ? s + 1 : -1;
      else if (o === ONE_WS) to = space ? s + 1 : -1;
      else if (o === MANY_WORD) to = word ? s : -1;
      else if (o === MANY_WS) to = space ? s : -1;
      if (to >= 0 && add(out, to, stats)) accepting = true;
    }
    // A match starts only where no letter or digit precedes it.
    if (!word) for (const s of starts) if (add(out, s, stats)) accepting = true;
    return intern(out, accepting);
  }

  return {
    states: size,
    test(text, stats = { steps: 0 }) {
      const chars = Array.from(text.normalize('NFC'));
      const n = chars.length;
      first ??= initial(stats);
      let cur = first;
      for (let i = 0; i <= n; i++) {
        const ch = chars[i];
        const word = ch !== undefined && isWordChar(ch) ? 1 : 0;
        // ... and ends only where none follows.
        if (cur.accepting && !word) return true;
        if (ch === undefined) return false;
        const space = word ? 0 : isSpace(ch) ? 1 : 0;
        const c = fold(ch);
        const key = charKey(c, word, space);
        stats.steps++;
        let to = cur.next.get(key);
        if (!to) {
          to = step(cur, c, word, space, stats);
          cur.next.set(key, to);
          cached++;
        }
        cur = to;
      }
      return false;
    },
  };
}
