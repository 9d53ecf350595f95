/**
 * `pnpm cli start` (what the README's run command ends in): checks Postgres and Redis, creates the
 * database, migrates, seeds, starts the mail catcher when SMTP_URL is unset, then runs the server
 * and the worker as child processes and prints the admin URL once /healthz answers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { type Env, publicBaseUrl, redactUrl } from '@signals/config';
import { createDatabaseIfMissing, createPrisma, migrate, repoPaths } from '@signals/db';
import { startMailCatcher } from './mailcatcher.ts';
import { checkServices } from './preflight.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function waitForHealth(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

export async function start(env: Env): Promise<void> {
  const problem = await checkServices(env.DATABASE_URL, env.REDIS_URL);
  if (problem) {
    process.stderr.write(`\n${problem}\n\n`);
    process.exit(1);
  }
  if (await createDatabaseIfMissing(env.DATABASE_URL)) say(`Created database ${redactUrl(env.DATABASE_URL)}`);
  const applied = await migrate(env.DATABASE_URL);
  say(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date');

  const prisma = createPrisma({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
  try {
    const { loadSeeds } = await import('@signals/seeds');
    const r = await loadSeeds(prisma);
    say(`Seeds loaded: ${r.watchlists} watchlists, ${r.instruments} instruments, ${r.feeds} feeds, ${r.rules} rules`);
  } finally {
    await prisma.$disconnect();
  }

  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  let mail: Awaited<ReturnType<typeof startMailCatcher>> | undefined;
  if (!env.SMTP_URL) {
    mail = await startMailCatcher({ smtpPort: 1025, httpPort: 8025, dir: path.join(repoPaths().root, '.data/mail') });
    childEnv.SMTP_URL = mail.smtpUrl;
  }

  const root = repoPaths().root;
  const children: ChildProcess[] = [];
  const run = (name: string, entry: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(`${name} exited (${signal ?? code}); stopping.\n`);
        void stop(1);
      }
    });
    children.push(child);
  };

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    await mail?.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  run('server', 'apps/server/src/main.ts');
  run('worker', 'apps/worker/src/main.ts');

  const base = publicBaseUrl(env);
  const local = `http://127.0.0.1:${env.PORT}`;
  if (await waitForHealth(`${local}/healthz`, 60_000)) {
    say('');
    say(`  Market Signals is running.`);
    say(`  Admin page:      ${base}/admin`);
    say(`  Subscribe page:  ${base}/subscribe`);
    say(`  Health:          ${base}/healthz   Metrics: ${base}/metrics`);
    if (mail)
      say(
        `  Mail catcher:    ${mail.inboxUrl}  (SMTP_URL is unset: every email lands here, nothing leaves this machine)`,
      );
    say('  Stop with Ctrl+C.');
    say('');
  } else {
    process.stderr.write('The server did not become healthy within 60 s; see the log lines above.\n');
    await stop(1);
  }
}
