/** PostgreSQL connectors: a query-based source, a change-data-capture source and a sink. */
import type { ConnectorPlugin } from '@ferry/core';
import { PostgresSource } from './source.js';
import { PostgresCdcSource } from './cdc-source.js';
import { PostgresSink } from './sink.js';

export { PostgresSource, PostgresCdcSource, PostgresSink };
/** Plans a parallel snapshot (used by the benchmark). */
export { planSnapshot } from './cdc-chunks.js';
export const plugins: ConnectorPlugin<any>[] = [PostgresSource, PostgresCdcSource, PostgresSink];
