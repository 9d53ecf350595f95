import {
  createToken,
  escapeHtml,
  formatValue,
  groupAlerts,
  hashToken,
  html,
  redactSecrets,
  redactUrl,
  renderAlertEmail,
  renderConfirmationEmail,
  renderDigestEmail,
  renderEndpointDisabledEmail,
  renderServiceEventEmail,
  buildServiceEvent,
  safeHref,
} from '@signals/notify';
import { describe, expect, it } from 'vitest';
import { evaluationOutage, nvdaShock, PUBLIC_BASE_URL, sellOff } from './fixtures.ts';

describe('html escaping', () => {
  it('escapes every interpolated value, but not nested templates', () => {
    const name = `<script>alert("x")</script> & 'co'`;
    const out = html`<p title="${name}">${name}${html`<b>${name}</b>`}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;');
    expect(out).toContain('<b>&lt;script&gt;');
    expect(escapeHtml('"><img src=x onerror=alert(1)>')).toBe('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  it('keeps only http(s) links', () => {
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,<b>x</b>')).toBeNull();
    expect(safeHref('not a url')).toBeNull();
    expect(safeHref('https://news.example.com/a?b=1')).toBe('https://news.example.com/a?b=1');
  });
});

describe('formatting', () => {
  it('formats every unit the way core does (one function for every surface)', () => {
    expect(formatValue(-0.1697, 'fraction')).toBe('-16.97 %');
    expect(formatValue(0.005, 'fraction')).toBe('+0.50 %');
    expect(formatValue(123.456, 'price')).toBe('123.46');
    expect(formatValue(3.21, 'multiple')).toBe('3.2x');
    expect(formatValue(-10.8199, 'sd')).toBe('-10.8 sd');
    expect(formatValue(3, 'count')).toBe('3 items');
  });
});

describe('tokens', () => {
  it('creates 32-byte base64url tokens and stores only their sha256', () => {
    const a = createToken();
    const b = createToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashToken(a)).not.toContain(a);
  });
});

describe('redaction', () => {
  it('masks passwords and query values in URLs, and known secrets in text', () => {
    expect(redactUrl('smtp://user:hunter2pw@mail.example.org:587')).toBe('smtp://user:***@mail.example.org:587');
    expect(redactUrl('https://hooks.example.com/x?token=abc123&team=t1#frag')).toBe(
      'https://hooks.example.com/x?token=***&team=***',
    );
    expect(redactUrl('not a url with a s3cret')).toBe('<invalid url>');
    // Chat webhooks carry their secret in the path or the query.
    expect(redactUrl('https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/Xq7ZbN2pLm4Rt8Vw1Ys3Kd9F')).toBe(
      'https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/***',
    );
    expect(
      redactUrl('https://discord.com/api/webhooks/1234567890123456789/aB3_dE5-fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9'),
    ).toBe('https://discord.com/api/webhooks/1234567890123456789/***'); // the id is not a secret
    expect(
      redactUrl(
        'https://prod-12.westus.logic.azure.com:443/workflows/0f1e2d3c/triggers/manual/paths/invoke?api-version=2016-06-01&sig=AbC123xyz',
      ),
    ).toBe(
      'https://prod-12.westus.logic.azure.com/workflows/0f1e2d3c/triggers/manual/paths/invoke?api-version=***&sig=***',
    );
    expect(redactUrl('https://example.org/hooks/signals/v2')).toBe('https://example.org/hooks/signals/v2');
    expect(redactSecrets('key whsec_QUJDREVGR0g= and QUJDREVGR0g= and pw', ['whsec_QUJDREVGR0g='])).toBe(
      'key *** and *** and pw',
    );
  });
});

describe('confirmation email', () => {
  it('links to /confirm with the token and escapes the address', () => {
    const m = renderConfirmationEmail({
      publicBaseUrl: `${PUBLIC_BASE_URL}/`,
      email: 'a<b>@example.org',
      token: 'tok_-x',
    });
    expect(m.text).toContain(`${PUBLIC_BASE_URL}/confirm?token=tok_-x`);
    expect(m.html).toContain(`href="${PUBLIC_BASE_URL}/confirm?token=tok_-x"`);
    expect(m.html).toContain('a&lt;b&gt;@example.org');
    expect(m.headers).toEqual({});
  });
});

describe('alert email', () => {
  it('shows move, window, threshold, rule, article passage, headlines, admin link and unsubscribe', () => {
    const m = renderAlertEmail({ alert: nvdaShock(), publicBaseUrl: PUBLIC_BASE_URL, unsubscribeToken: 'utok' });
    expect(m.subject).toBe('[critical] NVDA fell 16.97 % in one session');
    for (const part of [m.text, m.html]) {
      expect(part).toContain('-16.97 %');
      expect(part).toContain('-10.00 %');
      expect(part).toContain('2025-01-27 14:30 UTC to 2025-01-27 21:00 UTC');
      expect(part).toContain('AI leader one-day shock');
      expect(part).toContain('004_a751d851a43831ac.txt');
      expect(part).toContain('Börsenwert');
      expect(part).toContain('Deepseek: KI-Schock');
      expect(part).toContain(`${PUBLIC_BASE_URL}/preferences?token=utok`);
    }
    expect(m.text).toContain(`${PUBLIC_BASE_URL}/admin/alerts/alrt_01jjnvda0127`);
    expect(m.text).toContain(`${PUBLIC_BASE_URL}/unsubscribe?token=utok`);
    expect(m.html).toContain(`href="${PUBLIC_BASE_URL}/admin/alerts/alrt_01jjnvda0127"`);
    expect(m.html).toContain(`href="${PUBLIC_BASE_URL}/unsubscribe?token=utok"`);
    expect(m.html).toContain('href="https://news.example.com/deepseek-schock?src=rss&amp;id=42"');
    expect(m.headers).toEqual({
      'List-Unsubscribe': `<${PUBLIC_BASE_URL}/unsubscribe?token=utok>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });

  it('does not turn a javascript: headline into a link, and escapes it', () => {
    const m = renderAlertEmail({
      alert: nvdaShock({ headlines: [{ title: '<img src=x>', link: 'javascript:alert(1)', publishedAt: null }] }),
      publicBaseUrl: PUBLIC_BASE_URL,
      unsubscribeToken: 'u',
    });
    expect(m.html).not.toContain('javascript:');
    expect(m.html).toContain('<li>&lt;img src=x&gt;</li>');
  });

  it('marks resolved alerts in the subject', () => {
    const m = renderAlertEmail({
      alert: nvdaShock({ status: 'resolved', resolvedAt: new Date('2025-01-28T21:00:00Z') }),
      publicBaseUrl: PUBLIC_BASE_URL,
      unsubscribeToken: 'u',
    });
    expect(m.subject.startsWith('[resolved] ')).toBe(true);
    expect(m.text).toContain('Resolved at: 2025-01-28 21:00 UTC');
  });
});

