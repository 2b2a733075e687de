/**
 * @ferry/connectors: every bundled connector plugin. The worker builds its
 * registry from `allPlugins`; tests may build their own from any subset.
 */
import type { ConnectorPlugin } from '@ferry/core';
import { plugins as bullmq } from './bullmq/index.js';
import { plugins as elasticsearch } from './elasticsearch/index.js';
import { plugins as kinesis } from './kinesis/index.js';
import { plugins as datagen } from './datagen/index.js';
import { plugins as file } from './file/index.js';
import { plugins as postgres } from './postgres/index.js';
import { plugins as s3 } from './s3/index.js';

export const allPlugins: ConnectorPlugin<any>[] = [
  ...bullmq,
  ...elasticsearch,
  ...kinesis,
  ...datagen,
  ...file,
  ...postgres,
  ...s3,
];
