/**
 * `pnpm cli reset-password <email>` and `pnpm cli end-sessions <email>`: account care from the
 * server's console, for an admin who lost the password or a browser. The new password is read
 * from the terminal (asked twice, not echoed) or, when stdin is not a terminal, from its first
 * line (`printf '%s\n' "$NEW_PASSWORD" | pnpm cli reset-password admin@example.org`): never from
 * the command line, where it would stay in the shell history and the process list. Both end every
 * session of the account; API keys keep working (revoke them on the admin page).
 */
import readline from 'node:readline';
import { loadEnvOrExit, redactUrl } from '@signals/config';
import { createPrisma, endAdminSessions, newPasswordProblem, type PrismaClient, setAdminPassword } from '@signals/db';

/** Reads one line; on a terminal the typed characters are not shown. */
function ask(prompt: string, hidden: boolean, rl: readline.Interface): Promise<string> {
  return new Promise((resolve) => {
    const out = rl as unknown as { _writeToOutput?: (s: string) => void; output: NodeJS.WritableStream };
    if (hidden) {
      out._writeToOutput = (s: string) => {
        // Prompt and line breaks pass; what is typed does not.
        if (s === prompt || s === '\r\n' || s === '\n') out.output.write(s);
      };
    }
    rl.question(prompt, (answer) => resolve(answer));
  });
}

/** Every line stdin gives, in order, then null at its end (a pipe). */
function lineReader(rl: readline.Interface): () => Promise<string | null> {
  const lines: string[] = [];
  const waiters: ((l: string | null) => void)[] = [];
  let ended = false;
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  rl.on('close', () => {
    ended = true;
    for (const w of waiters.splice(0)) w(null);
  });
  return () => {
    const l = lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (ended) return Promise.resolve(null);
    return new Promise((resolve) => waiters.push(resolve));
  };
}

async function newPassword(): Promise<string | null> {
  const tty = process.stdin.isTTY === true;
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  try {
    if (!tty) return await lineReader(rl)();
    const first = await ask('New password (at least 12 characters): ', true, rl);
    const again = await ask('Repeat it: ', true, rl);
    if (first !== again) {
      process.stderr.write('The passwords differ: nothing changed.\n');
      return null;
    }
    return first;
  } finally {
    rl.close();
  }
}

async function withAdmin(
  email: string | undefined,
  fn: (prisma: PrismaClient, user: { id: string; email: string }) => Promise<number>,
) {
  if (!email) {
    process.stderr.write('usage: pnpm cli <reset-password|end-sessions> <email of the admin account>\n');
    return 2;
  }
  const env = loadEnvOrExit();
  const prisma = createPrisma({ databaseUrl: env.DATABASE_URL, poolSize: 1 });
  try {
    const user = await prisma.adminUser
      .findUnique({ where: { email: email.trim().toLowerCase() }, select: { id: true, email: true } })
      .catch((err: Error) => {
        throw new Error(
          `could not read the database at ${redactUrl(env.DATABASE_URL)} (is it migrated?): ${err.message}`,
        );
      });
    if (!user) {
      process.stderr.write(`No admin account has the email ${email}.\n`);
      return 1;
    }
    return await fn(prisma, user);
  } finally {
    await prisma.$disconnect();
  }
}

/** Sets a new password read from the terminal or stdin; ends every session. The exit code. */
export function resetPasswordCommand(args: string[]): Promise<number> {
  return withAdmin(args[0], async (prisma, user) => {
    const password = await newPassword();
    if (password === null) {
      if (!process.stdin.isTTY) process.stderr.write('No password on stdin: nothing changed.\n');
      return 1;
    }
    const problem = newPasswordProblem(password);
    if (problem) {
      process.stderr.write(`The new password ${problem}: nothing changed.\n`);
      return 1;
    }
    const ended = await setAdminPassword(prisma, user.id, password);
    process.stdout.write(`Password of ${user.email} changed; ${ended} session${ended === 1 ? '' : 's'} logged out.\n`);
    return 0;
  });
}

/** Logs every session of the account out. The exit code. */
export function endSessionsCommand(args: string[]): Promise<number> {
  return withAdmin(args[0], async (prisma, user) => {
    const ended = await endAdminSessions(prisma, user.id);
    process.stdout.write(`${ended} session${ended === 1 ? '' : 's'} of ${user.email} logged out.\n`);
    return 0;
  });
}
