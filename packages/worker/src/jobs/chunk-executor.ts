/**
 * Runs one chunk of a job on this worker and writes its records to the
 * backbone exactly once.
 *
 * Every `emit()` of the connector's chunk runner is one Kafka transaction
 * holding the page's records and a marker: a consumer-group offset (group
 * `<client.id>-job-<chunk id>`, topic `jobs.marker.topic`) whose metadata is
 * the chunk position after the page. The transactional id is the chunk's
 * own, so a new attempt first fences the crashed one (its open transaction
 * is aborted), then reads the marker and resumes after the last committed
 * page. Readers with isolation.level=read_committed see every row once.
 */
import {
  ConnectError,
  DataError,
  type ChunkContext,
  type JsonObject,
  type Logger,
  type SourceConnector,
  type SourceRecord,
} from '@ferry/core';
import type { Backbone, OutMessage } from '../backbone/backbone.js';
import type { WorkerSettings } from '../config/worker-config.js';
import { resolveConfig } from '../config/config-providers.js';
import type { TransformsFactory } from '../herder/deps.js';
import type { LogManager } from '../logging.js';
import type { WorkerMetrics } from '../metrics.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { buildConverters } from '../runtime/converters.js';

/** Everything needed to run a chunk on any worker (travels as JSON through the queue). */
export interface ChunkJob {
  connector: string;
  connectorClass: string;
  /** Connector and task configs as stored: secrets stay `${provider:...}` references, resolved where the chunk runs. */
  config: Record<string, string>;
  taskConfig: Record<string, string>;
  jobId: string;
  index: number;
  work: string;
  chunk: JsonObject;
}

export interface ExecutorDeps {
  settings: WorkerSettings;
  workerConfig: Record<string, string>;
  registry: PluginRegistry;
  backbone: Backbone;
  transforms: TransformsFactory;
  logs: LogManager;
  metrics: WorkerMetrics;
}

interface Marker {
  done?: boolean;
  rows: number;
  position: JsonObject | null;
}

