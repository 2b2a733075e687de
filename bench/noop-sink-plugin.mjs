// A sink that does nothing with its records: bench/vs-kafka-connect.ts loads
// it through plugin.path to measure the runtime alone (fetch, convert, put).
import { defineConfig } from '@ferry/core';

export const plugins = [
  {
    type: 'sink',
    className: 'NoopSink',
    version: 'bench',
    config: defineConfig({}),
    create: () => ({
      start() {},
      taskConfigs: () => [{}],
      createTask: () => ({ start: async () => {}, put: async () => {}, stop: async () => {} }),
      stop() {},
    }),
  },
];
