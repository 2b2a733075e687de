/**
 * The BullMQ plugin as the registry sees it: name, version and config
 * declaration. The connector (and bullmq, ioredis) load when one is created.
 */
import type { ConnectorPlugin, SinkConnectorPlugin } from '@ferry/core';
import { BullMqSinkConfig, type BullMqSinkOptions } from './config.js';

const VERSION = '0.1.0';

export const BullMqSink: SinkConnectorPlugin<BullMqSinkOptions> = {
  type: 'sink',
  className: 'BullMqSink',
  version: VERSION,
  description: 'Adds each record as a job to a BullMQ queue on Redis (deterministic job ids: a replay adds no duplicate).',
  config: BullMqSinkConfig,
  create: async () => new (await import('./sink.js')).BullMqSinkConnector(),
};

export const plugins: ConnectorPlugin<any>[] = [BullMqSink];
