/**
 * @ferry/core: the public connector API. Contracts only: every runtime
 * mechanism lives in @ferry/worker.
 */
export * from './errors/index.js';
export type { Logger, LogFn } from './logger.js';
export { silentLogger } from './logger.js';
export type { Schema, SchemaType, Field, SchemaAndValue } from './schema.js';
export { Schemas, LogicalNames, fieldSchema, findField } from './schema.js';
export type {
  ConnectRecord,
  SourceRecord,
  SinkRecord,
  Header,
  TopicPartition,
  TopicPartitionOffset,
  SourcePartition,
  SourceOffset,
  RecordMetadata,
} from './record.js';
export { topicPartitionKey } from './record.js';
export type {
  ConfigType,
  Importance,
  Width,
  FieldOptions,
  ConfigField,
  ConfigOf,
  ConfigKeyInfo,
  ConfigDef,
  ValidationResult,
  CrossCheck,
  ConnectorConfig,
  TaskConfig,
} from './config.js';
export { Config, CONNECTION_OPTION_PATTERN, defineConfig, normalizeConfig } from './config.js';
export type {
  ConnectorContext,
  SourceConnectorContext,
  SourceConnector,
  SinkConnector,
  Connector,
  PluginInfo,
  SourceConnectorPlugin,
  SinkConnectorPlugin,
  ConnectorPlugin,
} from './connector.js';
export type { SourceTask, SourceTaskContext, SourceSignal, OffsetStorageReader, CommittedOffset } from './source-task.js';
export type { SinkTask, SinkTaskContext, ErrantRecordReporter } from './sink-task.js';
export type { Converter, HeaderConverter, ConverterPlugin, HeaderConverterPlugin } from './converter.js';
export type { Transformation, Predicate, TransformationPlugin, PredicatePlugin } from './transform.js';
export { abortableSleep } from './sleep.js';
export type {
  JsonValue,
  JsonObject,
  ChunkPlanItem,
  ChunkedWorkSpec,
  ChunkJobState,
  ChunkJobStatus,
  ChunkJobHandle,
  ChunkJobs,
  ChunkContext,
  ChunkRunner,
} from './chunked-work.js';
