import type { Backbone } from '../backbone/backbone.js';
import type { WorkerSettings } from '../config/worker-config.js';
import type { TransformsFactory } from '../herder/deps.js';
import type { LogManager } from '../logging.js';
import type { WorkerMetrics } from '../metrics.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { ChunkExecutor } from './chunk-executor.js';
import type { JobsFacility } from './jobs-facility.js';
import { LocalJobs } from './local-jobs.js';

export type { JobsFacility, SubmitterSpec } from './jobs-facility.js';
export { jobRoutes } from './routes.js';

/**
 * BullMQ on Redis with `jobs.redis.url`, else chunks one after another inside
 * the submitting task. bullmq and ioredis load only in the first case.
 */
export async function createJobsFacility(deps: {
  settings: WorkerSettings;
  workerConfig: Record<string, string>;
  registry: PluginRegistry;
  backbone: Backbone;
  transforms: TransformsFactory;
  logs: LogManager;
  metrics: WorkerMetrics;
}): Promise<JobsFacility> {
  const executor = new ChunkExecutor(deps);
  const s = deps.settings;
  const url = s['jobs.redis.url'];
  if (!url) return new LocalJobs(executor, { attempts: s['jobs.attempts'], backoffMs: s['jobs.backoff.ms'], retentionMs: s['jobs.retention.ms'], metrics: deps.metrics });
  const { BullMqJobs } = await import('./bullmq-jobs.js');
  return new BullMqJobs(executor, {
    url,
    queueName: s['jobs.queue.name'],
    concurrency: s['jobs.concurrency'],
    attempts: s['jobs.attempts'],
    backoffMs: s['jobs.backoff.ms'],
    lockDurationMs: s['jobs.lock.duration.ms'],
    retentionMs: s['jobs.retention.ms'],
    logger: deps.logs.get('jobs'),
    metrics: deps.metrics,
  });
}
