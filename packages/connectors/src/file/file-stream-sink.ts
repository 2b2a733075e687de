import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  Config,
  ConnectError,
  defineConfig,
  RetriableError,
  type ConnectorConfig,
  type SinkConnector,
  type SinkConnectorPlugin,
  type SinkRecord,
  type SinkTask,
  type SinkTaskContext,
  type TaskConfig,
  type TopicPartitionOffset,
} from '@ferry/core';
import { FERRY_VERSION } from '@ferry/connector-kit';

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
  private file = '';
  /** Bytes in the file: a failed write is cut back to this, so no partial line stays behind. */
  private size = 0;
  /** Bytes known durable (the last successful fsync). */
  private synced = 0;
  private sync = true;

  async start(config: TaskConfig, _ctx: SinkTaskContext): Promise<void> {
    const c = FileStreamSinkConfig.parse(config);
    this.file = c.file;
    this.sync = c['file.sync'];
    await mkdir(dirname(c.file), { recursive: true });
    this.fd = openSync(c.file, 'a');
    this.size = this.synced = fstatSync(this.fd).size;
  }

  async put(records: SinkRecord[]): Promise<void> {
    if (records.length === 0) return;
    let text = '';
    for (const r of records) text += lineOf(r.value) + '\n';
    const buf = Buffer.from(text);
    let off = 0;
    try {
      // write(2) may write part of a batch when the disk fills up; a short write is followed by the error
      while (off < buf.length) off += writeSync(this.fd!, buf, off, buf.length - off);
    } catch (err) {
      ftruncateSync(this.fd!, this.size);
      const code = (err as NodeJS.ErrnoException).code;
      const msg = `Cannot append ${records.length} records to ${this.file}: ${code ?? (err as Error).message}`;
      // The batch is redelivered after a backoff: a disk that fills up may get space back.
      if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EAGAIN') throw new RetriableError(`${msg} (no space left; retrying)`, { cause: err });
      throw new ConnectError(msg, { cause: err });
    }
    this.size += buf.length;
    this.dirty = true;
  }

  async flush(_offsets: TopicPartitionOffset[]): Promise<void> {
    if (!this.dirty) return;
    if (this.sync) {
      try {
        fsyncSync(this.fd!);
      } catch (err) {
        // What fsync could not make durable cannot be trusted: cut back to the last durable size and
        // fail the task, so it restarts from the committed offsets and writes those records again.
        ftruncateSync(this.fd!, this.synced);
        this.size = this.synced;
        throw new ConnectError(`Cannot make ${this.file} durable (fsync): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
    }
    this.synced = this.size;
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
  version: FERRY_VERSION,
  description: 'Record values appended to a file, one line each.',
  config: FileStreamSinkConfig,
  create: () => new FileStreamSinkConnector(),
};
