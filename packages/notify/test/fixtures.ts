import type { AlertView, IncidentView } from '@signals/notify';
import type { Logger } from '@signals/core';

export const PUBLIC_BASE_URL = 'https://signals.example.org';

const deepseekRule: AlertView['rule'] = {
  id: 'rule_deepseek_shock',
  name: 'AI leader one-day shock',
  description: 'A leader of the AI trade falls more than 10 % in one session.',
  sourceArticle: '004_a751d851a43831ac.txt',
  sourcePassage:
    'Rund eine Billion Dollar hat die westliche Tech-Branche am Montag an Börsenwert verloren, als ihnen ein kleines Start-up aus China urplötzlich das Geschäft streitig machen wollte.',
};

/** The example alert: NVDA on 27 January 2025 (DeepSeek). Also builds schema/example-alert-firing.json. */
export function nvdaShock(overrides: Partial<AlertView> = {}): AlertView {
  return {
    id: 'alrt_01jjnvda0127',
    title: 'NVDA fell 16.97 % in one session',
    symbol: 'NVDA',
    status: 'firing',
    severity: 'critical',
    value: -0.1697,
    threshold: -0.1,
    unit: 'fraction',
    windowStart: new Date('2025-01-27T14:30:00.000Z'),
    windowEnd: new Date('2025-01-27T21:00:00.000Z'),
    firedAt: new Date('2025-01-27T21:00:05.000Z'),
    resolvedAt: null,
    rule: deepseekRule,
    headlines: [
      {
        title: 'Deepseek: KI-Schock kostet Tech-Branche eine Billion Dollar',
        link: 'https://news.example.com/deepseek-schock?src=rss&id=42',
        publishedAt: new Date('2025-01-27T18:12:00.000Z'),
      },
    ],
    ...overrides,
  };
}

/** One rule firing for many symbols: a sector-wide sell-off. */
export function sellOff(symbols: readonly string[], severity: AlertView['severity'] = 'critical'): AlertView[] {
  return symbols.map((symbol, i) =>
    nvdaShock({
      id: `alrt_selloff_${symbol.toLowerCase()}`,
      title: `${symbol} fell in one session`,
      symbol,
      severity,
      value: -0.11 - i * 0.01,
      firedAt: new Date(Date.UTC(2025, 0, 27, 21, 0, 5 + i)),
    }),
  );
}

/** A Logger that keeps every line as JSON text, to search for leaked secrets. */
export function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (obj: object | string, msg?: string) => {
      lines.push(JSON.stringify({ level, ...bindings, ...(typeof obj === 'string' ? { msg: obj } : obj), msg2: msg }));
    };
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), { lines });
}

/** An outage of rule evaluation (a Redis flush took the job schedulers): builds schema/example-service-degraded.json. */
export function evaluationOutage(overrides: Partial<IncidentView> = {}): IncidentView {
  return {
    id: 'cm5incident0evaluate01',
    loop: 'evaluate',
    name: 'Rule evaluation',
    intervalSec: 300,
    since: new Date('2025-01-27T15:05:00.000Z'),
    overdueAt: new Date('2025-01-27T15:20:00.000Z'),
    degradedAt: new Date('2025-01-27T15:25:00.000Z'),
    recoveredAt: null,
    reason: 'last ran 1200 s ago, expected every 300 s',
    ...overrides,
  };
}
