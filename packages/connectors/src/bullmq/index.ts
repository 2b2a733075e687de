import { BullMqSink } from './sink.js';

export { BullMqSink } from './sink.js';
export { BullMqSinkConfig } from './config.js';
export const plugins = [BullMqSink];