/** Kafka group ids and transactional ids: printable, bounded. */
export function chunkRef(clientId: string, connector: string, jobId: string, index: number): string {
  return `${clientId}-job-${connector}-${jobId}-${index}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 240);
}

export class ChunkExecutor {
  private markerTopicReady: Promise<void> | undefined;

  constructor(private readonly deps: ExecutorDeps) {}

  private ensureMarkerTopic(): Promise<void> {
    this.markerTopicReady ??= this.deps.backbone
      .admin()
      .ensureTopics([{ topic: this.deps.settings['jobs.marker.topic'], numPartitions: 1, configs: { 'cleanup.policy': 'compact' } }])
      .catch((err) => {
        this.markerTopicReady = undefined;
        throw err;
      });
    return this.markerTopicReady;
  }

  /** Runs (or resumes) the chunk; resolves with the rows it delivered in all attempts. */
  async run(job: ChunkJob, opts: { attempt: number; signal: AbortSignal; onProgress?: (rows: number) => void | Promise<void>; checkpoint?: () => Promise<void> }): Promise<number> {
    const { deps } = this;
    const log: Logger = deps.logs.get(`connector.${job.connector}.jobs`, { connector: job.connector, job: job.jobId, chunk: job.index });
    const plugin = deps.registry.connector(job.connectorClass);
    if (!plugin || plugin.type !== 'source') throw new ConnectError(`Chunk of ${job.connector}: no source connector plugin ${job.connectorClass} on this worker`);
    const connector = plugin.create() as SourceConnector;
    const runner = connector.createChunkRunner?.(job.work);
    if (!runner) throw new ConnectError(`Connector ${job.connectorClass} runs no chunks of work ${job.work}`);
    if (!deps.backbone.transactional) throw new ConnectError(`The ${deps.backbone.name} backbone has no transactions: chunked jobs need them`);
    const resolved = resolveConfig(job.config);
    const resolvedTask = resolveConfig(job.taskConfig);
    const config = resolved.config;
    const taskConfig = resolvedTask.config;
    // Secrets never reach a log line or a job's failure reason (shown by GET /connectors/<name>/jobs).
    const passwordKeys = new Set(plugin.config.describe().filter((k) => k.type === 'PASSWORD').map((k) => k.name));
    const secrets = [...new Set([...resolved.secrets, ...resolvedTask.secrets, ...Object.entries(config).filter(([k, v]) => passwordKeys.has(k) && v).map(([, v]) => v)])];
    for (const s of secrets) deps.logs.redactor.add(s);
    try {
      return await this.runResolved(job, opts, { log, plugin, runner, config, taskConfig });
    } catch (err) {
      const e = err as Error;
      let message = String(e?.message ?? e);
      for (const s of secrets) if (s) message = message.split(s).join('[hidden]');
      if (message === e?.message) throw err;
      throw Object.assign(new ConnectError(message), { name: e.name });
    } finally {
      for (const s of secrets) deps.logs.redactor.remove(s);
    }
  }

  private async runResolved(
    job: ChunkJob,
    opts: { attempt: number; signal: AbortSignal; onProgress?: (rows: number) => void | Promise<void>; checkpoint?: () => Promise<void> },
    r: { log: Logger; plugin: unknown; runner: import('@ferry/core').ChunkRunner; config: Record<string, string>; taskConfig: Record<string, string> },
  ): Promise<number> {
    const { deps } = this;
    const { log, runner, config, taskConfig } = r;
    const converters = buildConverters(config, deps.workerConfig, deps.registry);
    const transforms = deps.transforms.build(config);
    const topic = deps.settings['jobs.marker.topic'];
    const ref = chunkRef(deps.settings['client.id'], job.connector, job.jobId, job.index);
    const labels = { connector: job.connector };
    await this.ensureMarkerTopic();
    const producer = deps.backbone.transactional!({ transactionalId: ref });
    try {
      await producer.connect();
      const prev = await producer.readMarker(ref, topic);
      const marker: Marker = prev?.metadata ? (JSON.parse(prev.metadata) as Marker) : { rows: 0, position: null };
      let seq = prev?.offset ?? 0;
      if (marker.done) {
        log.info({ rows: marker.rows }, 'Chunk already complete');
        return marker.rows;
      }
      if (marker.position) log.info({ position: marker.position, rows: marker.rows, attempt: opts.attempt }, 'Resuming chunk');
      else log.info({ attempt: opts.attempt }, 'Running chunk');
      let rows = marker.rows;
      let position = marker.position;
      const commit = async (messages: OutMessage[], m: Marker) => {
        seq++;
        await producer.commit(messages, { groupId: ref, topic, offset: seq, metadata: JSON.stringify(m) });
      };
      const ctx: ChunkContext = {
        config: taskConfig,
        work: job.work,
        chunk: job.chunk,
        resumeFrom: marker.position,
        attempt: opts.attempt,
        logger: log,
        signal: opts.signal,
        emit: async (records: SourceRecord[], pos: JsonObject) => {
          if (opts.signal.aborted) throw new ConnectError('Chunk stopped');
          await opts.checkpoint?.();
          const messages: OutMessage[] = [];
          for (const original of records) {
            const r = transforms.apply(original);
            if (r === null) continue;
            try {
              messages.push({
                topic: r.topic,
                partition: r.kafkaPartition ?? null,
                key: converters.key.fromConnectData(r.topic, r.keySchema, r.key, r.headers),
                value: converters.value.fromConnectData(r.topic, r.valueSchema, r.value, r.headers),
                headers: r.headers?.length ? r.headers.map((h) => ({ key: h.key, value: converters.header.fromConnectHeader(r.topic, h.key, h.schema, h.value) })) : undefined,
                timestamp: r.timestamp ?? Date.now(),
              });
            } catch (err) {
              throw new DataError(`Chunk ${job.index} of job ${job.jobId}: a record for ${r.topic} cannot be converted: ${(err as Error).message}`, { cause: err });
            }
          }
          rows += records.length;
          position = pos;
          await commit(messages, { rows, position });
          deps.metrics.jobRows.inc(labels, records.length);
          await opts.onProgress?.(rows);
        },
      };
      await runner.runChunk(ctx);
      if (opts.signal.aborted) throw new ConnectError('Chunk stopped');
      await commit([], { done: true, rows, position });
      await opts.onProgress?.(rows);
      log.info({ rows }, 'Chunk complete');
      return rows;
    } finally {
      transforms.close?.();
      await producer.disconnect();
    }
  }
}
