import type { ChunkRunner } from './chunked-work.js';
import type { ConfigDef, ConnectorConfig, TaskConfig } from './config.js';
import type { FieldErrors } from './errors/index.js';
import type { Logger } from './logger.js';
import type { OffsetStorageReader } from './source-task.js';
import type { SourceTask } from './source-task.js';
import type { SinkTask } from './sink-task.js';

/** What the runtime offers a running connector. */
export interface ConnectorContext {
  readonly connectorName: string;
  readonly logger: Logger;
  /** Aborted when the connector is stopping; background work should end. */
  readonly signal: AbortSignal;
  /**
   * Asks the runtime to call `taskConfigs()` again and restart the tasks
   * whose configs changed (e.g. new tables appeared).
   */
  requestTaskReconfiguration(): void;
  /** Fails the connector with this error (shown in its status). */
  raiseError(err: Error): void;
}

/** What the runtime offers a running source connector. */
export interface SourceConnectorContext extends ConnectorContext {
  readonly offsetReader: OffsetStorageReader;
}

interface ConnectorBase {
  /**
   * Starts the connector with its raw config. Parse it with the plugin's
   * {@link ConfigDef}; throw {@link ConfigError} to reject it.
   */
  start(config: ConnectorConfig, context: ConnectorContext): Promise<void> | void;
  /** Splits the work into at most `maxTasks` task configs. */
  taskConfigs(maxTasks: number): Promise<TaskConfig[]> | TaskConfig[];
  stop(): Promise<void> | void;
  /**
   * Extra validation that needs I/O (a table exists, a bucket is reachable).
   * Called by `config/validate` and before creation, after the static checks
   * of the plugin's ConfigDef passed. Returns errors by field name.
   */
  validate?(config: ConnectorConfig): Promise<FieldErrors> | FieldErrors;
}

export interface SourceConnector extends ConnectorBase {
  createTask(): SourceTask;
  /**
   * Runs chunks of work its tasks submitted through {@link SourceTaskContext.jobs}. Called on a
   * fresh, unstarted instance on whichever worker picks a chunk up.
   */
  createChunkRunner?(work: string): ChunkRunner | undefined;
  /**
   * Validates offsets a user wants to write through `PATCH /offsets`; throw
   * {@link ConfigError} to reject them. Without it any JSON maps are accepted.
   */
  alterOffsets?(
    config: ConnectorConfig,
    offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> | null }>,
  ): Promise<void> | void;
}

export interface SinkConnector extends ConnectorBase {
  createTask(): SinkTask;
}

export type Connector = SourceConnector | SinkConnector;

/** Common plugin metadata. */
export interface PluginInfo<T = unknown> {
  /** The class name users put in `connector.class` (our name). */
  readonly className: string;
  /** Other accepted names, e.g. Kafka Connect's fully qualified class names. */
  readonly aliases?: readonly string[];
  readonly version: string;
  /** The single declaration of the plugin's options. */
  readonly config: ConfigDef<T>;
  /** One line for docs and the plugin list. */
  readonly description?: string;
}

/**
 * `create()` may return a promise: a plugin whose implementation needs a
 * client library (a database driver, a cloud SDK) can load it with `import()`
 * there, so a worker that only lists the plugin, validates its config
 * statically or runs other connectors never loads it. Everything else on the
 * plugin (name, type, version, config) must be available without it.
 */
export interface SourceConnectorPlugin<T = unknown> extends PluginInfo<T> {
  readonly type: 'source';
  create(): SourceConnector | Promise<SourceConnector>;
}

export interface SinkConnectorPlugin<T = unknown> extends PluginInfo<T> {
  readonly type: 'sink';
  create(): SinkConnector | Promise<SinkConnector>;
}

export type ConnectorPlugin<T = unknown> = SourceConnectorPlugin<T> | SinkConnectorPlugin<T>;
