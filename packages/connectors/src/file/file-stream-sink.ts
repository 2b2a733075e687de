import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  Config,
  defineConfig,
  type ConnectorConfig,
  type SinkConnector,
  type SinkConnectorPlugin,
  type SinkRecord,
  type SinkTask,
  type SinkTaskContext,
  type TaskConfig,
  type TopicPartitionOffset,
} from '@ferry/core';

export const FileStreamSinkConfig = defineConfig({
  file: Config.string({ doc: 'The file lines are appended to.', nonEmpty: true, importance: 'HIGH' }),
  'file.sync': Config.bool({
    doc: "true: flush() makes the written lines durable (fsync) before offsets are committed. false: only the writes, as Kafka Connect's FileStreamSink does (a crash of the machine can lose lines whose offsets were committed).",
    default: true,
  }),
});

function lineOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'object') {
    // A replacer slows every value down: only values holding a bigint (JSON.stringify throws on them) need one.
    try {
      return JSON.stringify(v);
    } catch {
      return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    }
  }
  return String(v);
}

/**
 * Appends each record's value as a line; flush() makes them durable (fsync,
 * unless file.sync=false) before offsets are committed. Writes are synchronous, as Kafka Connect's
 * FileStreamSink's are: one write per batch is cheaper than a round trip
 * through the thread pool.
 */
class FileStreamSinkTask implements SinkTask {
  private fd: number | undefined;
  private dirty = false;
  private sync = true;

  async start(config: TaskConfig, _ctx: SinkTaskContext): Promise<void> {
    const c = FileStreamSinkConfig.parse(config);
    this.sync = c['file.sync'];
    await mkdir(dirname(c.file), { recursive: true });
    this.fd = openSync(c.file, 'a');
  }

  async put(records: SinkRecord[]): Promise<void> {
    if (records.length === 0) return;
    let text = '';
    for (const r of records) text += lineOf(r.value) + '\n';
    writeSync(this.fd!, text);
    this.dirty = true;
  }

  async flush(_offsets: TopicPartitionOffset[]): Promise<void> {
    if (!this.dirty) return;
    if (this.sync) fsyncSync(this.fd!);
    this.dirty = false;
  }

  async stop(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

class FileStreamSinkConnector implements SinkConnector {
  private config: ConnectorConfig = {};
  start(config: ConnectorConfig): void {
    FileStreamSinkConfig.parse(config);
    this.config = config;
  }
  taskConfigs(): TaskConfig[] {
    // One writer per file: more tasks would interleave partial writes.
    return [{ ...this.config }];
  }
  createTask(): SinkTask {
    return new FileStreamSinkTask();
  }
  stop(): void {}
}

export const FileStreamSink: SinkConnectorPlugin = {
  type: 'sink',
  className: 'FileStreamSink',
  aliases: ['org.apache.kafka.connect.file.FileStreamSinkConnector', 'FileStreamSinkConnector'],
  version: '0.1.0',
  description: 'Record values appended to a file, one line each.',
  config: FileStreamSinkConfig,
  create: () => new FileStreamSinkConnector(),
};
