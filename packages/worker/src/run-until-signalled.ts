import type { LogManager } from './logging.js';

/**
 * Keeps a started worker (standalone or distributed) running until SIGINT or
 * SIGTERM, then stops it gracefully (forced exit after 30 s). With
 * FERRY_EXIT_WITH_PARENT=1 (test harnesses) it also stops when its parent
 * process dies, even by SIGKILL, instead of running on.
 */
export function runUntilSignalled(worker: { logs: LogManager; stop(): Promise<void> }): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    worker.logs.get('worker').info({ signal }, 'Shutting down');
    const force = setTimeout(() => process.exit(1), 30000);
    force.unref();
    await worker.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  if (process.env.FERRY_EXIT_WITH_PARENT === '1') {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void shutdown('parent exited');
    }, 1000).unref();
  }
  process.on('unhandledRejection', (err) => worker.logs.get('worker').error({ err: String((err as Error)?.stack ?? err) }, 'Unhandled rejection'));
}
