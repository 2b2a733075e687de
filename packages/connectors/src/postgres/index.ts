/** PostgreSQL connectors: a query-based source, a change-data-capture source and a sink. */
import type { ConnectorPlugin } from '@ferry/core';
import { PostgresSource } from './source.js';

export { PostgresSource };
export const plugins: ConnectorPlugin<any>[] = [PostgresSource];
