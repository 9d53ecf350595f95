/**
 * The backup file format (one file, gzip): a logical dump that needs no pg_dump.
 *
 *   MARKET-SIGNALS-BACKUP 1            magic and format version
 *   {"app":...,"migrations":[...]}     header: release, schema version (applied migrations), sequences
 *   TABLE {"name":"Alert","columns":[...]}
 *   <rows in PostgreSQL's COPY text format, one per line>
 *   \.                                 end of the table's rows (a data line is never exactly this:
 *                                      COPY escapes every backslash in the data)
 *   ... one section per table ...
 *   END {"tables":{"Alert":12,...},"sha256":"..."}   row counts and the SHA-256 of every byte above
 *
 * COPY's text format is the same in every PostgreSQL major version, so a file written from the
 * embedded PostgreSQL 18 restores into a PostgreSQL 15 server and back, which pg_dump's custom
 * format does not (pg_restore refuses archives of a newer pg_dump). gzip's CRC, the row counts and
 * the SHA-256 let a reader tell a truncated or damaged file before it changes anything.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import zlib from 'node:zlib';

export const MAGIC = 'MARKET-SIGNALS-BACKUP';
export const FORMAT_VERSION = 1;
/** The line that ends a table's rows, as psql and pg_dump's plain format write it. */
const END_OF_ROWS = '\\.';

/** What a backup says about itself, written before the data. */
export interface BackupHeader {
  app: { name: string; version: string };
  createdAt: string;
  /** The source server's `server_version`, for people; restore does not need the same. */
  postgres: string;
  /** The schema version: every migration applied to the source, in order, with its checksum. */
  migrations: { name: string; checksum: string }[];
  /** Sequence positions (bigint as text), so ids continue after the restored rows. */
  sequences: { name: string; lastValue: string; isCalled: boolean }[];
}

export interface TableSection {
  name: string;
  columns: string[];
}

export interface BackupTrailer {
  tables: Record<string, number>;
  sha256: string;
}

export type BackupRefusal =
  | 'not-a-backup'
  | 'truncated'
  | 'corrupt'
  | 'newer-format'
  | 'newer-schema'
  | 'changed-migration'
  | 'not-empty'
  | 'in-use'
  | 'schema-mismatch';

/** A backup or a target that restore will not use; nothing was changed when this is thrown. */
export class BackupRefusedError extends Error {
  constructor(
    readonly reason: BackupRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'BackupRefusedError';
  }
}

/** Writes the format to `out` through gzip, keeping the hash and the row counts. */
export class ArchiveWriter {
  private readonly gzip = zlib.createGzip();
  private readonly hash: Hash = createHash('sha256');
  private readonly counts: Record<string, number> = {};
  private readonly finished: Promise<void>;
  private failed: Error | undefined;

  constructor(out: Writable) {
    this.gzip.pipe(out);
    this.finished = new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        this.failed = err;
        reject(err);
      };
      this.gzip.once('error', fail);
      out.once('error', fail);
      if (out === process.stdout) {
        // pipe() never ends stdout, so it never finishes: done once gzip's last bytes are written.
        this.gzip.once('end', () => out.write(Buffer.alloc(0), () => resolve()));
      } else out.once('finish', () => resolve());
    });
    // Surfaced by put() and end(); an unobserved rejection must not crash the process meanwhile.
    this.finished.catch(() => {});
  }

  private async put(data: Buffer | string, hashed = true): Promise<void> {
    if (this.failed) throw this.failed;
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (hashed) this.hash.update(buf);
    if (!this.gzip.write(buf)) await Promise.race([once(this.gzip, 'drain'), this.finished]);
  }

  async header(h: BackupHeader): Promise<void> {
    await this.put(`${MAGIC} ${FORMAT_VERSION}\n${JSON.stringify(h)}\n`);
  }

  /** One table: its rows come from `rows` (COPY ... TO STDOUT chunks, whole lines). */
  async table(t: TableSection, rows: AsyncIterable<Buffer>): Promise<number> {
    await this.put(`TABLE ${JSON.stringify(t)}\n`);
    let n = 0;
    // COPY sends a message per row: write in blocks of ~256 kB, not per row.
    let block: Buffer[] = [];
    let size = 0;
    for await (const chunk of rows) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
      block.push(chunk);
      size += chunk.length;
      if (size >= 262_144) {
        await this.put(Buffer.concat(block));
        block = [];
        size = 0;
      }
    }
    if (size) await this.put(Buffer.concat(block));
    await this.put(`${END_OF_ROWS}\n`);
    this.counts[t.name] = n;
    return n;
  }

  /** The trailer, then waits until every byte reached `out`. */
  async end(): Promise<BackupTrailer> {
    const trailer: BackupTrailer = { tables: this.counts, sha256: this.hash.digest('hex') };
    await this.put(`END ${JSON.stringify(trailer)}\n`, false);
    this.gzip.end();
    await this.finished;
    return trailer;
  }
}

