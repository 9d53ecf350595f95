/**
 * `pnpm db:migrate` / `pnpm db:diff <name>` / `pnpm db:status`.
 * Reads DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/signals).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDatabaseIfMissing, migrate, paths, writeNextMigration } from './index.ts';
import { checkMigrationSafety } from './safety.ts';

const url = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/signals';
const [cmd, name] = process.argv.slice(2);

try {
  if (cmd === 'migrate') {
    const created = await createDatabaseIfMissing(url);
    if (created) console.log(`created database ${new URL(url).pathname.slice(1)}`);
    const applied = await migrate(url);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } else if (cmd === 'diff') {
    if (!name || !/^[a-z0-9_]+$/.test(name)) {
      console.error('usage: pnpm db:diff <name>   (lower case, digits and _ only)');
      process.exit(2);
    }
    await createDatabaseIfMissing(url);
    const dir = await writeNextMigration(url, name);
    if (dir) {
      console.log(`wrote ${path.relative(process.cwd(), dir)}/migration.sql`);
      // The same check the tests run (expand/contract): say it now, while the file is fresh.
      const findings = checkMigrationSafety(
        path.basename(dir),
        fs.readFileSync(path.join(dir, 'migration.sql'), 'utf8'),
      );
      for (const f of findings) console.log(`  needs a look: ${f.statement}\n    ${f.problem}`);
      if (findings.length)
        console.log(
          '  Rewrite those statements expand/contract, or put `-- safe: <why>` just above one (README "Upgrading").',
        );
    } else console.log('schema.prisma and prisma/migrations agree: nothing to write');
  } else if (cmd === 'status') {
    const names = fs.readdirSync(paths().migrationsDir).filter((n) => !n.endsWith('.toml'));
    console.log(names.join('\n'));
  } else {
    console.error('usage: migrate | diff <name> | status');
    process.exit(2);
  }
} catch (err) {
  console.error(`db:${cmd} failed: ${(err as Error).message}`);
  process.exit(1);
}
// The wasm engine's driver adapter can keep an idle pg socket open for a while: do not wait for it.
process.exit(process.exitCode ?? 0);
