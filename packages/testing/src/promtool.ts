/**
 * `promtool check metrics`, Prometheus' own linter of the text exposition format (HELP and TYPE
 * for every metric, counters ending in _total, base units, no duplicate series...), run on a
 * /metrics body the way an operator would pipe it in. promtool comes with Debian's `prometheus`
 * package (`apt-get install -y prometheus`; the test command installs it when missing and root).
 */
import { spawn } from 'node:child_process';

/** promtool's findings (empty when clean) and its exit code. Throws when promtool is not installed. */
export function promtoolCheckMetrics(body: string): Promise<{ code: number | null; findings: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PROMTOOL_PATH ?? 'promtool', ['check', 'metrics'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error('promtool is not installed: apt-get install -y prometheus (or set PROMTOOL_PATH)')
          : err,
      ),
    );
    child.once('close', (code) => resolve({ code, findings: out.trim() }));
    child.stdin.end(body);
  });
}
