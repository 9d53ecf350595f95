import type { Reporter, TestModule } from 'vitest/node';

/** A test file that takes longer than this (its tests and hooks) is listed as slow (issue 19 item 6). */
const SLOW_FILE_MS = 30_000;

/**
 * Prints the files slower than SLOW_FILE_MS, slowest first (their tests and hooks, as vitest
 * measured them), then one plain closing line, "N passed, N failed, N skipped", that any CI can read.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const slow = modules
      .map((m) => ({ file: m.relativeModuleId, ms: m.diagnostic().duration }))
      .filter((f) => f.ms > SLOW_FILE_MS)
      .sort((a, b) => b.ms - a.ms);
    if (slow.length) {
      process.stdout.write(`\nfiles over ${SLOW_FILE_MS / 1000} s:\n`);
      for (const f of slow) process.stdout.write(`  ${(f.ms / 1000).toFixed(1).padStart(6)} s  ${f.file}\n`);
    }
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      let moduleFailures = 0;
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') passed++;
        else if (s === 'failed') {
          failed++;
          moduleFailures++;
        } else skipped++;
      }
      // A file that failed outside its tests (import error, failing beforeAll) counts as a failure.
      if (m.state() === 'failed' && moduleFailures === 0) failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
