/**
 * How this product's Node processes start one another: from the production build (dist/*.mjs,
 * made by scripts/build.mjs, run with plain `node`) or from the TypeScript sources under tsx
 * (development and tests). A process started from the build starts its children from the build;
 * one started under tsx starts them under tsx. The run command (scripts/run.sh) builds first when
 * dist/ is missing or older than the sources, then runs dist/supervisor.mjs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_NAME } from './version.ts';

/** Set to `true` by scripts/build.mjs (esbuild `define`); undeclared under tsx and vitest. */
declare const __SIGNALS_BUILD__: boolean | undefined;

/** True in a process that runs the production build. */
export const isBuilt: boolean = typeof __SIGNALS_BUILD__ !== 'undefined' && __SIGNALS_BUILD__ === true;

/** The bundles scripts/build.mjs makes (dist/<name>.mjs) and the sources they are made from. */
export const ENTRY_SOURCES = {
  supervisor: 'apps/cli/src/supervisor.ts',
  server: 'apps/server/src/main.ts',
  worker: 'apps/worker/src/main.ts',
  cli: 'apps/cli/src/main.ts',
  keeper: 'apps/cli/src/keeper.ts',
} as const;
export type EntryName = keyof typeof ENTRY_SOURCES;

/**
 * V8 flags of the server and the worker (run command, Docker image, compose). An old generation of
 * 512 MB makes V8 grow the heap in smaller steps: the worker's peak during a 10,000-subscriber
 * email fan-out fell from ~245 to ~170 MB (bench/memory.bench.ts), and 512 MB is three times that
 * peak (`--optimize-for-size` gave ~150 MB but a slower fan-out).
 *
 * The young generation is 8 MB per semi-space (V8's default grows it to 16 MB). At 2 MB both
 * processes spent a large share of their CPU in the scavenger under load. Back to back on a quiet
 * machine: the worker sent email at 524 -> 787/s and webhooks at 1,358 -> 1,982/s (`pnpm bench
 * delivery`, peak 177 -> 192 MB; 16 MB gave the same speed at 211 MB), and the server answered
 * 1,378 -> 1,641 /subscribe, 344 -> 416 /api/alerts and 925 -> 1,305 /healthz per second
 * (`pnpm bench http`).
 */
export const NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=512'];

/** The V8 flags `entry` runs with from the build (the same for every process today). */
export function nodeFlags(_entry: EntryName): string[] {
  return NODE_FLAGS;
}

let root: string | undefined;

/** The repository (or image) root: the folder of the package.json named market-signals. */
export function repoRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === APP_NAME) {
      root = dir;
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json named "${APP_NAME}" above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * Command and arguments that run `entry` the way this process runs: `node <flags> dist/<entry>.mjs`
 * from the build, `node --import tsx <source>` otherwise. `mode` overrides (tests).
 */
export function nodeCommand(
  entry: EntryName,
  args: string[] = [],
  mode: 'built' | 'source' = isBuilt ? 'built' : 'source',
): { command: string; args: string[] } {
  const r = repoRoot();
  return mode === 'built'
    ? { command: process.execPath, args: [...nodeFlags(entry), path.join(r, 'dist', `${entry}.mjs`), ...args] }
    : { command: process.execPath, args: ['--import', 'tsx', path.join(r, ENTRY_SOURCES[entry]), ...args] };
}