export type ArchiveEvent =
  | { kind: 'header'; header: BackupHeader }
  | { kind: 'table'; table: TableSection }
  /** Whole COPY text lines of the current table, each ending in a newline. */
  | { kind: 'rows'; table: string; data: Buffer }
  | { kind: 'tableEnd'; table: string; rows: number }
  /** Only after the counts and the SHA-256 matched. */
  | { kind: 'end'; trailer: BackupTrailer };

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** Why the first bytes of `file` are not a backup of ours, or undefined when they may be. */
function sniff(file: string): string | undefined {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(8);
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (n === 0) return 'it is empty';
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP')
    return 'it is a pg_dump custom-format archive: restore that one with pg_restore';
  if (n < 2 || !head.subarray(0, 2).equals(GZIP_MAGIC)) return 'it is not gzip-compressed';
  return undefined;
}

function notABackup(file: string, why: string): BackupRefusedError {
  return new BackupRefusedError(
    'not-a-backup',
    `${file} is not a market-signals backup (${why}). Make one with \`pnpm cli backup <file>\`.`,
  );
}

/**
 * Reads a backup file, yielding its header, sections and rows, and checks it as it goes: a file
 * that is not a backup, ends early or was changed throws BackupRefusedError. The `end` event comes
 * only once the row counts and the SHA-256 of the whole content matched the trailer.
 */
