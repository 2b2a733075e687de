import { FileStreamSink } from './file-stream-sink.js';
import { FileStreamSource } from './file-stream-source.js';

export { FileStreamSink, FileStreamSinkConfig } from './file-stream-sink.js';
export { FileStreamSource, FileStreamSourceConfig } from './file-stream-source.js';
export const plugins = [FileStreamSource, FileStreamSink];
