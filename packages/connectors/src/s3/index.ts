/**
 * Amazon S3 (and S3-compatible stores): S3Sink writes partitioned objects
 * exactly once; S3Source restores them to their topics or reads any prefix.
 */
export { S3Sink, S3Source, plugins } from './plugins.js';
export { S3SinkTask } from './sink-task.js';
export { S3SourceTask } from './source-task.js';
