/**
 * Keeps one of the run command's embedded services (see startKept in embedded.ts). Started in its
 * own process group with a JSON description of the service as its argument, it starts the service,
 * writes one JSON line ({ description } or { error }), and stops the service when its stdin closes:
 * the run command asks it to, or died.
 */
import { type KeptService, startEmbeddedPostgres, startLocalRedis } from './embedded.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as KeptService;
try {
  const service = spec.kind === 'postgres' ? await startEmbeddedPostgres(spec) : await startLocalRedis(spec);
  process.stdout.write(`${JSON.stringify({ description: service.description })}\n`);
  process.stdin.on('close', () => {
    void service.stop().finally(() => process.exit(0));
  });
  process.stdin.resume();
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
  process.exit(1);
}
