/**
 * Graceful shutdown on SIGTERM/SIGINT, the same for every process: say what is happening, run the
 * steps in order (stop taking work, finish what is active, close connections), exit 0; if the
 * steps take longer than `timeoutMs`, exit 1 (unfinished work is picked up again elsewhere).
 *
 * A process started with an IPC channel (the run command's supervisor starts server and worker so)
 * also stops gracefully when that channel closes: the supervisor died, even by SIGKILL or OOM, and
 * an orphaned server would keep the port and an orphaned worker would keep polling unsupervised.
 */
export function onShutdown(opts: {
  logger: { info(obj: object | string, msg?: string): void; error(obj: object | string, msg?: string): void };
  what: string;
  timeoutMs: number;
  steps: (() => Promise<unknown>)[];
}): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    opts.logger.info({ signal }, `shutting down: ${opts.what}`);
    const force = setTimeout(() => {
      opts.logger.error(`shutdown took longer than ${opts.timeoutMs / 1000} s; exiting`);
      process.exit(1);
    }, opts.timeoutMs);
    force.unref();
    for (const step of opts.steps) await step().catch(() => {});
    opts.logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (process.channel) {
    // The channel alone must not keep a process alive that has nothing else to do.
    process.channel.unref();
    process.on('disconnect', () => void stop('supervisor gone'));
  }
}
