/** PostgreSQL connectors: a query-based source, a change-data-capture source and a sink. */
export { PostgresSource, PostgresCdcSource, PostgresSink, plugins } from './plugins.js';
/** Plans a parallel snapshot (used by the benchmark). */
export { planSnapshot } from './cdc-chunks.js';
