/**
 * The PostgreSQL plugins as the registry sees them: names, versions and
 * config declarations. The connectors (and the pg driver) load when one is
 * created.
 */
import type { ConnectorPlugin, SinkConnectorPlugin, SourceConnectorPlugin } from '@ferry/core';
import { PostgresCdcConfig, type PostgresCdcOptions } from './cdc-config.js';
import { PostgresSinkConfig, type PostgresSinkOptions } from './sink-config.js';
import { PostgresSourceConfig, type PostgresSourceOptions } from './source-config.js';
import { VERSION } from './version.js';

export const PostgresSource: SourceConnectorPlugin<PostgresSourceOptions> = {
  type: 'source',
  className: 'PostgresSource',
  aliases: ['io.confluent.connect.jdbc.JdbcSourceConnector', 'JdbcSourceConnector'],
  version: VERSION,
  description: 'Copies PostgreSQL tables (or a query) into topics by polling: bulk, incrementing, timestamp or timestamp+incrementing.',
  config: PostgresSourceConfig,
  create: async () => new (await import('./source.js')).PostgresSourceConnector(),
};

export const PostgresCdcSource: SourceConnectorPlugin<PostgresCdcOptions> = {
  type: 'source',
  className: 'PostgresCdcSource',
  aliases: ['io.debezium.connector.postgresql.PostgresConnector', 'PostgresConnector'],
  version: VERSION,
  description: 'Streams row changes from PostgreSQL logical replication (pgoutput) as Debezium-style change events, after an optional consistent snapshot.',
  config: PostgresCdcConfig,
  create: async () => new (await import('./cdc-source.js')).PostgresCdcConnector(),
};

export const PostgresSink: SinkConnectorPlugin<PostgresSinkOptions> = {
  type: 'sink',
  className: 'PostgresSink',
  aliases: ['io.confluent.connect.jdbc.JdbcSinkConnector', 'JdbcSinkConnector'],
  version: VERSION,
  description: 'Writes records into PostgreSQL tables in bulk transactions: insert, upsert or update, deletes, auto-create/evolve, change events, optional exactly-once.',
  config: PostgresSinkConfig,
  create: async () => new (await import('./sink.js')).PostgresSinkConnector(),
};

export const plugins: ConnectorPlugin<any>[] = [PostgresSource, PostgresCdcSource, PostgresSink];