describe('digest', () => {
  it('groups by rule and severity, most severe first', () => {
    const semis = sellOff(['NVDA', 'AMD', 'AVGO', 'TSM', 'ASML']);
    const other = nvdaShock({
      id: 'a_capex',
      symbol: 'MSFT',
      severity: 'warning',
      rule: { id: 'rule_capex', name: 'Capex warning', description: null, sourceArticle: null, sourcePassage: null },
    });
    const groups = groupAlerts([other, ...semis]);
    expect(groups.map((g) => [g.rule.name, g.severity, g.alerts.length])).toEqual([
      ['AI leader one-day shock', 'critical', 5],
      ['Capex warning', 'warning', 1],
    ]);
    // The same rule at another severity is another group.
    expect(groupAlerts([...semis, ...sellOff(['INTC'], 'warning')])).toHaveLength(2);
  });

  it('a sector-wide sell-off is one message naming its symbols', () => {
    const m = renderDigestEmail({
      alerts: sellOff(['NVDA', 'AMD', 'AVGO', 'TSM', 'ASML', 'ARM']),
      publicBaseUrl: PUBLIC_BASE_URL,
      unsubscribeToken: 'u',
    });
    expect(m.subject).toBe('[critical] AI leader one-day shock: 6 alerts (NVDA, AMD, AVGO, TSM, +2)');
    for (const s of ['NVDA', 'AMD', 'AVGO', 'TSM', 'ASML', 'ARM']) expect(m.text).toContain(`- ${s}: `);
    // Shared headlines appear once.
    expect(m.text.match(/Deepseek: KI-Schock/g)).toHaveLength(1);
    expect(m.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(() => renderDigestEmail({ alerts: [], publicBaseUrl: PUBLIC_BASE_URL, unsubscribeToken: 'u' })).toThrow();
  });
});

describe('endpoint disabled notice', () => {
  it('links to the endpoint page and hides the URL query', () => {
    const m = renderEndpointDisabledEmail({
      publicBaseUrl: PUBLIC_BASE_URL,
      endpoint: { id: 'ep_1', url: 'https://hooks.example.com/in?token=sekrit', description: 'Trading desk' },
      reason: 'answered 410 Gone',
      disabledAt: new Date('2025-02-01T10:00:00Z'),
      lastStatusCode: 410,
    });
    expect(m.subject).toContain('https://hooks.example.com/in?token=***');
    expect(m.text + m.html + m.subject).not.toContain('sekrit');
    expect(m.html).toContain(`href="${PUBLIC_BASE_URL}/admin/endpoints/ep_1"`);
    expect(m.text).toContain('Reason: answered 410 Gone');
  });
});

describe('service degraded and recovered notices (to admins)', () => {
  it('names the loop, when it last ran and links to the System page; the recovery says so in the subject', () => {
    const degraded = renderServiceEventEmail({
      publicBaseUrl: PUBLIC_BASE_URL,
      event: buildServiceEvent(evaluationOutage(), {}),
    });
    expect(degraded.subject).toBe('[Market Signals] Degraded: Rule evaluation has stopped');
    expect(degraded.text).toContain('Last success before: 2025-01-27 15:05 UTC');
    expect(degraded.text).toContain('Overdue since: 2025-01-27 15:20 UTC');
    expect(degraded.html).toContain(`href="${PUBLIC_BASE_URL}/admin/system"`);
    const recovered = renderServiceEventEmail({
      publicBaseUrl: PUBLIC_BASE_URL,
      event: buildServiceEvent(evaluationOutage({ recoveredAt: new Date('2025-01-27T15:31:00Z') }), {}),
    });
    expect(recovered.subject).toBe('[Market Signals] Recovered: Rule evaluation runs again');
    expect(recovered.text).toContain('Recovered: 2025-01-27 15:31 UTC');
    const never = renderServiceEventEmail({
      publicBaseUrl: PUBLIC_BASE_URL,
      event: buildServiceEvent(evaluationOutage({ since: null, name: 'Delivery <sweep>' }), {}),
    });
    expect(never.text).toContain('Last success before: never ran');
    expect(never.html).toContain('Delivery &lt;sweep&gt;');
  });
});