export async function* readArchive(file: string): AsyncGenerator<ArchiveEvent> {
  const bad = sniff(file);
  if (bad) throw notABackup(file, bad);
  const gunzip = zlib.createGunzip();
  const source = fs.createReadStream(file);
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  const hash = createHash('sha256');
  const counts: Record<string, number> = {};
  const corrupt = (why: string) =>
    new BackupRefusedError('corrupt', `${file} is damaged (${why}); it cannot be restored. Use another backup.`);

  type State = 'magic' | 'header' | 'between' | 'rows' | 'done';
  // Changed by control() as well: compared through `now()` so TypeScript does not narrow it here.
  let state: State = 'magic';
  const now = (): State => state;
  let table: TableSection | undefined;
  let rows = 0;
  let carry: Buffer = Buffer.alloc(0);
  let sawHeader = false;

  /** One complete line (without its newline), outside a table's rows. */
  function* control(line: string): Generator<ArchiveEvent> {
    if (state === 'magic') {
      const [magic, version] = line.split(' ');
      if (magic !== MAGIC) throw notABackup(file, 'its content does not start with the backup header');
      if (Number(version) > FORMAT_VERSION)
        throw new BackupRefusedError(
          'newer-format',
          `${file} was written in backup format ${version} by a newer release; this release reads format ${FORMAT_VERSION}. Restore it with the release that made it (or newer).`,
        );
      state = 'header';
      return;
    }
    if (state === 'header') {
      let header: BackupHeader;
      try {
        header = JSON.parse(line) as BackupHeader;
      } catch {
        throw corrupt('its header is not readable');
      }
      if (!Array.isArray(header.migrations) || !header.app?.version) throw corrupt('its header is incomplete');
      sawHeader = true;
      state = 'between';
      yield { kind: 'header', header };
      return;
    }
    if (state === 'done') throw corrupt('there is data after its end');
    if (line.startsWith('TABLE ')) {
      try {
        table = JSON.parse(line.slice(6)) as TableSection;
      } catch {
        throw corrupt('a table heading is not readable');
      }
      if (!table.name || !Array.isArray(table.columns)) throw corrupt('a table heading is incomplete');
      rows = 0;
      state = 'rows';
      yield { kind: 'table', table };
      return;
    }
    if (line.startsWith('END ')) {
      let trailer: BackupTrailer;
      try {
        trailer = JSON.parse(line.slice(4)) as BackupTrailer;
      } catch {
        throw corrupt('its end record is not readable');
      }
      for (const [name, n] of Object.entries(trailer.tables ?? {}))
        if (counts[name] !== n) throw corrupt(`table ${name} has ${counts[name] ?? 0} rows where ${n} were written`);
      if (Object.keys(counts).length !== Object.keys(trailer.tables ?? {}).length)
        throw corrupt('it holds tables its end record does not list');
      if (hash.digest('hex') !== trailer.sha256) throw corrupt('its checksum does not match its content');
      state = 'done';
      yield { kind: 'end', trailer };
      return;
    }
    throw corrupt(`unexpected line "${line.slice(0, 40)}"`);
  }

  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      let rowsFrom = -1; // start of a run of data lines in this chunk
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
        const lineEnd = nl + 1;
        if (now() === 'rows') {
          // The end marker is the two bytes "\." alone on a line.
          if (nl - start === 2 && buf[start] === 92 && buf[start + 1] === 46) {
            if (rowsFrom !== -1) yield { kind: 'rows', table: table?.name ?? '', data: buf.subarray(rowsFrom, start) };
            rowsFrom = -1;
            hash.update(buf.subarray(start, lineEnd));
            counts[table?.name ?? ''] = rows;
            state = 'between';
            yield { kind: 'tableEnd', table: table?.name ?? '', rows };
          } else {
            if (rowsFrom === -1) rowsFrom = start;
            hash.update(buf.subarray(start, lineEnd));
            rows++;
          }
        } else {
          const line = buf.subarray(start, nl).toString('utf8');
          // The END line is not part of what its checksum covers.
          if (!line.startsWith('END ')) hash.update(buf.subarray(start, lineEnd));
          yield* control(line);
        }
        start = lineEnd;
      }
      if (rowsFrom !== -1) yield { kind: 'rows', table: table?.name ?? '', data: buf.subarray(rowsFrom, start) };
      carry = buf.subarray(start);
      // A random file may have no newline for megabytes: not ours.
      if (now() !== 'rows' && carry.length > 64 * 1024 * 1024) throw corrupt('a line is too long');
      if (!sawHeader && now() === 'magic' && carry.length > 256) throw notABackup(file, 'no backup header');
    }
  } catch (err) {
    if (err instanceof BackupRefusedError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'Z_BUF_ERROR' || /unexpected end of file/i.test((err as Error).message))
      throw new BackupRefusedError(
        'truncated',
        `${file} ends early (truncated); it cannot be restored. Use another backup.`,
      );
    if (code === 'Z_DATA_ERROR') throw corrupt((err as Error).message);
    throw err;
  } finally {
    source.destroy();
  }
  if (carry.length) {
    if (now() === 'magic') throw notABackup(file, 'no backup header');
    throw new BackupRefusedError(
      'truncated',
      `${file} ends early (truncated); it cannot be restored. Use another backup.`,
    );
  }
  if (now() !== 'done') {
    if (now() === 'magic') throw notABackup(file, 'no backup header');
    throw new BackupRefusedError(
      'truncated',
      `${file} ends early (truncated); it cannot be restored. Use another backup.`,
    );
  }
}
