/**
 * Operators' templates at send time on the other channels: the email subject and body (the
 * preferences and unsubscribe links kept, List-Unsubscribe headers untouched) and a Slack-format
 * webhook's text (still signed). Real SMTP server in-process, a receiver verifying signatures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '@signals/notify';
import { createTestDb, startSmtpSink, startWebhookReceiver, type TestDb, testPrefix } from '@signals/testing';
import { alertFor, seedScenario, startHarness, until } from './helpers.ts';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

/** An SMTP sink, a receiver verifying signatures and an in-process worker (templates read afresh) for `fn`. */
async function sending(
  label: string,
  fn: (o: {
    sink: Awaited<ReturnType<typeof startSmtpSink>>;
    secret: string;
    receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
    h: Awaited<ReturnType<typeof startHarness>>;
  }) => Promise<void>,
) {
  const sink = await startSmtpSink();
  const secret = generateSecret();
  const receiver = await startWebhookReceiver({ secret });
  const h = await startHarness({ prisma: db.prisma, prefix: testPrefix(label), smtpUrl: sink.url });
  h.ctx.templateCacheMs = 0;
  try {
    await fn({ sink, secret, receiver, h });
  } finally {
    await db.prisma.messageTemplate.deleteMany();
    await h.close();
    await sink.close();
    await receiver.close();
  }
}

describe('templates on email and chat webhooks', () => {
  it('sends the templated subject, body and Slack text', async () => {
    await sending('tpl', async ({ sink, secret, receiver, h }) => {
      const s = await seedScenario(db.prisma, { subscribers: [{ email: 'tpl-mail@example.com' }] });
      await db.prisma.webhookEndpoint.create({ data: { url: receiver.url, secret, format: 'slack' } });
      await db.prisma.messageTemplate.createMany({
        data: [
          { key: 'email.subject', source: '[{{ alert.severity | upcase }}] {{ alert.symbol }} {{ alert.valueText }}' },
          { key: 'email.body', source: 'Heads up: {{ alert.title }}.\nRule: {{ alert.rule.name }}' },
          {
            key: 'slack',
            source: ':rotating_light: *{{ alert.symbol }}* {{ alert.valueText }} <{{ alert.url }}|open>',
          },
        ],
      });
      await h.fanOut(alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z')));
      // The first render starts a template thread: slow on a loaded machine.
      await until(async () => sink.messages.length >= 1 && receiver.requests.length >= 1, 90_000);
      const mail = sink.messages[0];
      expect(mail?.subject).toMatch(/^\[CRITICAL\] NVDA -16\.9/);
      expect(mail?.text).toContain('Heads up: NVDA fell 16.9% in one session.');
      expect(mail?.text).toMatch(/Unsubscribe: http:\/\/signals\.test\/unsubscribe\?token=/);
      expect(mail?.headers['list-unsubscribe']).toMatch(/unsubscribe\?token=/);
      // The HTML part shows the same text, escaped (the rule name holds markup).
      expect(mail?.html).toContain('DeepSeek shock &lt;b&gt;');
      const hook = receiver.requests[0];
      expect(hook?.verified).toBe(true);
      expect(hook?.body).toEqual({ text: expect.stringMatching(/^:rotating_light: \*NVDA\* -16\.9.+\|open>$/) });
    });
  }, 120_000);

  it('escapes feed text for Slack, Discord and Teams, with the payloads of the review', async () => {
    await sending('tpl-esc', async ({ secret, receiver, h }) => {
      const s = await seedScenario(db.prisma);
      for (const format of ['slack', 'discord', 'teams'] as const) {
        await db.prisma.webhookEndpoint.create({ data: { url: `${receiver.url}/${format}`, secret, format } });
      }
      const source = '{{ alert.symbol }}: {% for h in alert.headlines %}{{ h.title }}{% endfor %}';
      await db.prisma.messageTemplate.createMany({
        data: ['slack', 'discord', 'teams'].map((key) => ({ key, source })),
      });
      const headline =
        '<!channel> <https://evil.example|Re-authenticate> @everyone [Re-authenticate](https://evil.example)';
      const alert = alertFor(s.rule.id, new Date('2025-01-28T21:00:00Z'));
      await h.fanOut({ ...alert, details: { headlines: [{ title: headline, link: null, publishedAt: null }] } });
      await until(async () => receiver.requests.length >= 3, 90_000);
      const by = (format: string) => receiver.requests.find((r) => r.path.endsWith(`/${format}`));
      expect(by('slack')?.verified).toBe(true);
      expect(by('slack')?.body).toEqual({
        text: 'NVDA: &lt;!channel&gt; &lt;https://evil.example|Re-authenticate&gt; @everyone [Re-authenticate](https://evil.example)',
      });
      expect(by('discord')?.body).toEqual({
        content:
          'NVDA: \\<!channel\\> \\<https://evil.example|Re-authenticate\\> \\@everyone \\[Re\\-authenticate\\]\\(https://evil.example\\)',
        allowed_mentions: { parse: [] },
      });
      const card = JSON.stringify(by('teams')?.body);
      expect(card).toContain('\\\\[Re-authenticate\\\\]\\\\(https://evil.example\\\\)');
      expect(card).not.toContain('[Re-authenticate](https://evil.example)');
    });
  }, 120_000);
});
