/**
 * The limit of `pnpm bench http` (bench/http.bench.ts): a bare Hono app, the same version as
 * apps/server, on @hono/node-server, answering one hello route. Child process; PORT from the env.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/hello', (c) => c.text('hello'));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () => {
  process.stdout.write('listening\n');
});
process.on('SIGTERM', () => process.exit(0));
