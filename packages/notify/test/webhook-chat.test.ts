import { buildAlertEvent, buildServiceEvent, buildTestEvent, renderWebhookBody, serializeEvent } from '@signals/notify';
import { describe, expect, it } from 'vitest';
import { evaluationOutage, nvdaShock, PUBLIC_BASE_URL } from './fixtures.ts';

const firing = (overrides: Parameters<typeof nvdaShock>[0] = {}) =>
  buildAlertEvent(nvdaShock(overrides), {
    type: 'alert.firing',
    timestamp: new Date('2025-01-27T21:00:05Z'),
    publicBaseUrl: PUBLIC_BASE_URL,
  });

/** Every string anywhere in a JSON value. */
const strings = (v: unknown): string[] =>
  typeof v === 'string'
    ? [v]
    : Array.isArray(v)
      ? v.flatMap(strings)
      : v && typeof v === 'object'
        ? Object.values(v).flatMap(strings)
        : [];

describe('webhook body formats', () => {
  it('sends the versioned event unchanged in the standard format', () => {
    const event = firing();
    expect(renderWebhookBody(event, 'standard')).toBe(serializeEvent(event));
  });

  it('renders an alert as a Slack message: linked title, the move against its threshold, the article, headlines', () => {
    const msg = JSON.parse(renderWebhookBody(firing(), 'slack'));
    expect(msg.text).toBe('Critical: NVDA fell 16.97 % in one session');
    const [title, fields, context, headlines] = msg.blocks;
    expect(title.text.text).toBe(
      `*<${PUBLIC_BASE_URL}/admin/alerts/alrt_01jjnvda0127|Critical: NVDA fell 16.97 % in one session>*`,
    );
    expect(fields.fields.map((f: { text: string }) => f.text)).toEqual([
      '*Symbol*\nNVDA',
      '*Move*\n-16.97 % (threshold -10.00 %)',
      '*Rule*\nAI leader one-day shock',
      '*Window*\n2025-01-27 14:30 UTC to 2025-01-27 21:00 UTC',
      '*Fired*\n2025-01-27 21:00 UTC',
    ]);
    expect(context.elements[0].text).toMatch(/^From the article: “Rund eine Billion Dollar/);
    expect(headlines.text.text).toBe(
      '*Headlines*\n• <https://news.example.com/deepseek-schock?src=rss&amp;id=42|Deepseek: KI-Schock kostet Tech-Branche eine Billion Dollar>',
    );
  });

  it('escapes Slack markup in text from feeds and refuses links that are not http(s)', () => {
    const msg = JSON.parse(
      renderWebhookBody(
        firing({
          title: 'NVDA <!channel> & <https://evil.example|click>',
          headlines: [{ title: 'Evil <!here>', link: 'javascript:alert(1)', publishedAt: null }],
        }),
        'slack',
      ),
    );
    expect(msg.text).toBe('Critical: NVDA &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    const all = strings(msg).join('\n');
    expect(all).not.toMatch(/<!channel>|<!here>|javascript:/);
    expect(msg.blocks.at(-1).text.text).toBe('*Headlines*\n• Evil &lt;!here&gt;');
  });

  it('renders an alert as a Discord embed that pings nobody, coloured by severity, within Discord’s limits', () => {
    const msg = JSON.parse(renderWebhookBody(firing(), 'discord'));
    expect(msg.allowed_mentions).toEqual({ parse: [] });
    expect(msg.content).toBeNull();
    const [embed] = msg.embeds;
    expect(embed.title).toBe('Critical: NVDA fell 16.97 % in one session');
    expect(embed.url).toBe(`${PUBLIC_BASE_URL}/admin/alerts/alrt_01jjnvda0127`);
    expect(embed.color).toBe(0xd93025);
    expect(embed.timestamp).toBe('2025-01-27T21:00:05.000Z');
    expect(embed.fields.map((f: { name: string }) => f.name)).toEqual(['Symbol', 'Move', 'Rule', 'Window', 'Fired']);
    expect(embed.fields[1].value).toBe('-16.97 % (threshold -10.00 %)');
    expect(embed.description).toContain(
      '• [Deepseek: KI-Schock kostet Tech-Branche eine Billion Dollar](https://news.example.com/deepseek-schock?src=rss&id=42)',
    );

    const long = JSON.parse(
      renderWebhookBody(
        firing({
          title: 'x'.repeat(5000),
          rule: { ...nvdaShock().rule, name: '@everyone '.repeat(400) },
          headlines: Array.from({ length: 50 }, (_, i) => ({
            title: `@here headline ${i} ${'y'.repeat(400)}`,
            link: null,
            publishedAt: null,
          })),
        }),
        'discord',
      ),
    );
    const e = long.embeds[0];
    expect(e.title.length).toBeLessThanOrEqual(256);
    expect(e.description.length).toBeLessThanOrEqual(4096);
    for (const f of e.fields) expect(f.value.length).toBeLessThanOrEqual(1024);
    expect(strings(e).join('').length).toBeLessThanOrEqual(6000);
    expect(strings(long).join('\n')).not.toMatch(/@everyone|@here/);
  });

  it('renders an alert as a Microsoft Teams Adaptive Card: facts, a button to the alert, plain feed text', () => {
    const msg = JSON.parse(
      renderWebhookBody(
        firing({
          headlines: [
            {
              title: '**Buy** [now](https://x.example) @everyone',
              link: 'https://news.example.com/a?b=1',
              publishedAt: null,
            },
            { title: 'No link here', link: 'javascript:alert(1)', publishedAt: null },
          ],
        }),
        'teams',
      ),
    );
    expect(msg.type).toBe('message');
    const [att] = msg.attachments;
    expect(att.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = att.content;
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(card.body[0]).toMatchObject({
      type: 'TextBlock',
      text: 'Critical: NVDA fell 16.97 % in one session',
      color: 'Attention',
    });
    expect(card.body[1]).toEqual({
      type: 'FactSet',
      facts: [
        { title: 'Symbol', value: 'NVDA' },
        { title: 'Move', value: '-16.97 % (threshold -10.00 %)' }, // no stray backslashes
        { title: 'Rule', value: 'AI leader one-day shock' },
        { title: 'Window', value: '2025-01-27 14:30 UTC to 2025-01-27 21:00 UTC' },
        { title: 'Fired', value: '2025-01-27 21:00 UTC' },
      ],
    });
    expect(card.body[2].text).toMatch(/^From the article: “Rund eine Billion Dollar/);
    expect(card.body[3].text).toBe(
      '• [\\*\\*Buy\\*\\* \\[now\\](https://x.example) @everyone](https://news.example.com/a?b=1)',
    );
    expect(card.body[4].text).toBe('• No link here');
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Open the alert', url: `${PUBLIC_BASE_URL}/admin/alerts/alrt_01jjnvda0127` },
    ]);
    expect(strings(msg).join('\n')).not.toContain('javascript:');
  });

  it('renders a resolved alert green, and the test event as plain text in every chat format', () => {
    const resolved = buildAlertEvent(nvdaShock({ status: 'resolved', resolvedAt: new Date('2025-01-29T21:00:00Z') }), {
      type: 'alert.resolved',
      timestamp: new Date('2025-01-29T21:00:00Z'),
    });
    const d = JSON.parse(renderWebhookBody(resolved, 'discord'));
    expect(d.embeds[0].color).toBe(0x188038);
    expect(d.embeds[0].title).toBe('Resolved: NVDA fell 16.97 % in one session');
    expect(d.embeds[0].url).toBeUndefined(); // no public URL known
    expect(d.embeds[0].fields.at(-1)).toEqual({ name: 'Resolved', value: '2025-01-29 21:00 UTC', inline: true });
    const marked = JSON.parse(
      renderWebhookBody(
        buildAlertEvent(
          nvdaShock({ headlines: [{ title: '**Buy** [now](https://x.example) `x`', link: null, publishedAt: null }] }),
          {
            type: 'alert.firing',
            timestamp: new Date(),
          },
        ),
        'discord',
      ),
    );
    expect(marked.embeds[0].description).toContain('• \\*\\*Buy\\*\\* \\[now\\](https://x.example) \\`x\\`');

    const test = buildTestEvent({ timestamp: new Date('2025-01-27T21:00:00Z'), endpointId: 'ep_1' });
    expect(JSON.parse(renderWebhookBody(test, 'slack')).text).toMatch(/^Test event from Market Signals/);
    expect(JSON.parse(renderWebhookBody(test, 'discord'))).toEqual({
      content: expect.stringMatching(/^Test event from Market Signals/),
      allowed_mentions: { parse: [] },
    });
    const teams = JSON.parse(renderWebhookBody(test, 'teams')).attachments[0].content;
    expect(teams.body).toEqual([
      { type: 'TextBlock', text: expect.stringMatching(/^Test event from Market Signals/), wrap: true },
    ]);
    expect(teams.actions).toBeUndefined();
    const resolvedCard = JSON.parse(renderWebhookBody(resolved, 'teams')).attachments[0].content;
    expect(resolvedCard.body[0].color).toBe('Good');

    // A line that would become a heading or a list item is escaped, and only then.
    const listy = firing({ rule: { ...nvdaShock().rule, name: '- # rule' } });
    const ruleField = (f: string) => JSON.parse(renderWebhookBody(listy, f as 'discord'));
    expect(ruleField('discord').embeds[0].fields[2].value).toBe('\\- # rule');
    expect(ruleField('teams').attachments[0].content.body[1].facts[2].value).toBe('\\- # rule');
  });

  it('renders service.degraded and service.recovered readably in every chat format, linked to the System page', () => {
    const degraded = buildServiceEvent(evaluationOutage(), { publicBaseUrl: PUBLIC_BASE_URL });
    const recovered = buildServiceEvent(evaluationOutage({ recoveredAt: new Date('2025-01-27T15:31:00Z') }), {
      publicBaseUrl: PUBLIC_BASE_URL,
    });
    const system = `${PUBLIC_BASE_URL}/admin/system`;

    const slack = JSON.parse(renderWebhookBody(degraded, 'slack'));
    expect(slack.text).toBe('Degraded: Rule evaluation has stopped');
    expect(slack.blocks[0].text.text).toBe(`*<${system}|Degraded: Rule evaluation has stopped>*`);
    expect(slack.blocks[1].fields.map((f: { text: string }) => f.text)).toEqual([
      '*Loop*\nRule evaluation (evaluate), every 300 s',
      '*Last success*\n2025-01-27 15:05 UTC',
      '*Overdue since*\n2025-01-27 15:20 UTC',
      '*Why*\nlast ran 1200 s ago, expected every 300 s',
    ]);

    const discord = JSON.parse(renderWebhookBody(degraded, 'discord'));
    expect(discord.embeds[0]).toMatchObject({
      title: 'Degraded: Rule evaluation has stopped',
      color: 0xd93025,
      url: system,
      timestamp: '2025-01-27T15:25:00.000Z',
    });
    expect(discord.allowed_mentions).toEqual({ parse: [] });
    const back = JSON.parse(renderWebhookBody(recovered, 'discord')).embeds[0];
    expect(back.title).toBe('Recovered: Rule evaluation runs again');
    expect(back.color).toBe(0x188038);
    expect(back.fields.at(-1)).toEqual({ name: 'Recovered', value: '2025-01-27 15:31 UTC', inline: true });

    const card = JSON.parse(renderWebhookBody(recovered, 'teams')).attachments[0].content;
    expect(card.body[0]).toMatchObject({ text: 'Recovered: Rule evaluation runs again', color: 'Good' });
    expect(card.body[1].facts[0]).toEqual({ title: 'Loop', value: 'Rule evaluation (evaluate), every 300 s' });
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open the System page', url: system }]);

    // Standard endpoints get the versioned event itself.
    expect(renderWebhookBody(degraded, 'standard')).toBe(serializeEvent(degraded));
  });
});
