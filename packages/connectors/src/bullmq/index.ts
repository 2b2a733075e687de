export { BullMqSink, plugins } from './plugins.js';
export { BullMqSinkConnector } from './sink.js';
export { BullMqSinkConfig } from './config.js';
