import { open, stat } from 'node:fs/promises';
import {
  abortableSleep,
  Config,
  ConfigError,
  defineConfig,
  NotConnectedError,
  Schemas,
  type ConnectorConfig,
  type SourceConnector,
  type SourceConnectorPlugin,
  type SourceRecord,
  type SourceTask,
  type SourceTaskContext,
  type TaskConfig,
} from '@ferry/core';
import { FERRY_VERSION } from '@ferry/connector-kit';

export const FileStreamSourceConfig = defineConfig({
  file: Config.string({ doc: 'The file to read lines from (it may grow while read).', nonEmpty: true, importance: 'HIGH' }),
  topic: Config.string({ doc: 'The topic the lines go to.', nonEmpty: true, importance: 'HIGH' }),
  'batch.size': Config.int({ doc: 'Most lines returned by one poll.', default: 2000, min: 1 }),
  'poll.interval.ms': Config.long({ doc: 'Wait (ms) before looking for new lines at the end of the file.', default: 1000, min: 1 }),
});

const VALUE_SCHEMA = Schemas.string();
const CHUNK = 64 * 1024;

/** Reads a file line by line; the source offset is the byte position after the last line emitted. */
class FileStreamSourceTask implements SourceTask {
  private ctx!: SourceTaskContext;
  private file = '';
  private topic = '';
  private batchSize = 2000;
  private pollMs = 1000;
  private position = 0;
  private carry: Buffer = Buffer.alloc(0);
  private partition: Record<string, unknown> = {};

  async start(config: TaskConfig, ctx: SourceTaskContext): Promise<void> {
    const c = FileStreamSourceConfig.parse(config);
    this.ctx = ctx;
    this.file = c.file;
    this.topic = c.topic;
    this.batchSize = c['batch.size'];
    this.pollMs = c['poll.interval.ms'];
    this.partition = { filename: this.file };
    const stored = await ctx.offsetReader.offset(this.partition);
    this.position = typeof stored?.position === 'number' ? stored.position : 0;
  }

  async poll(): Promise<SourceRecord[]> {
    const lines = await this.readLines();
    if (lines.length === 0) await abortableSleep(this.pollMs, this.ctx.signal);
    return lines;
  }

  private async readLines(): Promise<SourceRecord[]> {
    let size: number;
    try {
      size = (await stat(this.file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotConnectedError(`File ${this.file} (option "file") does not exist yet`, { cause: err });
      throw err;
    }
    if (size < this.position + this.carry.length) {
      this.ctx.logger.warn({ file: this.file, size, position: this.position }, 'File shrank (truncated or replaced); reading from the start');
      this.position = 0;
      this.carry = Buffer.alloc(0);
    }
    const out: SourceRecord[] = [];
    const fh = await open(this.file, 'r');
    try {
      let readPos = this.position + this.carry.length;
      while (out.length < this.batchSize && readPos < size) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - readPos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, readPos);
        if (bytesRead === 0) break;
        readPos += bytesRead;
        let data = this.carry.length ? Buffer.concat([this.carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        let start = 0;
        for (;;) {
          const nl = data.indexOf(10, start);
          if (nl < 0 || out.length >= this.batchSize) break;
          const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
          this.position += nl + 1 - start;
          out.push({
            topic: this.topic,
            valueSchema: VALUE_SCHEMA,
            value: data.toString('utf8', start, end),
            key: null,
            sourcePartition: this.partition,
            sourceOffset: { position: this.position },
          });
          start = nl + 1;
        }
        data = data.subarray(start);
        this.carry = Buffer.from(data);
        if (out.length >= this.batchSize) {
          // Lines already read past the batch limit are re-read next poll from `position`.
          this.carry = Buffer.alloc(0);
          break;
        }
      }
    } finally {
      await fh.close();
    }
    return out;
  }

  async stop(): Promise<void> {}
}

class FileStreamSourceConnector implements SourceConnector {
  private config: ConnectorConfig = {};
  start(config: ConnectorConfig): void {
    FileStreamSourceConfig.parse(config);
    this.config = config;
  }
  taskConfigs(): TaskConfig[] {
    return [{ ...this.config }];
  }
  createTask(): SourceTask {
    return new FileStreamSourceTask();
  }
  stop(): void {}
  /** Offsets written through the REST API: {"filename"} partitions, {"position": byte offset} offsets (or null). */
  alterOffsets(_config: ConnectorConfig, offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> | null }>): void {
    const errors: string[] = [];
    for (const { partition, offset } of offsets) {
      if (typeof partition?.filename !== 'string') errors.push(`partition ${JSON.stringify(partition)} must be {"filename": "<path>"}`);
      if (offset === null) continue;
      const p = offset.position;
      if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0) {
        errors.push(`offset ${JSON.stringify(offset)} must be {"position": <a non-negative integer>}`);
      }
    }
    if (errors.length) throw new ConfigError({ offsets: errors });
  }
}

export const FileStreamSource: SourceConnectorPlugin = {
  type: 'source',
  className: 'FileStreamSource',
  aliases: ['org.apache.kafka.connect.file.FileStreamSourceConnector', 'FileStreamSourceConnector'],
  version: FERRY_VERSION,
  description: 'Lines of a file into a topic; the byte position is the offset.',
  config: FileStreamSourceConfig,
  create: () => new FileStreamSourceConnector(),
};
