// Worker threads do not inherit the TypeScript loader of the process that starts them (tsx, as
// every process here runs): register it in this thread, then load the TypeScript entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
