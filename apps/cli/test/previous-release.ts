/**
 * The previous release, runnable: the annotated tag's tree (`git archive`), its dependencies
 * installed offline from the local pnpm store and its Prisma client generated as its bootstrap
 * does. Kept under the OS temp dir, keyed by the tag's commit, so a second run starts at once.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoPaths } from '@signals/db';

export const PREVIOUS_TAG = 'v0.15.0';
/**
 * The commit the tag points at, pinned here too: a clone made without tags (CI's is one) still has the
 * commit in its history, so the drill does not depend on tags travelling with the clone.
 */
export const PREVIOUS_COMMIT = '7d3f69abcfa235aedaa37a7c38640e2554fa26fd';

function resolveCommit(root: string, rev: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch {
    return null;
  }
}

/**
 * The previous release's commit: the tag's when the clone has the tag (and it must then be the pinned
 * commit), else the pinned commit from history; throws saying how to get it from a shallow clone.
 */
export function previousReleaseCommit(root = repoPaths().root): string {
  const tagged = resolveCommit(root, PREVIOUS_TAG);
  if (tagged && tagged !== PREVIOUS_COMMIT) {
    throw new Error(`tag ${PREVIOUS_TAG} points at ${tagged}, not at the pinned release commit ${PREVIOUS_COMMIT}`);
  }
  const commit = tagged ?? resolveCommit(root, PREVIOUS_COMMIT);
  if (commit) return commit;
  throw new Error(
    `the upgrade drill needs the previous release ${PREVIOUS_TAG} (commit ${PREVIOUS_COMMIT.slice(0, 12)}), ` +
      'which this clone does not have (a shallow clone). Fetch it with `git fetch --unshallow origin`, then ' +
      'run the test again.',
  );
}

/** The installed tree of the previous release (its path). */
export function installPreviousRelease(log: (line: string) => void = () => {}): { dir: string; commit: string } {
  const root = repoPaths().root;
  const commit = previousReleaseCommit(root);
  const dir = path.join(os.tmpdir(), `signals-release-${commit.slice(0, 12)}`);
  if (fs.existsSync(path.join(dir, '.ready'))) return { dir, commit };
  // Built beside, then renamed: a run killed halfway or a second run at the same time leaves no half tree.
  const building = `${dir}.building-${process.pid}`;
  fs.rmSync(building, { recursive: true, force: true });
  fs.mkdirSync(building, { recursive: true });
  try {
    log(`extracting ${PREVIOUS_TAG} (${commit.slice(0, 7)}) into ${dir}`);
    const tar = execFileSync('git', ['archive', '--format=tar', commit], { cwd: root, maxBuffer: 1 << 30 });
    execFileSync('tar', ['-x', '-C', building], { input: tar });
    log('installing its dependencies offline from the local pnpm store');
    execFileSync('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=silent'], {
      cwd: building,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: 'true' },
      timeout: 600_000,
    });
    // As its scripts/bootstrap.sh does.
    execFileSync(process.execPath, ['scripts/prisma-generate.mjs'], {
      cwd: building,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    fs.writeFileSync(path.join(building, '.ready'), `${commit}\n`);
    try {
      fs.renameSync(building, dir);
    } catch {
      // Another run finished first: use its tree.
      fs.rmSync(building, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(building, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`could not install ${PREVIOUS_TAG}: ${e.message}\n${e.stderr?.toString().slice(-2000) ?? ''}`);
  }
  return { dir, commit };
}
