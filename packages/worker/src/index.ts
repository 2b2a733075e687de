/** @ferry/worker: the runtime that runs connectors. */
export { StandaloneWorker, VERSION, type StandaloneOptions } from './worker.js';
export { DistributedWorker, type DistributedOptions } from './distributed/distributed-worker.js';
export { Herder } from './herder/herder.js';
export { PluginRegistry, type AnyPlugin } from './plugins/registry.js';
export { WorkerConfigDef, loadWorkerConfig, envOverrides } from './config/worker-config.js';
export { ConfigProviders, resolveConfig, maskConfig, restorePlaceholders } from './config/config-providers.js';
export { JsonConverter, StringConverter, ByteArrayConverter, SimpleHeaderConverter, builtinConverters } from './converters/index.js';
export { KafkaBackbone } from './backbone/kafka-backbone.js';
export { PlatformaticBackbone } from './backbone/platformatic-backbone.js';
export { createBackbone, UnsupportedBackboneOptionError } from './backbone/create-backbone.js';
export type { Backbone, BackboneProducer, BackboneConsumer, BackboneAdmin, OutMessage, InMessage } from './backbone/backbone.js';
export { FileOffsetStore } from './stores/file-offset-store.js';
export { MemoryOffsetStore } from './stores/memory-offset-store.js';
export type { OffsetStore, ConfigStore, StatusStore, ConnectorRecord, TargetState, ConnectorState, TaskState, StateEntry } from './stores/contracts.js';
export { LogManager } from './logging.js';
export { WorkerMetrics } from './metrics.js';
