import type { LogManager } from '../logging.js';
import type { WorkerSettings } from '../config/worker-config.js';
import { buildKafkaConnections, connectionSecrets } from '../config/kafka-client-config.js';
import type { Backbone } from './backbone.js';
import { KafkaBackbone } from './kafka-backbone.js';
import { createKinesisBackbone } from './kinesis/create.js';

/** The one place that picks and builds the worker's backbone from its settings. */
export function createBackbone(settings: WorkerSettings, raw: Record<string, string>, logs: LogManager): Backbone {
  if (settings.backbone === 'kinesis') return createKinesisBackbone(settings, logs);
  const connections = buildKafkaConnections(raw);
  // Credentials never reach a log line or a status trace, whatever a client library prints.
  for (const s of connectionSecrets(connections)) logs.redactor.add(s);
  return new KafkaBackbone({
    connections,
    clientId: settings['client.id'],
    logger: logs.get('backbone'),
    sessionTimeoutMs: settings['consumer.session.timeout.ms'],
    heartbeatIntervalMs: settings['consumer.heartbeat.interval.ms'],
    fetchMaxWaitMs: settings['consumer.fetch.max.wait.ms'],
  });
}
