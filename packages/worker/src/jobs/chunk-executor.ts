/**
 * Runs one chunk of a job on this worker and writes its records to the
 * backbone exactly once.
 *
 * Every `emit()` of the connector's chunk runner is one Kafka transaction
 * holding the page's records and a marker: a consumer-group offset (group
 * `<client.id>-job-<chunk id>`, topic `jobs.marker.topic`) whose metadata is
 * the chunk position after the page. The transactional id is the chunk's
 * own, so a new attempt first fences the crashed one (its open transaction
 * is aborted), then reads the marker (a stable read: it waits until no
 * transaction of the chunk is pending) and resumes after the last committed
 * page. Readers with isolation.level=read_committed see every row once.
 */
import { safeJson } from '../runtime/safe-json.js';
import {
  ConnectError,
  type ChunkContext,
  type ConnectRecord,
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
import { ErrorHandlingConfig, ErrorReporter, type Stage } from '../runtime/error-handling.js';

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
  /** The plan item's stable id (its position is kept under it rather than under `index`). */
  chunkId?: string;
  /** The submitting task (labels of the source_record_* and error metrics); absent in chunks queued by older workers. */
  taskId?: number;
}

/** What a chunk attempt reports besides its rows. */
export interface ChunkOutcome {
  rows: number;
  /** Topics the chunk wrote records to (GET /connectors/<name>/topics). */
  topics: string[];
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
export function chunkRef(clientId: string, connector: string, jobId: string, index: number | string): string {
  return `${clientId}-job-${connector}-${jobId}-${index}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 240);
}

export interface RunOptions {
  attempt: number;
  signal: AbortSignal;
  onProgress?: (rows: number) => void | Promise<void>;
  checkpoint?: () => Promise<void>;
  /** A topic the chunk wrote to (first time in this attempt). */
  onTopic?: (topic: string) => void | Promise<void>;
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
  async run(job: ChunkJob, opts: RunOptions): Promise<number> {
    const { deps } = this;
    const log: Logger = deps.logs.get(`connector.${job.connector}.jobs`, { connector: job.connector, job: job.jobId, chunk: job.index });
    const plugin = deps.registry.connector(job.connectorClass);
    if (!plugin || plugin.type !== 'source') throw new ConnectError(`Chunk of ${job.connector}: no source connector plugin ${job.connectorClass} on this worker`);
    const connector = (await plugin.create()) as SourceConnector;
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
    opts: RunOptions,
    r: { log: Logger; plugin: unknown; runner: import('@ferry/core').ChunkRunner; config: Record<string, string>; taskConfig: Record<string, string> },
  ): Promise<number> {
    const { deps } = this;
    const { log, runner, config, taskConfig } = r;
    const converters = buildConverters(config, deps.workerConfig, deps.registry);
    const transforms = deps.transforms.build(config);
    const topic = deps.settings['jobs.marker.topic'];
    const ref = chunkRef(deps.settings['client.id'], job.connector, job.jobId, job.chunkId ?? job.index);
    const labels = { connector: job.connector };
    const metrics = deps.metrics;
    const taskId = job.taskId ?? 0;
    const taskLabels = { connector: job.connector, task: String(taskId) };
    const topics = new Set<string>();
    // errors.tolerance / dead-letter queue as in the task: a dead-letter record is added to the page being committed.
    let pageDlq: OutMessage[] | null = null;
    const errors = new ErrorReporter(ErrorHandlingConfig.parse(config), {
      connector: job.connector,
      taskId,
      logger: log,
      metrics,
      dlqProducer: {
        connect: async () => {},
        disconnect: async () => {},
        send: async (ms) => {
          if (!pageDlq) throw new ConnectError('Dead-letter record outside a page');
          pageDlq.push(...ms);
          return [];
        },
      },
      admin: deps.backbone.admin(),
      redact: (x) => deps.logs.redactor.redact(x),
      fallbackSerialize: (rec) => ({
        key: rec.key === null || rec.key === undefined ? null : Buffer.from(safeJson(rec.key)),
        value: rec.value === null || rec.value === undefined ? null : Buffer.from(safeJson(rec.value)),
      }),
    });
    const classOf = (stage: Stage): string | undefined =>
      stage === 'KEY_CONVERTER' ? converters.keyClass : stage === 'VALUE_CONVERTER' ? converters.valueClass : stage === 'HEADER_CONVERTER' ? converters.headerClass : undefined;
    const report = (err: unknown, stage: Stage, record: ConnectRecord) =>
      errors.report(err, { stage, record, className: classOf(stage) ?? (err as { className?: string }).className });
    await this.ensureMarkerTopic();
    const producer = deps.backbone.transactional!({ transactionalId: ref });
    try {
      await producer.connect();
      // A stable read (require_stable): the fenced attempt's last transaction is complete before its marker is read.
      let waited = false;
      const prev = await producer.readMarker(ref, topic, {
        signal: opts.signal,
        onPending: () => {
          if (!waited) log.debug('Waiting for the previous attempt\'s transaction to complete before reading the chunk position');
          waited = true;
        },
      });
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
          // Dead-letter records of this page go into the page's own transaction.
          pageDlq = messages;
          let dead = 0;
          metrics.sourceRecordPoll.inc(taskLabels, records.length);
          for (const original of records) {
            let r: SourceRecord | null;
            try {
              r = transforms.empty ? original : (transforms.apply(original) as SourceRecord | null);
            } catch (err) {
              const before = messages.length;
              await report(err, 'TRANSFORMATION', original);
              dead += messages.length - before;
              continue;
            }
            if (r === null) continue;
            let stage: Stage = 'KEY_CONVERTER';
            try {
              const key = converters.key.fromConnectData(r.topic, r.keySchema, r.key, r.headers);
              stage = 'VALUE_CONVERTER';
              const value = converters.value.fromConnectData(r.topic, r.valueSchema, r.value, r.headers);
              stage = 'HEADER_CONVERTER';
              const headers = r.headers?.length ? r.headers.map((h) => ({ key: h.key, value: converters.header.fromConnectHeader(r.topic, h.key, h.schema, h.value) })) : undefined;
              messages.push({ topic: r.topic, partition: r.kafkaPartition ?? null, key, value, headers, timestamp: r.timestamp ?? Date.now() });
            } catch (err) {
              const before = messages.length;
              await report(err, stage, r);
              dead += messages.length - before;
              continue;
            }
            if (!topics.has(r.topic)) {
              topics.add(r.topic);
              await opts.onTopic?.(r.topic);
            }
          }
          pageDlq = null;
          const written = messages.length - dead;
          rows += records.length;
          position = pos;
          await commit(messages, { rows, position });
          metrics.sourceRecordWrite.inc(taskLabels, written);
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
