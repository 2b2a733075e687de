import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import {
  ConfigError,
  NotConnectedError,
  RetriableError,
  abortableSleep,
  type ConnectorConfig,
  type ConnectorContext,
  type FieldErrors,
  type SourceConnector,
  type SourceConnectorContext,
  type TaskConfig,
} from '@ferry/core';
import { createKinesisClient, describeError, isConnectionError, isNotFound, listAllShards, validateStream } from './client.js';
import {
  SourceConfig,
  TASK_FOREIGN_SHARDS,
  TASK_SHARDS,
  parseShardTimestamp,
  type ForeignShard,
  type ShardAssignment,
  type SourceSettings,
  type StartPosition,
} from './source-config.js';
import { readShardOffsets, type ShardOffset } from './source-offsets.js';
import { KinesisSourceTask } from './source-task.js';

function parentsOf(s: Shard): string[] {
  return [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => !!p);
}

/**
 * Splits the shards of a stream across tasks and watches for resharding.
 *
 * Design: the connector owns shard discovery. It lists the shards every
 * `kinesis.shard.discovery.interval.ms`; when shards appear that the current
 * task configs do not cover (a split or a merge created them), it asks the
 * runtime for a task reconfiguration. Tasks never list shards themselves;
 * they only hold back a child shard until its parents are finished (see
 * {@link KinesisSourceTask}). Shards whose checkpoint says SHARD_END are not
 * assigned any more.
 */
export class KinesisSourceConnector implements SourceConnector {
  private cfg!: SourceSettings;
  private raw!: ConnectorConfig;
  private ctx!: ConnectorContext;
  private client!: KinesisClient;
  private startedAt = 0;
  /** Shard ids of the first listing: only these start at the configured position. */
  private initialShards: Set<string> | undefined;
  /** Shard ids the current task configs were built from. */
  private covered = new Set<string>();
  private reconfigRequestedAt = 0;
  private readonly stopping = new AbortController();
  private discovery: Promise<void> | undefined;

  async start(config: ConnectorConfig, context: ConnectorContext): Promise<void> {
    this.cfg = SourceConfig.parse(config);
    this.raw = config;
    this.ctx = context;
    this.startedAt = Date.now();
    this.client = createKinesisClient(this.cfg);
    this.discovery = this.discoverLoop();
  }

  async taskConfigs(maxTasks: number): Promise<TaskConfig[]> {
    const stream = this.cfg['kinesis.stream'];
    let shards: Shard[];
    try {
      shards = await listAllShards(this.client, stream, this.stopping.signal);
    } catch (err) {
      throw this.wrap(err, 'listing shards');
    }
    const ids = shards.map((s) => s.ShardId!).filter(Boolean);
    this.initialShards ??= new Set(ids);
    this.covered = new Set(ids);
    this.reconfigRequestedAt = 0;

    const reader = (this.ctx as Partial<SourceConnectorContext>).offsetReader;
    const offsets: Map<string, ShardOffset> = reader ? await readShardOffsets(reader, stream, ids) : new Map();
    const active = shards.filter((s) => !offsets.get(s.ShardId!)?.end).sort((a, b) => a.ShardId!.localeCompare(b.ShardId!));
    if (active.length === 0) return [];

    const startOf = (s: Shard): StartPosition => this.startPosition(s, offsets);
    const n = Math.max(1, Math.min(maxTasks, active.length));
    const groups: ShardAssignment[][] = Array.from({ length: n }, () => []);
    active.forEach((s, i) => groups[i % n].push({ id: s.ShardId!, parents: parentsOf(s), start: startOf(s) }));
    const byId = new Map(active.map((s) => [s.ShardId!, s]));

    const configs = groups.map((group) => {
      const own = new Set(group.map((g) => g.id));
      const foreign: ForeignShard[] = [];
      for (const g of group) {
        for (const p of g.parents) {
          const ps = byId.get(p);
          if (ps && !own.has(p) && !foreign.some((f) => f.id === p)) foreign.push({ id: p, start: startOf(ps) });
        }
      }
      return { ...this.raw, [TASK_SHARDS]: JSON.stringify(group), [TASK_FOREIGN_SHARDS]: JSON.stringify(foreign) };
    });
    this.ctx.logger.info(
      { stream, tasks: configs.length, shards: active.length, finished: shards.length - active.length },
      'Kinesis shards assigned to tasks',
    );
    return configs;
  }

