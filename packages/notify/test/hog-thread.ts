/**
 * A stand-in for custom/thread.ts (same messages) that misbehaves on request, to show what the
 * pool does with a render that never ends or eats its heap: source `hang` spins forever,
 * `allocate` keeps allocating; anything else is echoed back.
 */
import { parentPort } from 'node:worker_threads';
import type { FromThread, ToThread } from '../src/custom/thread.ts';

const port = parentPort;
if (!port) throw new Error('hog-thread.ts runs as a worker thread only');
const post = (m: FromThread) => port.postMessage(m);
const kept: number[][] = [];

port.on('message', ({ id, source }: ToThread) => {
  post({ id, type: 'started', at: Date.now() });
  if (source === 'hang') for (;;) {}
  if (source === 'allocate') for (;;) kept.push(new Array(1_000_000).fill(kept.length));
  post({ id, type: 'done', text: source });
});
post({ type: 'ready' });
