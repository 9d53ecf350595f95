// The production build (`pnpm build`; the run command and the Docker image call it): one ES module
// bundle per process in dist/, run with plain `node`. Development and tests keep running the
// TypeScript sources under tsx.
//
// Why esbuild and not `tsc -b` or tsdown: the workspace packages export their .ts sources with .ts
// import specifiers (`exports: "./src/index.ts"`), so a per-package emit would need every specifier
// and every package.json rewritten; a bundle follows the sources as they are, builds the whole tree
// in a second or two with no network (esbuild is already installed with tsx), and leaves every
// npm dependency external: Prisma's client and its WebAssembly, pg, bullmq, nodemailer... load from
// node_modules as they do under tsx. Type checking stays `pnpm typecheck` (tsc), as before.
//
// Two details keep the bundles behaving like the sources:
// - External imports are written as paths relative to dist/ of the file Node would load from the
//   importing package (pnpm keeps each package's dependencies beside it, not in the root
//   node_modules, so a bare specifier would not resolve from dist/).
// - A workspace module keeps its own location: `import.meta.url` (dirname, filename) in it means its
//   source file, so the paths it derives (assets, migrations, the package root, createRequire) hold.
//
// Usage: node scripts/build.mjs [--if-stale] [--quiet]
//   --if-stale  build only when dist/ is missing or older than a source (what the run command does)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP, staleReason } from './build-stale.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');

/**
 * One bundle per process and per worker-thread entry the code spawns (`new Worker(`). The process
 * entries are also listed in packages/config/src/launch.ts (ENTRY_SOURCES), which starts them.
 */
const ENTRIES = {
  // The run command's process manager: checks services, prepares the database (in a child), runs server + worker.
  supervisor: 'apps/cli/src/supervisor.ts',
  server: 'apps/server/src/main.ts',
  worker: 'apps/worker/src/main.ts',
  // `node dist/cli.mjs <command>`: the operator commands (backup, restore, migrate, ...) without tsx.
  cli: 'apps/cli/src/main.ts',
  // Keeper of an embedded Postgres / Redis (apps/cli/src/embedded.ts).
  keeper: 'apps/cli/src/keeper.ts',
  // Worker threads: operators' template renders (@signals/notify custom/pool.ts) and the server's
  // rule previews / API backtests (apps/server/src/services/backtest-runner.ts).
  'template-thread': 'packages/notify/src/custom/thread.ts',
  'backtest-thread': 'apps/server/src/services/backtest-thread.ts',
};

if (args.has('--if-stale')) {
  const why = staleReason(root);
  if (!why) process.exit(0);
  console.log(`Building dist/: ${why}`);
}

const esbuild = await import('esbuild');

const inNodeModules = (p) => p.split(path.sep).includes('node_modules');

/** @type {import('esbuild').Plugin} */
const externals = {
  name: 'node-modules-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (a) => {
      if (a.path.startsWith('node:') || a.pluginData?.inner) return undefined;
      const r = await build.resolve(a.path, {
        kind: a.kind,
        importer: a.importer,
        resolveDir: a.resolveDir,
        pluginData: { inner: true },
      });
      if (r.errors.length) return { errors: r.errors };
      // A Node builtin without the node: prefix ("fs"), left as written.
      if (r.external) return { path: a.path, external: true };
      if (!inNodeModules(r.path)) return undefined; // a workspace package: bundled
      let rel = path.relative(dist, r.path).split(path.sep).join('/');
      if (!rel.startsWith('.')) rel = `./${rel}`;
      // No dependency is imported for its side effects alone (`import 'x'`, none in our sources):
      // an import whose bindings tree shaking removed is dropped, so a process never loads a
      // library it does not call (the supervisor and pino, say).
      return { path: rel, external: true, sideEffects: false };
    });
  },
};

/** `import.meta.url` of a workspace module is its source file's URL (see the header). */
const ownLocation = {
  name: 'own-location',
  setup(build) {
    build.onLoad({ filter: /\.(ts|mts|mjs|js)$/ }, async (a) => {
      if (inNodeModules(a.path)) return undefined;
      let text = await fs.promises.readFile(a.path, 'utf8');
      if (text.includes('import.meta.')) {
        const rel = JSON.stringify(path.relative(dist, a.path).split(path.sep).join('/'));
        const url = `new URL(${rel}, import.meta.url).href`;
        text = text
          .replaceAll('import.meta.url', `(${url})`)
          .replaceAll('import.meta.dirname', `__signalsPath.dirname(__signalsUrl.fileURLToPath(${url}))`)
          .replaceAll('import.meta.filename', `__signalsUrl.fileURLToPath(${url})`);
        if (text.includes('__signals'))
          text = `import __signalsPath from 'node:path';\nimport * as __signalsUrl from 'node:url';\n${text}`;
      }
      return { contents: text, loader: a.path.endsWith('ts') ? 'ts' : 'js' };
    });
  },
};

const started = Date.now();
fs.rmSync(dist, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ENTRIES,
  outdir: dist,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  // Node's own resolution for the externals: "main", never the bundler-only "module" field/condition.
  mainFields: ['main'],
  conditions: [],
  // Shared modules in chunks: the cli and the supervisor load only the commands they run.
  splitting: true,
  // In dist/ itself like the entries: the externals' relative paths hold from every output file.
  chunkNames: '_[name]-[hash]',
  sourcemap: 'linked',
  // Code that asks "am I the build?" (launch.ts, the thread pools) sees this constant.
  define: { __SIGNALS_BUILD__: 'true' },
  plugins: [externals, ownLocation],
  logLevel: 'warning',
  metafile: true,
});
if (result.errors.length) process.exit(1);
fs.writeFileSync(path.join(dist, STAMP), `${new Date().toISOString()}\n`);
if (!quiet) {
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([f]) => f.endsWith('.mjs'))
    .reduce((n, [, o]) => n + o.bytes, 0);
  console.log(
    `built dist/ (${Object.keys(ENTRIES).length} entries, ${(bytes / 1e6).toFixed(1)} MB of JS) in ${Date.now() - started} ms`,
  );
}
