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

/** The tag's commit; throws saying how to fetch the tag when the clone lacks it (shallow, no tags). */
export function previousReleaseCommit(root = repoPaths().root): string {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${PREVIOUS_TAG}^{commit}`], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch {
    throw new Error(
      `the upgrade drill needs the previous release's tag ${PREVIOUS_TAG}, which this clone does not have ` +
        '(a shallow clone, or one made without tags). Fetch it with `git fetch --tags origin` ' +
        '(`git fetch --unshallow --tags origin` for a shallow clone), then run the test again.',
    );
  }
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
