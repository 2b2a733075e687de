import {
  abortableSleep,
  Config,
  ConfigError,
  defineConfig,
  type ConnectorConfig,
  type SourceConnector,
  type SourceConnectorPlugin,
  type SourceRecord,
  type SourceTask,
  type SourceTaskContext,
  type TaskConfig,
} from '@ferry/core';
import { generate, schemas, type Quickstart } from './generator.js';
import { FERRY_VERSION } from '@ferry/connector-kit';

export const DatagenConfig = defineConfig({
  'kafka.topic': Config.string({ doc: 'Topic the records go to.', nonEmpty: true, importance: 'HIGH' }),
  quickstart: Config.enum(['users', 'orders', 'pageviews'] as const, {
    doc: 'Shape of the records: users, orders or pageviews (each with a key).',
    default: 'users',
    importance: 'HIGH',
    ignoreCase: true,
  }),
  iterations: Config.long({ doc: 'Records per task; -1 is unbounded.', default: -1, min: -1, importance: 'HIGH' }),
  'max.interval': Config.long({ doc: 'Milliseconds between records; 0 emits as fast as the pipeline takes them.', default: 500, min: 0 }),
  'batch.size': Config.int({ doc: 'Most records returned by one poll when max.interval is 0.', default: 1000, min: 1, max: 100000 }),
});

class DatagenTask implements SourceTask {
  private ctx!: SourceTaskContext;
  private topic = '';
  private quickstart: Quickstart = 'users';
  private iterations = -1;
  private interval = 500;
  private batchSize = 1000;
  private taskId = 0;
  private tasks = 1;
  private next = 0;
  private partition: Record<string, unknown> = {};

  async start(config: TaskConfig, ctx: SourceTaskContext): Promise<void> {
    const c = DatagenConfig.parse(config);
    this.ctx = ctx;
    this.topic = c['kafka.topic'];
    this.quickstart = c.quickstart;
    this.iterations = c.iterations;
    this.interval = c['max.interval'];
    this.batchSize = c['batch.size'];
    this.taskId = Number(config['task.id'] ?? ctx.taskId);
    this.tasks = Number(config['task.count'] ?? 1);
    this.partition = { task: this.taskId };
    const stored = await ctx.offsetReader.offset(this.partition);
    this.next = typeof stored?.position === 'number' ? stored.position : 0;
    ctx.logger.info({ resumeAt: this.next }, 'Datagen task starting');
  }

  async poll(): Promise<SourceRecord[]> {
    if (this.iterations >= 0 && this.next >= this.iterations) {
      await abortableSleep(1000, this.ctx.signal);
      return [];
    }
    if (this.interval > 0) await abortableSleep(this.interval, this.ctx.signal);
    if (this.ctx.signal.aborted) return [];
    let n = this.interval > 0 ? 1 : this.batchSize;
    if (this.iterations >= 0) n = Math.min(n, this.iterations - this.next);
    const { key: keySchema, value: valueSchema } = schemas[this.quickstart];
    const out: SourceRecord[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const index = this.next++;
      const { key, value } = generate(this.quickstart, this.taskId, this.tasks, index);
      out[i] = {
        topic: this.topic,
        keySchema,
        key,
        valueSchema,
        value,
        sourcePartition: this.partition,
        sourceOffset: { position: this.next },
      };
    }
    return out;
  }

  async stop(): Promise<void> {}
}

class DatagenConnector implements SourceConnector {
  private config: ConnectorConfig = {};

  start(config: ConnectorConfig): void {
    DatagenConfig.parse(config);
    this.config = config;
  }

  taskConfigs(maxTasks: number): TaskConfig[] {
    return Array.from({ length: maxTasks }, (_, i) => ({ ...this.config, 'task.id': String(i), 'task.count': String(maxTasks) }));
  }

  createTask(): SourceTask {
    return new DatagenTask();
  }

  stop(): void {}

  /** Offsets written through the REST API: {"task": n} partitions, {"position": records emitted} offsets (or null). */
  alterOffsets(_config: ConnectorConfig, offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> | null }>): void {
    const errors: string[] = [];
    const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    for (const { partition, offset } of offsets) {
      if (!count(partition?.task)) errors.push(`partition ${JSON.stringify(partition)} must be {"task": <task number>}`);
      if (offset !== null && !count(offset.position)) errors.push(`offset ${JSON.stringify(offset)} must be {"position": <a non-negative integer>}`);
    }
    if (errors.length) throw new ConfigError({ offsets: errors });
  }
}

export const DatagenSource: SourceConnectorPlugin = {
  type: 'source',
  className: 'DatagenSource',
  aliases: ['io.confluent.kafka.connect.datagen.DatagenConnector', 'DatagenConnector'],
  version: FERRY_VERSION,
  description: 'Synthetic records (users, orders, pageviews) for demos and benchmarks; resumes where it stopped.',
  config: DatagenConfig,
  create: () => new DatagenConnector(),
};
