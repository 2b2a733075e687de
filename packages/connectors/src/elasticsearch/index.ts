/**
 * Elasticsearch and OpenSearch: a sink writing records as documents with
 * idempotent _bulk requests (one client per product behind a narrow
 * interface).
 */
export { ElasticsearchSink, plugins } from './plugins.js';
export { ElasticsearchSinkConnector, validateAgainstServer } from './sink-connector.js';
export { ElasticsearchSinkTask } from './sink-task.js';
export { ElasticsearchSinkConfig, type ElasticsearchSinkOptions } from './config.js';
export type { BulkClient, Product, ServerInfo } from './bulk-client.js';
export { detectServer } from './bulk-client.js';
export { createBulkClient, connectBulkClient } from './clients.js';
