import type { Logger } from '@signals/core';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

/** A Logger that keeps every line, so tests can assert "a clear log line". */
export function captureLogger(): Logger & { lines: LogLine[]; find(level: LogLine['level'], re: RegExp): LogLine[] } {
  const lines: LogLine[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogLine['level']) =>
      (obj: object | string, msg?: string): void => {
        if (typeof obj === 'string') lines.push({ level, obj: { ...bindings }, msg: obj });
        else lines.push({ level, obj: { ...bindings, ...(obj as Record<string, unknown>) }, msg: msg ?? '' });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  const root = make({});
  return Object.assign(root, {
    lines,
    find: (level: LogLine['level'], re: RegExp) => lines.filter((l) => l.level === level && re.test(l.msg)),
  });
}
