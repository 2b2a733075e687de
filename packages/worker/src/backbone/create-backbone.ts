import type { LogManager } from '../logging.js';
import type { WorkerSettings } from '../config/worker-config.js';
import type { Backbone } from './backbone.js';
import { KafkaBackbone } from './kafka-backbone.js';

/** The one place that picks and builds the worker's backbone from its settings. */
export function createBackbone(settings: WorkerSettings, _raw: Record<string, string>, logs: LogManager): Backbone {
  return new KafkaBackbone({
    brokers: settings['bootstrap.servers'],
    clientId: settings['client.id'],
    logger: logs.get('backbone'),
    sessionTimeoutMs: settings['consumer.session.timeout.ms'],
    heartbeatIntervalMs: settings['consumer.heartbeat.interval.ms'],
    fetchMaxWaitMs: settings['consumer.fetch.max.wait.ms'],
  });
}
