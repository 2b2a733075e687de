import { DistributedWorker } from './distributed-worker.js';

/** `connect-worker distributed <worker.json>`: runs until SIGINT/SIGTERM, then stops gracefully. */
export async function runDistributed(workerConfig: Record<string, unknown>): Promise<void> {
  const worker = await DistributedWorker.start({ workerConfig, baseDir: process.env.FERRY_BASE_DIR ?? process.cwd() });
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
    // Test harnesses: a worker whose parent died (even by SIGKILL) stops instead of running on.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void shutdown('parent exited');
    }, 1000).unref();
  }
  process.on('unhandledRejection', (err) => worker.logs.get('worker').error({ err: String((err as Error)?.stack ?? err) }, 'Unhandled rejection'));
}
