/**
 * The run command's process (dist/supervisor.mjs in the build; `pnpm cli start` runs the same code
 * under tsx). It stays small: checking the services, the database set-up (in a child process),
 * the mail catcher and supervising the server and the worker are all it does (start.ts).
 */
import { loadEnvOrExit } from '@signals/config';
import { start } from './start.ts';

start(loadEnvOrExit()).catch((err) => {
  process.stderr.write(`start failed: ${(err as Error).message}\n`);
  process.exit(1);
});
