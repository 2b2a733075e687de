import type { ConnectorConfig, ConnectorContext, FieldErrors, SourceConnector, TaskConfig } from '@ferry/core';
import { checkBucket, createS3Client, toConnectError } from './connection.js';
import { topicPrefix } from './keys.js';
import { listFolders } from './source-readers.js';
import { SourceOptions, resolveMode, type SourceSettings, type Unit } from './source-config.js';
import { S3SourceTask } from './source-task.js';
import { RESTORE_WORK, runRestoreChunk } from './source-restore-job.js';

const PARTITION_DIR = /\/partition=\d+\/$/;

export class S3SourceConnector implements SourceConnector {
  private config: ConnectorConfig = {};
  private units: Unit[] = [];

  async start(config: ConnectorConfig, _ctx: ConnectorContext): Promise<void> {
    const cfg = SourceOptions.parse(config);
    this.config = config;
    this.units = resolveMode(cfg.mode) === 'generic' ? genericUnits(cfg) : await restoreUnits(cfg);
  }

  taskConfigs(maxTasks: number): TaskConfig[] {
    const n = Math.max(1, Math.min(maxTasks, this.units.length));
    const groups: Unit[][] = Array.from({ length: n }, () => []);
    this.units.forEach((u, i) => groups[i % n].push(u));
    return groups.map((g) => ({ ...this.config, 's3.source.units': JSON.stringify(g) }));
  }

  createTask(): S3SourceTask {
    return new S3SourceTask();
  }

  createChunkRunner(work: string) {
    return work === RESTORE_WORK ? { runChunk: runRestoreChunk } : undefined;
  }

  stop(): void {}

  validate(config: ConnectorConfig): Promise<FieldErrors> {
    return checkBucket(config);
  }
}

function genericUnits(cfg: SourceSettings): Unit[] {
  return cfg['s3.prefix'].map((p) => ({ kind: 'generic', prefix: p === '/' ? '' : p }));
}

/**
 * One unit per partition folder when the sink used the default partitioner
 * (partition=<n>/), otherwise one per topic: the files of a Kafka partition
 * are then spread over many folders and must be merged by one task.
 */
async function restoreUnits(cfg: SourceSettings): Promise<Unit[]> {
  const client = createS3Client(cfg);
  const bucket = cfg['s3.bucket.name'];
  const dir = cfg['topics.dir'];
  try {
    let topics = cfg.topics;
    if (!topics.length) {
      const base = dir ? dir + '/' : '';
      topics = (await listFolders(client, bucket, base)).map((p) => p.slice(base.length, -1));
    }
    const units: Unit[] = [];
    for (const topic of topics) {
      const prefix = topicPrefix(dir, topic);
      const folders = await listFolders(client, bucket, prefix);
      if (folders.length && folders.every((f) => PARTITION_DIR.test(f))) for (const f of folders) units.push({ kind: 'restore', topic, dir: f });
      else units.push({ kind: 'restore', topic, dir: prefix });
    }
    return units;
  } catch (err) {
    throw toConnectError(err, `listing s3://${bucket}/${dir}`, cfg);
  } finally {
    client.destroy();
  }
}
