// Is dist/ older than the sources? Shared by scripts/build.mjs (--if-stale) and its test.
// Compares the build stamp's mtime with the newest file among what the bundles are made of.
import fs from 'node:fs';
import path from 'node:path';

/** Written by scripts/build.mjs after a successful build. */
export const STAMP = '.build-stamp';

/** Folders (and files) whose files go into the bundles, relative to the repository root. */
export function sourceRoots(root) {
  const under = (dir) =>
    fs.existsSync(path.join(root, dir))
      ? fs
          .readdirSync(path.join(root, dir), { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => path.join(dir, d.name, 'src'))
      : [];
  return [
    ...under('apps'),
    ...under('packages'),
    'seeds',
    'prisma/schema.prisma',
    'package.json',
    'pnpm-lock.yaml',
    'scripts/build.mjs',
    'scripts/build-stale.mjs',
  ];
}

/** The newest source file's mtime (ms) and its path; test folders and node_modules are skipped. */
export function newestSource(root) {
  let newest = { ms: 0, file: '' };
  const visit = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p)) if (name !== 'node_modules' && name !== 'test') visit(path.join(p, name));
    } else if (st.mtimeMs > newest.ms) newest = { ms: st.mtimeMs, file: p };
  };
  for (const r of sourceRoots(root)) visit(path.join(root, r));
  return newest;
}

/** A reason to build (a sentence), or null when dist/ is up to date. */
export function staleReason(root) {
  let built;
  try {
    built = fs.statSync(path.join(root, 'dist', STAMP)).mtimeMs;
  } catch {
    return 'dist/ has not been built';
  }
  const n = newestSource(root);
  return n.ms > built ? `${path.relative(root, n.file)} is newer than dist/` : null;
}

export const isStale = (root) => staleReason(root) !== null;
