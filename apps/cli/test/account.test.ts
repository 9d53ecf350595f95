/**
 * Issue 18, item 6, from the console: `pnpm cli reset-password <email>` (the new password from
 * stdin, never the command line) and `pnpm cli end-sessions <email>`, run exactly as the README
 * writes them; each logs every session of the account out.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPaths, verifyPassword } from '@signals/db';
import { createTestDb, fastPasswordHash, type TestDb } from '@signals/testing';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

/** `pnpm cli <args>` from the repository root, `stdin` written to it; its exit code and output. */
function cli(args: string[], stdin: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('pnpm', ['cli', ...args], {
      cwd: repoPaths().root,
      env: { ...process.env, DATABASE_URL: db.url },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.stdin.end(stdin);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let seq = 0;
async function adminWithSessions(n: number) {
  const email = `lost${++seq}-${Date.now()}@example.org`;
  const user = await db.prisma.adminUser.create({
    // A cheap hash in the stored format (what is under test is the command, not the hashing; the
    // password it sets is hashed by the product at full strength and verified below).
    data: { email, passwordHash: fastPasswordHash('the forgotten password') },
  });
  const expiresAt = new Date(Date.now() + 3_600_000);
  for (let i = 0; i < n; i++) {
    await db.prisma.session.create({ data: { id: `s-${email}-${i}`, userId: user.id, csrfToken: 'x', expiresAt } });
  }
  return user;
}

describe('pnpm cli reset-password', () => {
  it('sets the password read from stdin and logs every session out', async () => {
    const user = await adminWithSessions(2);
    const r = await cli(['reset-password', user.email.toUpperCase()], 'a fresh long password\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Password of ${user.email} changed; 2 sessions logged out.`);
    const after = await db.prisma.adminUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(await verifyPassword('a fresh long password', after.passwordHash)).toBe(true);
    expect(await db.prisma.session.count({ where: { userId: user.id } })).toBe(0);
  }, 120_000);

  it('changes nothing for a short password, an empty stdin, or an unknown account', async () => {
    const user = await adminWithSessions(1);
    // Four refused commands, none of which may change anything: run at once (each is a process).
    const [short, empty, unknown, bare] = await Promise.all([
      cli(['reset-password', user.email], 'short\n'),
      cli(['reset-password', user.email], ''),
      cli(['reset-password', 'nobody@example.org'], 'a fresh long password\n'),
      cli(['reset-password'], ''),
    ]);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('The new password must be at least 12 characters: nothing changed.');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('No password on stdin: nothing changed.');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No admin account has the email nobody@example.org.');
    const after = await db.prisma.adminUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(await verifyPassword('the forgotten password', after.passwordHash)).toBe(true);
    expect(await db.prisma.session.count({ where: { userId: user.id } })).toBe(1);
    expect(bare.code).toBe(2);
  }, 120_000);
});

describe('pnpm cli end-sessions', () => {
  it('logs every session of the account out, and only of that account', async () => {
    const user = await adminWithSessions(3);
    const bystander = await adminWithSessions(1);
    const r = await cli(['end-sessions', user.email], '');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`3 sessions of ${user.email} logged out.`);
    expect(await db.prisma.session.count({ where: { userId: user.id } })).toBe(0);
    expect(await db.prisma.session.count({ where: { userId: bystander.id } })).toBe(1);
  }, 120_000);
});
