/**
 * What a variable's text must not do in an operator's chat template: feed text (a headline, a rule
 * name) printed into a Slack, Discord or Teams message is escaped for that format, so a headline
 * cannot ping a channel (`<!channel>`, `@everyone`), disguise a link (`<https://evil|Re-authenticate>`,
 * `[Re-authenticate](https://evil)`) or restyle the message. The operator's own template text is
 * not touched: only what `{{ ... }}` prints, unless the template says `| raw`.
 */

/** The text formats a template renders for. `text`: plain text (email, Telegram, ntfy): nothing escaped. */
export type TextFormat = 'text' | 'slack' | 'discord' | 'teams';

/** Slack mrkdwn: `&`, `<` and `>` are its control characters (links, mentions, `<!channel>`). */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Bare URLs stay as written: the chat apps link them showing the whole address (nothing is
 * disguised), and a backslash inside one would break the link. Everything around them is escaped.
 */
const BARE_URL = /(https?:\/\/[^\s<>()[\]]+)/i;

function outsideUrls(s: string, escapeText: (text: string) => string): string {
  return s
    .split(BARE_URL)
    .map((part, i) => (i % 2 === 1 ? part : escapeText(part)))
    .join('');
}

/**
 * Discord markdown: a backslash before any punctuation shows it as itself. Escaped: emphasis,
 * strike, spoiler and code marks, masked links (`[text](url)`), mentions and channel/emoji
 * references (`<@id>`, `<#id>`, `@everyone`, `@here`), quotes, headings, lists.
 */
export function escapeDiscord(s: string): string {
  return outsideUrls(s, (t) => t.replace(/[\\*_~`|[\]()<>#@-]/g, '\\$&').replace(/^(\s*\d+)\./gm, '$1\\.'));
}

/**
 * Microsoft Teams Adaptive Card TextBlock: a CommonMark subset (bold, italic, lists, links).
 * Escaped with CommonMark backslash escapes: emphasis, links, and list or quote marks at a line's start.
 */
export function escapeTeams(s: string): string {
  return outsideUrls(s, (t) =>
    t
      .replace(/[\\*_~`[\]()]/g, '\\$&')
      .replace(/^(\s*)([-+>#])/gm, '$1\\$2')
      .replace(/^(\s*\d+)\./gm, '$1\\.'),
  );
}

export const ESCAPERS: Record<Exclude<TextFormat, 'text'>, (s: string) => string> = {
  slack: escapeSlack,
  discord: escapeDiscord,
  teams: escapeTeams,
};
