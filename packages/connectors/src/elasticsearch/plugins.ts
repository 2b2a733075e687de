/**
 * The Elasticsearch/OpenSearch plugin as the registry sees it: names, version
 * and config declaration. The connector (and both clients) load when one is
 * created.
 */
import type { ConnectorPlugin, SinkConnectorPlugin } from '@ferry/core';
import { FERRY_VERSION } from '@ferry/connector-kit';
import { ElasticsearchSinkConfig, type ElasticsearchSinkOptions } from './config.js';

const VERSION = FERRY_VERSION;

export const ElasticsearchSink: SinkConnectorPlugin<ElasticsearchSinkOptions> = {
  type: 'sink',
  className: 'ElasticsearchSink',
  aliases: [
    'io.confluent.connect.elasticsearch.ElasticsearchSinkConnector',
    'ElasticsearchSinkConnector',
    'OpenSearchSink',
    'io.aiven.kafka.connect.opensearch.OpensearchSinkConnector',
  ],
  version: VERSION,
  description: 'Writes records to Elasticsearch or OpenSearch indices or data streams with idempotent _bulk requests.',
  config: ElasticsearchSinkConfig,
  create: async () => new (await import('./sink-connector.js')).ElasticsearchSinkConnector(),
};

export const plugins: ConnectorPlugin<any>[] = [ElasticsearchSink];
