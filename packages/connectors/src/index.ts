/**
 * @ferry/connectors: every bundled connector plugin. The worker builds its
 * registry from `allPlugins`; tests may build their own from any subset.
 * Only the plugins' declarations load here: a connector's implementation and
 * its client library load when the runtime first creates one (see each
 * folder's plugins.ts).
 */
import type { ConnectorPlugin } from '@ferry/core';
import { plugins as bullmq } from './bullmq/plugins.js';
import { plugins as elasticsearch } from './elasticsearch/plugins.js';
import { plugins as kinesis } from './kinesis/plugins.js';
import { plugins as datagen } from './datagen/index.js';
import { plugins as file } from './file/index.js';
import { plugins as postgres } from './postgres/plugins.js';
import { plugins as s3 } from './s3/plugins.js';

export const allPlugins: ConnectorPlugin<any>[] = [
  ...bullmq,
  ...elasticsearch,
  ...kinesis,
  ...datagen,
  ...file,
  ...postgres,
  ...s3,
];