  createTask(): KinesisSourceTask {
    return new KinesisSourceTask();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.discovery;
    this.client?.destroy();
  }

  async validate(config: ConnectorConfig): Promise<FieldErrors> {
    const cfg = SourceConfig.parse(config);
    return validateStream(cfg);
  }

  alterOffsets(
    _config: ConnectorConfig,
    offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> | null }>,
  ): void {
    const errors: string[] = [];
    for (const { partition, offset } of offsets) {
      if (typeof partition?.stream !== 'string' || typeof partition?.shard !== 'string') {
        errors.push(`partition ${JSON.stringify(partition)} must be {"stream": "...", "shard": "shardId-..."}`);
      }
      if (offset === null) continue;
      const seqOk = offset.seq === undefined || (typeof offset.seq === 'string' && /^\d+$/.test(offset.seq));
      const endOk = offset.end === undefined || typeof offset.end === 'boolean';
      if (!seqOk || !endOk || (offset.seq === undefined && offset.end !== true)) {
        errors.push(`offset ${JSON.stringify(offset)} must be {"seq": "<sequence number>"} with an optional "end": true`);
      }
    }
    if (errors.length) throw new ConfigError({ offsets: errors });
  }

  /**
   * Where a shard with no checkpoint starts. LATEST becomes "at the time the
   * connector started" so every task, and every check of a parent, agrees on
   * the same position. A shard created while the connector runs, or whose
   * parent was already read, starts at its beginning: its records follow
   * records already delivered.
   */
  private startPosition(s: Shard, offsets: Map<string, ShardOffset>): StartPosition {
    const id = s.ShardId!;
    const lineageRead = parentsOf(s).some((p) => offsets.has(p));
    if (!this.initialShards!.has(id) || lineageRead) return { type: 'TRIM_HORIZON' };
    switch (this.cfg['kinesis.position']) {
      case 'LATEST':
        return { type: 'AT_TIMESTAMP', timestamp: this.startedAt };
      case 'AT_TIMESTAMP':
        return { type: 'AT_TIMESTAMP', timestamp: parseShardTimestamp(this.cfg['kinesis.shard.timestamp'])! };
      default:
        return { type: 'TRIM_HORIZON' };
    }
  }

  private async discoverLoop(): Promise<void> {
    const interval = this.cfg['kinesis.shard.discovery.interval.ms'];
    const signal = AbortSignal.any([this.ctx.signal, this.stopping.signal]);
    while (!signal.aborted) {
      await abortableSleep(interval, signal);
      if (signal.aborted || this.initialShards === undefined) continue;
      try {
        const shards = await listAllShards(this.client, this.cfg['kinesis.stream'], signal);
        const fresh = shards.map((s) => s.ShardId!).filter((id) => !this.covered.has(id));
        const now = Date.now();
        // Ask again if the runtime has not acted on the last request after a while.
        if (fresh.length > 0 && now - this.reconfigRequestedAt >= Math.max(interval, 30_000)) {
          this.ctx.logger.info({ stream: this.cfg['kinesis.stream'], newShards: fresh }, 'Kinesis resharding detected; reconfiguring tasks');
          this.reconfigRequestedAt = now;
          this.ctx.requestTaskReconfiguration();
        }
      } catch (err) {
        if (signal.aborted) break;
        this.ctx.logger.warn({ stream: this.cfg['kinesis.stream'] }, `Listing Kinesis shards failed: ${describeError(err)}`);
      }
    }
  }

  private wrap(err: unknown, what: string): Error {
    const stream = this.cfg['kinesis.stream'];
    if (isNotFound(err)) return new ConfigError({ 'kinesis.stream': [`Stream ${stream} not found in ${this.cfg['kinesis.region']}`] });
    if (isConnectionError(err)) return new NotConnectedError(`Kinesis unreachable while ${what} of ${stream}: ${describeError(err)}`, { cause: err });
    return new RetriableError(`Kinesis failed while ${what} of ${stream}: ${describeError(err)}`, { cause: err });
  }
}
