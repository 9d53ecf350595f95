/**
 * The previous release, runnable: the annotated tag's tree (`git archive`), its dependencies
 * installed offline from the local pnpm store and its Prisma client generated as its bootstrap
 * does. Kept under the OS temp dir, keyed by the tag's commit, so a second run starts at once.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoPaths } from '@signals/db';

const execFileAsync = promisify(execFile);

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

/** True while the process is alive (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `lock` (a file holding the builder's pid), or waits while a live process holds it, then
 * answers whether the tree got ready meanwhile. A lock whose process is gone is taken over.
 */
async function lockOrReady(lock: string, ready: string, log: (line: string) => void): Promise<boolean> {
  let said = false;
  for (;;) {
    if (fs.existsSync(ready)) return true;
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(fs.readFileSync(lock, 'utf8').trim());
    if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
      // Its builder is gone (a run that ended before its head start did): so is its half tree.
      if (Number.isInteger(holder))
        fs.rmSync(`${lock.slice(0, -'.lock'.length)}.building-${holder}`, { recursive: true, force: true });
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (!said) log(`waiting for process ${holder}, which is installing ${PREVIOUS_TAG}`);
    said = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The installed tree of the previous release (its path). Asynchronous, so the test's event loop
 * (and the vitest main process, where the global setup starts it as a head start for the drill)
 * stays free while it installs; one process installs at a time, the others wait for its tree.
 */
export async function installPreviousRelease(
  log: (line: string) => void = () => {},
  /** Aborts the install (its child processes too): the global setup's teardown, when no drill waited. */
  signal?: AbortSignal,
): Promise<{ dir: string; commit: string }> {
  const root = repoPaths().root;
  const commit = previousReleaseCommit(root);
  const dir = path.join(os.tmpdir(), `signals-release-${commit.slice(0, 12)}`);
  const ready = path.join(dir, '.ready');
  if (fs.existsSync(ready)) return { dir, commit };
  const lock = `${dir}.lock`;
  if (await lockOrReady(lock, ready, log)) return { dir, commit };
  // Built beside, then renamed: a run killed halfway leaves no half tree.
  const building = `${dir}.building-${process.pid}`;
  fs.rmSync(building, { recursive: true, force: true });
  fs.mkdirSync(building, { recursive: true });
  try {
    log(`extracting ${PREVIOUS_TAG} (${commit.slice(0, 7)}) into ${dir}`);
    const tar = `${building}.tar`;
    await execFileAsync('git', ['archive', '--format=tar', `--output=${tar}`, commit], { cwd: root, signal });
    await execFileAsync('tar', ['-x', '-C', building, '-f', tar], { signal });
    fs.rmSync(tar, { force: true });
    log('installing its dependencies offline from the local pnpm store');
    await execFileAsync('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=silent'], {
      cwd: building,
      env: { ...process.env, CI: 'true' },
      timeout: 600_000,
      maxBuffer: 64 << 20,
      signal,
    });
    // As its scripts/bootstrap.sh does.
    await execFileAsync(process.execPath, ['scripts/prisma-generate.mjs'], {
      cwd: building,
      timeout: 300_000,
      maxBuffer: 64 << 20,
      signal,
    });
    fs.writeFileSync(path.join(building, '.ready'), `${commit}\n`);
    try {
      fs.renameSync(building, dir);
    } catch {
      // A tree from before the lock existed: use it.
      fs.rmSync(building, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(building, { recursive: true, force: true });
    fs.rmSync(`${building}.tar`, { force: true });
    const e = err as { stderr?: string | Buffer; message: string };
    throw new Error(`could not install ${PREVIOUS_TAG}: ${e.message}\n${e.stderr?.toString().slice(-2000) ?? ''}`);
  } finally {
    fs.rmSync(lock, { force: true });
  }
  return { dir, commit };
}
