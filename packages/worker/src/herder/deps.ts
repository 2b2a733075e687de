import type { FieldErrors } from '@ferry/core';
import type { ConfigStore, OffsetStore, StatusStore } from '../stores/contracts.js';
import type { Backbone } from '../backbone/backbone.js';
import type { ConfigProviders } from '../config/config-providers.js';
import type { WorkerSettings } from '../config/worker-config.js';
import type { LogManager } from '../logging.js';
import type { WorkerMetrics } from '../metrics.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { RecordTransformer } from '../runtime/transform-chain.js';

/** Builds a connector's transform chain and validates its transform options. */
export interface TransformsFactory {
  build(connectorConfig: Record<string, string>): RecordTransformer;
  validate(connectorConfig: Record<string, string>): FieldErrors;
}

/** What a herder is built from: stores, backbone, plugins and observability. */
export interface HerderDeps {
  workerId: string;
  workerConfig: Record<string, string>;
  settings: WorkerSettings;
  registry: PluginRegistry;
  backbone: Backbone;
  offsetStore: OffsetStore;
  configStore: ConfigStore;
  statusStore: StatusStore;
  logs: LogManager;
  metrics: WorkerMetrics;
  transforms: TransformsFactory;
  /** The config providers the worker declares (none when absent). */
  configProviders?: ConfigProviders;
  /** Chunked jobs offered to source tasks. */
  jobs?: import('../jobs/jobs-facility.js').JobsFacility;
}
