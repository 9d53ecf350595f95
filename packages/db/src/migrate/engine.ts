/**
 * Migrations without the native Prisma engine: the WebAssembly schema engine
 * (@prisma/schema-engine-wasm, matching Prisma 7.10) driven through the pg driver adapter.
 * It diffs schemas and applies prisma/migrations/<name>/migration.sql, recording each in the
 * standard `_prisma_migrations` table, so `prisma migrate deploy` elsewhere sees the same history.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';

const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: the wasm glue module is untyped JS.
type Bg = any;
let bgPromise: Promise<Bg> | undefined;

/** The package entry imports a .wasm file, which Node does not load: instantiate it by hand, once. */
function loadWasm(): Promise<Bg> {
  bgPromise ??= (async () => {
    const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const bg = await import(path.join(dir, 'schema_engine_bg.js'));
    const bytes = fs.readFileSync(path.join(dir, 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
    return bg;
  })();
  return bgPromise;
}

/**
 * When the engine describes a database (diff from migrations) it reads catalog columns of type
 * "char" (OID 18), which @prisma/adapter-pg 7.10 refuses ("Column type 'char' could not be
 * deserialized"). Their values arrive as one-letter strings, so reporting them as text is exact.
 */
const PG_CHAR = 18;
const PG_TEXT = 25;
class CharAsTextClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; we only post-process.
  override query(...args: any[]): any {
    const fix = (res: { fields?: { dataTypeID: number }[] } | undefined) => {
      for (const f of res?.fields ?? []) if (f.dataTypeID === PG_CHAR) f.dataTypeID = PG_TEXT;
      return res;
    };
    const last = args.length - 1;
    // pg.Pool calls client.query(config, values, callback): patch the callback's result too.
    if (typeof args[last] === 'function') {
      const cb = args[last];
      // biome-ignore lint/suspicious/noExplicitAny: pg callback signature.
      args[last] = (err: unknown, res: any) => cb(err, err ? res : fix(res));
    }
    // biome-ignore lint/suspicious/noExplicitAny: see above.
    const r = (super.query as any)(...args);
    return r && typeof r.then === 'function' ? r.then(fix) : r;
  }
}

/**
 * Discrete connection fields rather than a connectionString: the adapter makes its shadow database
 * by spreading its config with a new `database`, which a connectionString would silently override
 * (the engine would then replay the migrations into the live database).
 */
export function pgConfigFromUrl(url: string): pg.ClientConfig {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname) || undefined,
    port: u.port ? Number(u.port) : undefined,
    user: decodeURIComponent(u.username) || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.slice(1)) || undefined,
    ssl: u.searchParams.get('sslmode') === 'require' ? { rejectUnauthorized: false } : undefined,
  };
}

export interface MigrationDir {
  name: string;
  sql: string;
}

const filters = { externalTables: [], externalEnums: [] };

/** Reads prisma/migrations in Prisma's folder format, in name order. */
export function readMigrations(migrationsDir: string): MigrationDir[] {
  if (!fs.existsSync(migrationsDir)) return [];
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(migrationsDir, d.name, 'migration.sql')))
    .map((d) => ({ name: d.name, sql: fs.readFileSync(path.join(migrationsDir, d.name, 'migration.sql'), 'utf8') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function migrationsList(migrationsDir: string, migrations: MigrationDir[]) {
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: path.resolve(migrationsDir),
    shadowDbInitScript: '',
    lockfile: {
      path: 'migration_lock.toml',
      content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : null,
    },
    migrationDirectories: migrations.map((m) => ({
      path: m.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: m.sql } },
    })),
  };
}

export interface SchemaEngineHandle {
  /** SQL that takes a database at `from` to the schema in schema.prisma. Empty when they agree. */
  diffFromMigrations(migrations: MigrationDir[]): Promise<string>;
  diffFromEmpty(): Promise<string>;
  /** Applies what is not yet applied; returns the names applied now. Idempotent. */
  apply(migrations: MigrationDir[]): Promise<string[]>;
  close(): Promise<void>;
}

export async function openSchemaEngine(opts: {
  databaseUrl: string;
  schemaPath: string;
  migrationsDir: string;
  /**
   * Use the database itself as the shadow database (for a throw-away database only). The adapter's
   * own shadow database cannot be dropped: it issues DROP DATABASE before closing its pool.
   */
  shadowIsSelf?: boolean;
}): Promise<SchemaEngineHandle> {
  const bg = await loadWasm();
  const schema = fs.readFileSync(opts.schemaPath, 'utf8');
  const factory = new PrismaPg({ ...pgConfigFromUrl(opts.databaseUrl), Client: CharAsTextClient, max: 2 });
  // Keep every connection the engine opens, so close() can end their pools (a template database
  // with open connections cannot be cloned, and a process with open pools does not exit).
  const opened: { dispose(): Promise<void> }[] = [];
  const connect = async () => {
    const a = await factory.connect();
    opened.push(a);
    return a;
  };
  const adapter = bindMigrationAwareSqlAdapterFactory({
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect,
    connectToShadowDb: opts.shadowIsSelf ? connect : () => factory.connectToShadowDb(),
  });
  const logs: string[] = [];
  const engine = await bg.SchemaEngine.new(
    { datamodels: [['schema.prisma', schema]] },
    (line: string) => logs.push(line),
    adapter,
  );
  const to = { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] };
  const diff = async (from: unknown): Promise<string> => {
    const r = await engine.diff({ from, to, script: true, exitCode: null, filters });
    return (r.stdout ?? '').trim();
  };
  return {
    diffFromEmpty: () => diff({ tag: 'empty' }),
    diffFromMigrations: (migrations) => diff({ tag: 'migrations', ...migrationsList(opts.migrationsDir, migrations) }),
    async apply(migrations) {
      const r = await engine.applyMigrations({
        filters,
        migrationsList: migrationsList(opts.migrationsDir, migrations),
      });
      return r.appliedMigrationNames as string[];
    },
    async close() {
      engine.free?.();
      await Promise.allSettled(opened.map((a) => a.dispose()));
    },
  };
}

/** True when a diff script holds no statement (the engine prints a comment for an empty diff). */
export function isEmptyDiff(sql: string): boolean {
  return (
    sql
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('--')).length === 0
  );
}
