/**
 * `pnpm cli start` (what the README's run command ends in): checks Postgres and Redis (starting
 * embedded ones on a bare machine), creates the database, migrates, seeds, starts the mail catcher
 * when SMTP_URL is unset, then runs the server and the worker as supervised child processes and
 * prints the admin URL once /healthz answers.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { type Env, isBuilt, isSet, nodeCommand, publicBaseUrl, repoRoot } from '@signals/config';
import { type EmbeddedService, findOnPath, redisInstallHint, startKept } from './embedded.ts';
import { checkServices, hostPort, probeServices, redisNodes } from './preflight.ts';
import { supervise } from './supervise.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`${line}\n`);

/**
 * One GET of `url`: true on a 2xx within `timeoutMs`. node:http, not fetch: fetch would load undici
 * (~10 MB) into this long-lived process for a health probe.
 */
function answers(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

/** Polls `url` until it answers 2xx (true), `timeoutMs` passes or `gaveUp()` says to stop (false). */
async function waitForHealth(url: string, timeoutMs: number, gaveUp: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gaveUp()) {
    if (await answers(url, 2000)) return true;
    // Short steps: the first answer is printed as soon as the server is up.
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Postgres and Redis for the service: the configured ones, or on a bare machine (variable unset,
 * nothing at the default address) embedded ones. Exits with a paragraph when one cannot be had.
 */
async function provideServices(env: Env, root: string, dataDir: string): Promise<EmbeddedService[]> {
  const up = await probeServices({ databaseUrl: env.DATABASE_URL, redis: env.REDIS_URL });
  const embedPostgres = !up.postgres && !isSet('DATABASE_URL');
  const embedRedis = !up.redis && !isSet('REDIS_URL');
  // A URL the operator set that does not answer keeps today's message: we never start a stand-in.
  const down = await checkServices({
    databaseUrl: up.postgres || embedPostgres ? undefined : env.DATABASE_URL,
    redis: up.redis || embedRedis ? undefined : env.REDIS_URL,
  });
  const redisBin = embedRedis ? findOnPath('redis-server') : undefined;
  const pg = hostPort(env.DATABASE_URL, 5432);
  // The first node of REDIS_URL as @signals/config parsed it (a cluster URL lists several); only
  // named when REDIS_URL is unset, where it is the default single Redis.
  const rd = redisNodes(env.REDIS_URL)[0] ?? { host: '127.0.0.1', port: 6379 };
  const problems = [
    down,
    embedRedis && !redisBin
      ? `No Redis answers at ${rd.host}:${rd.port} and REDIS_URL is unset, ` +
        `so this command would start a local redis-server, but none is installed. Install it with ${redisInstallHint()}, ` +
        'or set REDIS_URL to a Redis that is running; then run this command again.'
      : null,
  ].filter((p): p is string => !!p);
  if (problems.length) {
    warn(`\n${problems.join('\n\n')}\n`);
    process.exit(1);
  }

  const started: EmbeddedService[] = [];
  try {
    if (embedPostgres) {
      say(`No PostgreSQL answers at ${pg.host}:${pg.port} and DATABASE_URL is unset: starting an embedded one.`);
      started.push(
        await startKept({ kind: 'postgres', dir: path.join(dataDir, 'postgres'), port: pg.port }, { cwd: root }),
      );
      say(`Started ${started.at(-1)?.description}`);
    }
    if (embedRedis && redisBin) {
      say(`No Redis answers at ${rd.host}:${rd.port} and REDIS_URL is unset: starting ${redisBin}.`);
      started.push(
        await startKept(
          { kind: 'redis', bin: redisBin, dir: path.join(dataDir, 'redis'), port: rd.port },
          { cwd: root },
        ),
      );
      say(`Started ${started.at(-1)?.description}`);
    }
  } catch (err) {
    await stopAll(started);
    throw err;
  }
  return started;
}

async function stopAll(services: EmbeddedService[]): Promise<void> {
  for (const s of [...services].reverse()) await s.stop().catch((err: Error) => warn(`could not stop: ${err.message}`));
}

/**
 * Creates, migrates and seeds the database in a child process (`cli prepare`, its lines go to our
 * output): the schema engine and the Prisma client it loads leave with it, so this long-lived
 * process stays small.
 */
async function prepareDatabase(root: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { command, args } = nodeCommand('cli', ['prepare']);
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, signal) => resolve(signal ? 1 : c));
  });
  if (code !== 0) throw new Error(`setting up the database failed (exit code ${code}); its message is above`);
}

export async function start(env: Env): Promise<void> {
  const root = repoRoot();
  const dataDir = path.resolve(env.DATA_DIR ?? path.join(root, '.data'));
  const embedded = await provideServices(env, root, dataDir);
  // Stopped while migrating or seeding: do not leave the embedded services behind.
  const stopEarly = () => void stopAll(embedded).finally(() => process.exit(1));
  process.once('SIGINT', stopEarly);
  process.once('SIGTERM', stopEarly);
  let mail: Awaited<ReturnType<typeof import('./mailcatcher.ts').startMailCatcher>> | undefined;
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  try {
    await prepareDatabase(root, childEnv);

    if (!env.SMTP_URL) {
      const { startMailCatcher } = await import('./mailcatcher.ts');
      mail = await startMailCatcher({ smtpPort: 1025, httpPort: 8025, dir: path.join(dataDir, 'mail') });
      childEnv.SMTP_URL = mail.smtpUrl;
    }
  } catch (err) {
    await mail?.close();
    await stopAll(embedded);
    throw err;
  }

  // From the build (dist/*.mjs, plain node) when this process runs from it, else under tsx.
  say(`Running ${isBuilt ? 'the build (dist/, node)' : 'the TypeScript sources (tsx)'}`);
  const supervisor = supervise(
    [
      { name: 'server', ...nodeCommand('server'), cwd: root, env: childEnv },
      { name: 'worker', ...nodeCommand('worker'), cwd: root, env: childEnv },
    ],
    { say, warn },
  );
  let failed = false;
  let ended = false;
  // One way out: stop the children (signal, give-up or no health), then what we started, then exit.
  void supervisor.done.then(async ({ code }) => {
    ended = true;
    await mail?.close();
    await stopAll(embedded);
    if (embedded.length) say('Stopped the embedded services (their data is kept).');
    process.exit(failed ? 1 : code);
  });
  process.removeListener('SIGINT', stopEarly);
  process.removeListener('SIGTERM', stopEarly);
  process.on('SIGINT', () => void supervisor.stop());
  process.on('SIGTERM', () => void supervisor.stop());

  const base = publicBaseUrl(env);
  const local = `http://127.0.0.1:${env.PORT}`;
  if (await waitForHealth(`${local}/healthz`, 120_000, () => ended)) {
    say('');
    say(`  Market Signals is running.`);
    say(`  Admin page:      ${base}/admin`);
    say(`  Subscribe page:  ${base}/subscribe`);
    say(`  Health:          ${base}/healthz   Metrics: ${base}/metrics`);
    if (mail)
      say(
        `  Mail catcher:    ${mail.inboxUrl}  (SMTP_URL is unset: every email lands here, nothing leaves this machine)`,
      );
    for (const s of embedded) say(`  Embedded:        ${s.description}`);
    say('  Stop with Ctrl+C.');
    say('');
  } else if (!ended) {
    warn('The server did not become healthy within 120 s; see the log lines above.');
    failed = true;
    await supervisor.stop();
  }
}
