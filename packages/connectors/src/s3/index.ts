/**
 * Amazon S3 (and S3-compatible stores): S3Sink writes partitioned objects
 * exactly once; S3Source restores them to their topics or reads any prefix.
 */
import type { ConnectorPlugin } from '@ferry/core';
import { S3Sink } from './sink-connector.js';
import { S3Source } from './source-connector.js';

export { S3Sink } from './sink-connector.js';
export { S3Source } from './source-connector.js';
export { S3SinkTask } from './sink-task.js';
export { S3SourceTask } from './source-task.js';

export const plugins: ConnectorPlugin<any>[] = [S3Sink, S3Source];
