import { runUntilSignalled } from '../run-until-signalled.js';
import { DistributedWorker } from './distributed-worker.js';

/** `connect-worker distributed <worker.json>`: runs until SIGINT/SIGTERM, then stops gracefully. */
export async function runDistributed(workerConfig: Record<string, unknown>): Promise<void> {
  const worker = await DistributedWorker.start({ workerConfig, baseDir: process.env.FERRY_BASE_DIR ?? process.cwd() });
  runUntilSignalled(worker);
}
