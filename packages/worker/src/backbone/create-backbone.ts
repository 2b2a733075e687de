import { ConfigError } from '@ferry/core';
import type { LogManager } from '../logging.js';
import type { WorkerSettings } from '../config/worker-config.js';
import { buildKafkaConnections, connectionSecrets } from '../config/kafka-client-config.js';
import type { Backbone } from './backbone.js';
import { PlatformaticBackbone } from './platformatic-backbone.js';
import { parseAssignmentStrategy } from './assignors.js';

/** The worker refuses to start with a combination the chosen client cannot honour (the field is named). */
export class UnsupportedBackboneOptionError extends ConfigError {
  override readonly name = 'UnsupportedBackboneOptionError';
  constructor(field: string, message: string) {
    super({ [field]: [message] }, message);
  }
}

/**
 * The one place that picks and builds the worker's backbone from its settings
 * (`backbone`, `kafka.client`). Only the chosen client library loads: the AWS
 * SDK with `backbone=kinesis`, kafkajs with `kafka.client=kafkajs`.
 */
export async function createBackbone(settings: WorkerSettings, raw: Record<string, string>, logs: LogManager): Promise<Backbone> {
  if (settings.backbone === 'kinesis') return (await import('./kinesis/create.js')).createKinesisBackbone(settings, logs);
  const connections = buildKafkaConnections(raw);
  // Credentials never reach a log line or a status trace, whatever a client library prints.
  for (const s of connectionSecrets(connections)) logs.redactor.add(s);
  const strategy = parseAssignmentStrategy(settings['consumer.partition.assignment.strategy']);
  const common = {
    connections,
    clientId: settings['client.id'],
    logger: logs.get('backbone'),
    sessionTimeoutMs: settings['consumer.session.timeout.ms'],
    heartbeatIntervalMs: settings['consumer.heartbeat.interval.ms'],
    fetchMaxWaitMs: settings['consumer.fetch.max.wait.ms'],
  };
  if (settings['kafka.client'] === 'kafkajs') {
    if (strategy !== 'range') {
      throw new UnsupportedBackboneOptionError(
        'consumer.partition.assignment.strategy',
        `consumer.partition.assignment.strategy=${strategy} needs kafka.client=platformatic: kafkajs has no cooperative rebalancing`,
      );
    }
    if (settings['consumer.group.instance.id']) {
      throw new UnsupportedBackboneOptionError(
        'consumer.group.instance.id',
        'consumer.group.instance.id (static membership) needs kafka.client=platformatic: kafkajs has no static membership',
      );
    }
    return new (await import('./kafka-backbone.js')).KafkaBackbone(common);
  }
  return new PlatformaticBackbone({ ...common, metadataMaxAgeMs: settings['metadata.max.age.ms'], assignmentStrategy: strategy });
}
