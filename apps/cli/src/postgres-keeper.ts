/**
 * Keeps the run command's embedded PostgreSQL (see startPostgresKeeper in embedded.ts): started in
 * its own process group with the data dir and port as arguments, it starts PostgreSQL, writes one
 * JSON line ({ description } or { error }), and stops PostgreSQL when its stdin closes (the run
 * command asks it to, or died).
 */
import { startEmbeddedPostgres } from './embedded.ts';

const [dir, port] = process.argv.slice(2);
try {
  const pg = await startEmbeddedPostgres({ dir: dir as string, port: Number(port) });
  process.stdout.write(`${JSON.stringify({ description: pg.description })}\n`);
  process.stdin.on('close', () => {
    void pg.stop().finally(() => process.exit(0));
  });
  process.stdin.resume();
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
  process.exit(1);
}
