/**
 * Worker-thread entry of pool.ts: renders one template at a time with the sandbox of
 * templates.ts, and reports `started` (its own clock, so the pool's hard timeout counts from when
 * the render really began) then the text or the error message.
 */
import { parentPort } from 'node:worker_threads';
import { renderTemplate, type TemplateKey } from './templates.ts';

export type ToThread = { id: number; key: TemplateKey; source: string; vars: object };
export type FromThread =
  | { type: 'ready' }
  | { id: number; type: 'started'; at: number }
  | { id: number; type: 'done'; text: string }
  | { id: number; type: 'failed'; message: string };

const port = parentPort;
if (!port) throw new Error('custom/thread.ts runs as a worker thread only');
const post = (m: FromThread) => port.postMessage(m);

port.on('message', async ({ id, key, source, vars }: ToThread) => {
  post({ id, type: 'started', at: Date.now() });
  try {
    post({ id, type: 'done', text: await renderTemplate(key, source, vars) });
  } catch (err) {
    post({ id, type: 'failed', message: (err as Error).message });
  }
});
post({ type: 'ready' });
