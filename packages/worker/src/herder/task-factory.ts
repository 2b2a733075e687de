import { safeJson } from '../runtime/safe-json.js';
import type { Connector, ConnectorPlugin, SourceConnector, SinkConnector, TaskConfig } from '@ferry/core';
import type { BackboneProducer } from '../backbone/backbone.js';
import type { KafkaConnection } from '../backbone/kafka-connection.js';
import { SharedProducers } from '../runtime/shared-producers.js';
import { connectorConnections } from '../config/kafka-client-config.js';
import { buildConverters } from '../runtime/converters.js';
import { ErrorHandlingConfig, ErrorReporter } from '../runtime/error-handling.js';
import { SinkTaskRunner } from '../runtime/sink-task-runner.js';
import { compileJavaRegex } from '../transforms/java-regex.js';
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
  onStateChange(state: import('../stores/contracts.js').TaskState, detail: StateDetail): void;
  onTopic(topic: string): void;
  /** Stored (unresolved) connector and task configs, carried by chunked jobs to the worker that runs them. */
  rawConfig?: Record<string, string>;
  rawTaskConfig?: TaskConfig;
  /** Exactly-once sources: the task's transactional producer and its transaction boundaries. */
  exactlyOnce?: { producer: BackboneProducer; transactions: import('../runtime/source-task-runner.js').SourceTransactions };
}

/** Wires a task with its converters, transforms, error policy and backbone clients. */
export class TaskFactory {
  /** Dead-letter producers, one per distinct connection ('' = the worker's own). */
  private readonly dlqProducers = new Map<string, Promise<BackboneProducer>>();

  /**
   * The producer source tasks share: every task without exactly-once and
   * without `producer.override.*` writes through the worker's one producer
   * (see SharedProducers for what each task keeps of its own).
   */
  readonly sourceProducers: SharedProducers;

  constructor(private readonly deps: HerderDeps) {
    this.sourceProducers = new SharedProducers(() => deps.backbone.producer({ clientId: `${deps.settings['client.id']}-source-producer` }));
  }

  /** One shared producer for dead-letter records of every task with the same producer connection. */
  private sharedDlqProducer(connection: KafkaConnection | undefined): Promise<BackboneProducer> {
    const key = connection ? JSON.stringify(connection) : '';
    let p = this.dlqProducers.get(key);
    if (!p) {
      p = (async () => {
        const prod = this.deps.backbone.producer({ clientId: `${this.deps.settings['client.id']}-dlq`, connection });
        try {
          await prod.connect();
        } catch (err) {
          this.dlqProducers.delete(key);
          throw err;
        }
        return prod;
      })();
      this.dlqProducers.set(key, p);
    }
    return p;
  }

  create(spec: TaskSpec): SourceTaskRunner | SinkTaskRunner {
    const { deps } = this;
    const logger = deps.logs.get(`connector.${spec.connector}.task`, { connector: spec.connector, task: spec.taskId });
    const converters = buildConverters(spec.connectorConfig, deps.workerConfig, deps.registry);
    const transforms = deps.transforms.build(spec.connectorConfig);
    const errorSettings = ErrorHandlingConfig.parse(spec.connectorConfig);
    const dlqTopic = errorSettings['errors.deadletterqueue.topic.name'];
    // The connector's allowed producer./consumer.override.* options (throws ConfigError: the task fails with it).
    const connections = connectorConnections(spec.connectorConfig, deps.workerConfig);
    let dlq: BackboneProducer | undefined;
    if (dlqTopic) {
      const lazy = () => this.sharedDlqProducer(connections.producer);
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
      redact: (s) => deps.logs.redactor.redact(s),
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
      // Exactly-once tasks write through their transactional producer; a task
      // with producer.override.* (its own connection or producer settings)
      // gets a producer of its own; every other task on a Kafka backbone
      // shares the worker's (Kinesis producers hold no broker connections and
      // gain nothing from queueing behind each other).
      const ownProducer = deps.backbone.name !== 'kafka' || Object.keys(spec.connectorConfig).some((k) => k.startsWith('producer.override.'));
      const producer = spec.exactlyOnce
        ? spec.exactlyOnce.producer
        : ownProducer
          ? lazyConnected(deps.backbone.producer({ clientId, connection: connections.producer }))
          : this.sourceProducers.lease('');
      return new SourceTaskRunner({
        ...base,
        task,
        producer,
        transactions: spec.exactlyOnce?.transactions,
        offsetStore: deps.offsetStore,
        jobs: deps.jobs
          ? (signal) =>
              deps.jobs!.forTask({
                connector: spec.connector,
                connectorClass: spec.plugin.className,
                config: spec.rawConfig ?? spec.connectorConfig,
                taskConfig: spec.rawTaskConfig ?? spec.taskConfig,
                signal,
                taskId: spec.taskId,
                onTopic: spec.onTopic,
              })
          : undefined,
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
        connection: connections.consumer,
        ...(deps.settings['consumer.group.instance.id'] ? { groupInstanceId: `${deps.settings['consumer.group.instance.id']}-${spec.connector}-${spec.taskId}` } : {}),
      }),
      groupId: `connect-${spec.connector}`,
      subscription: regex ? { pattern: compileJavaRegex(regex, { fullMatch: true }) } : { topics },
      commitIntervalMs: deps.settings['offset.flush.interval.ms'],
    });
  }

  async close(): Promise<void> {
    await this.sourceProducers.close();
    const all = [...this.dlqProducers.values()];
    this.dlqProducers.clear();
    for (const p of all) await (await p.catch(() => undefined))?.disconnect().catch(() => undefined);
  }
}

/** A producer that connects on its first send and disconnects only if it connected. */
function lazyConnected(producer: BackboneProducer): BackboneProducer {
  let connected: Promise<void> | undefined;
  const lazy: BackboneProducer = {
    connect: () =>
      (connected ??= producer.connect().catch((e) => {
        connected = undefined;
        throw e;
      })),
    send: async (m) => {
      await lazy.connect();
      return producer.send(m);
    },
    disconnect: async () => {
      if (connected) await producer.disconnect();
    },
  };
  return lazy;
}

