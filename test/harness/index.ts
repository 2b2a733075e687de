/** Helpers for end-to-end tests: a real worker process, the real local servers. */
export { startWorker, killAllWorkers, readLines, type WorkerHandle, type StartOptions, type HttpAnswer } from './worker.js';
export { produce, consume, createTopic, topicSize, committedTotal, drained, BOOTSTRAP, type TestMessage, type ConsumedMessage } from './kafka.js';
export { requireStack } from './stack.js';
export { uniqueName, waitFor } from './util.js';
export { readCommitted, type CommittedRecord } from './java-reader.js';
