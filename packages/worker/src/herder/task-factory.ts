import type { Connector, ConnectorPlugin, SourceConnector, SinkConnector, TaskConfig } from '@ferry/core';
import type { BackboneProducer } from '../backbone/backbone.js';
import { buildConverters } from '../runtime/converters.js';
import { ErrorHandlingConfig, ErrorReporter } from '../runtime/error-handling.js';
import { SinkTaskRunner } from '../runtime/sink-task-runner.js';
import { SourceTaskRunner } from '../runtime/source-task-runner.js';
import type { StateDetail } from '../runtime/task-runner-base.js';
import type { HerderDeps } from './deps.js';

export type { TransformsFactory } from './deps.js';


export interface TaskSpec {
  connector: string;
  connectorConfig: Record<string, string>;
  plugin: ConnectorPlugin<any>;
  instance: Connector;
  taskId: number;
  taskConfig: TaskConfig;
  onStateChange(state: import('@ferry/core').TaskState, detail: StateDetail): void;
  onTopic(topic: string): void;
}

/** Wires a task with its converters, transforms, error policy and backbone clients. */
export class TaskFactory {
  private dlqProducer: Promise<BackboneProducer> | undefined;

  constructor(private readonly deps: HerderDeps) {}

  /** One shared producer for dead-letter records of every task. */
  private sharedDlqProducer(): Promise<BackboneProducer> {
    this.dlqProducer ??= (async () => {
      const p = this.deps.backbone.producer({ clientId: `${this.deps.settings['client.id']}-dlq` });
      try {
        await p.connect();
      } catch (err) {
        this.dlqProducer = undefined;
        throw err;
      }
      return p;
    })();
    return this.dlqProducer;
  }

  create(spec: TaskSpec): SourceTaskRunner | SinkTaskRunner {
    const { deps } = this;
    const logger = deps.logs.get(`connector.${spec.connector}.task`, { connector: spec.connector, task: spec.taskId });
    const converters = buildConverters(spec.connectorConfig, deps.workerConfig, deps.registry);
    const transforms = deps.transforms.build(spec.connectorConfig);
    const errorSettings = ErrorHandlingConfig.parse(spec.connectorConfig);
    const dlqTopic = errorSettings['errors.deadletterqueue.topic.name'];
    let dlq: BackboneProducer | undefined;
    if (dlqTopic) {
      const lazy = () => this.sharedDlqProducer();
      dlq = {
        connect: async () => {
          await lazy();
        },
        send: async (m) => (await lazy()).send(m),
        disconnect: async () => {},
      };
    }
    const errors = new ErrorReporter(errorSettings, {
      connector: spec.connector,
      taskId: spec.taskId,
      logger,
      metrics: deps.metrics,
      dlqProducer: dlq,
      admin: deps.backbone.admin(),
      fallbackSerialize: (r) => ({
        key: r.key === null || r.key === undefined ? null : Buffer.from(safeJson(r.key)),
        value: r.value === null || r.value === undefined ? null : Buffer.from(safeJson(r.value)),
      }),
    });
    const base = {
      connector: spec.connector,
      taskId: spec.taskId,
      taskConfig: spec.taskConfig,
      logger,
      metrics: deps.metrics,
      converters,
      transforms,
      errors,
      onStateChange: spec.onStateChange,
      onTopic: spec.onTopic,
      retryMaxDelayMs: Math.min(errorSettings['errors.retry.delay.max.ms'], 30000),
      retryTimeoutMs: errorSettings['errors.retry.timeout'],
    };
    const clientId = `${deps.settings['client.id']}-${spec.connector}-${spec.taskId}`;
    if (spec.plugin.type === 'source') {
      const task = (spec.instance as SourceConnector).createTask();
      const producer = deps.backbone.producer({ clientId });
      let connected: Promise<void> | undefined;
      const lazyProducer: BackboneProducer = {
        connect: () => (connected ??= producer.connect().catch((e) => {
          connected = undefined;
          throw e;
        })),
        send: async (m) => {
          await lazyProducer.connect();
          return producer.send(m);
        },
        disconnect: async () => {
          if (connected) await producer.disconnect();
        },
      };
      return new SourceTaskRunner({
        ...base,
        task,
        producer: lazyProducer,
        offsetStore: deps.offsetStore,
        offsetFlushIntervalMs: deps.settings['offset.flush.interval.ms'],
      });
    }
    const task = (spec.instance as SinkConnector).createTask();
    const topics = (spec.connectorConfig.topics ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    const regex = spec.connectorConfig['topics.regex'];
    return new SinkTaskRunner({
      ...base,
      task,
      consumer: deps.backbone.consumer({
        groupId: `connect-${spec.connector}`,
        clientId,
        ...(deps.settings['consumer.group.instance.id'] ? { groupInstanceId: `${deps.settings['consumer.group.instance.id']}-${spec.connector}-${spec.taskId}` } : {}),
      }),
      groupId: `connect-${spec.connector}`,
      subscription: regex ? { pattern: new RegExp(`^(?:${regex})$`) } : { topics },
      commitIntervalMs: deps.settings['offset.flush.interval.ms'],
    });
  }

  async close(): Promise<void> {
    const p = this.dlqProducer;
    this.dlqProducer = undefined;
    if (p) await (await p.catch(() => undefined))?.disconnect().catch(() => undefined);
  }
}

function safeJson(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null';
  } catch {
    return String(v);
  }
}
