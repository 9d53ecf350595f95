/**
 * Issue 18, item 5: in custom Slack, Discord and Teams templates, what `{{ ... }}` prints is escaped
 * for that app, so feed text cannot ping a channel or disguise a link; `| raw` opts out.
 * The payloads are the ones the review used.
 */
import { describe, expect, it } from 'vitest';
import { chatBodyOf, escapeDiscord, escapeSlack, escapeTeams, renderTemplate } from '../src/index.ts';

const PING = '<!channel>';
const SLACK_LINK = '<https://evil.example|Re-authenticate>';
const MD_LINK = '[Re-authenticate](https://evil.example)';
const vars = (title: string) => ({
  alert: { title, symbol: 'NVDA', url: 'https://signals.example/admin/alerts/a_1?tab=x&y=1' },
});

describe('Slack templates', () => {
  it('escape & < > in variables, so <!channel> and <url|text> are shown, not obeyed', async () => {
    const out = await renderTemplate(
      'slack',
      '*{{ alert.symbol }}* {{ alert.title }} <{{ alert.url }}|open>',
      vars(`${PING} ${SLACK_LINK} & co`),
    );
    expect(out).toBe(
      '*NVDA* &lt;!channel&gt; &lt;https://evil.example|Re-authenticate&gt; &amp; co <https://signals.example/admin/alerts/a_1?tab=x&amp;y=1|open>',
    );
    // In the webhook body: one text field, nothing in it Slack would read as a mention or a link of the feed's.
    const body = JSON.parse(chatBodyOf('slack', out));
    expect(body.text).not.toContain('<!channel>');
    expect(body.text).not.toContain('<https://evil.example');
  });

  it('print a variable as it is with | raw, and a capture once escaped (not twice)', async () => {
    expect(await renderTemplate('slack', '{{ alert.title | raw }}', vars(PING))).toBe(PING);
    expect(
      await renderTemplate(
        'slack',
        '{% capture t %}[{{ alert.title }}]{% endcapture %}{{ t }} {{ t | raw }}',
        vars('a<b'),
      ),
    ).toBe('[a&lt;b] [a&lt;b]');
  });
});

describe('Discord templates', () => {
  it('escape mentions, masked links and markdown in variables', async () => {
    const title = `@everyone <@123456> ${MD_LINK} **now** ${PING}`;
    const out = await renderTemplate('discord', '{{ alert.title }} — {{ alert.url }}', vars(title));
    expect(out).toBe(
      '\\@everyone \\<\\@123456\\> \\[Re\\-authenticate\\]\\(https://evil.example\\) \\*\\*now\\*\\* \\<!channel\\> — https://signals.example/admin/alerts/a_1?tab=x&y=1',
    );
    const body = JSON.parse(chatBodyOf('discord', out));
    // Belt and braces: the body also tells Discord to ping nobody.
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content).not.toMatch(/(^|[^\\])@everyone|(^|[^\\])\[Re/);
  });

  it('opt out with | raw', async () => {
    expect(await renderTemplate('discord', '{{ alert.title | raw }}', vars(MD_LINK))).toBe(MD_LINK);
  });
});

describe('Teams templates', () => {
  it('escape Adaptive Card markdown (links, emphasis, lists) in variables', async () => {
    const out = await renderTemplate('teams', '{{ alert.title }}', vars(`- ${MD_LINK} _now_ **x**`));
    expect(out).toBe('\\- \\[Re-authenticate\\]\\(https://evil.example\\) \\_now\\_ \\*\\*x\\*\\*');
    const card = JSON.parse(chatBodyOf('teams', out));
    expect(JSON.stringify(card)).not.toContain(MD_LINK);
  });
});

describe('plain-text channels', () => {
  it('leave email, Telegram and ntfy text as it is (no markup there)', async () => {
    for (const key of ['email.body', 'telegram', 'ntfy'] as const) {
      expect(await renderTemplate(key, '{{ alert.title }}', vars(`${PING} ${MD_LINK}`)), key).toBe(
        `${PING} ${MD_LINK}`,
      );
    }
  });
});

describe('the escapers', () => {
  it('keep bare URLs whole and escape around them', () => {
    expect(escapeSlack('a & b')).toBe('a &amp; b');
    expect(escapeDiscord('see https://x.example/a_b_(c) now_')).toBe('see https://x.example/a_b_\\(c\\) now\\_');
    expect(escapeTeams('1. first\n# two')).toBe('1\\. first\n\\# two');
  });
});
