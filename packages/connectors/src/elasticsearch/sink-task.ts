import {
  DataError,
  hasErrorCode,
  type Logger,
  type SinkRecord,
  type SinkTask,
  type SinkTaskContext,
  type TaskConfig,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@ferry/core';
import type { BulkClient } from './bulk-client.js';
import { connectBulkClient } from './clients.js';
import { ElasticsearchSinkConfig, type ElasticsearchSinkOptions } from './config.js';
import { DocumentBuilder } from './document.js';
import { BulkWriter } from './bulk-writer.js';
import { OffsetTracker } from './offset-tracker.js';

/** How long the final preCommit of a graceful stop waits for buffered records. */
const STOP_FLUSH_MS = 4_000;

export function clientOptions(cfg: ElasticsearchSinkOptions) {
  return {
    urls: cfg['connection.url'],
    username: cfg['connection.username'],
    password: cfg['connection.password'],
    apiKey: cfg['connection.api.key'],
    requestTimeoutMs: cfg['read.timeout.ms'],
    connectTimeoutMs: cfg['connection.timeout.ms'],
  };
}

/**
 * Writes records to Elasticsearch or OpenSearch with concurrent _bulk
 * requests. put() only queues (waiting when the buffer is full); offsets
 * handed back by preCommit() never pass a record the server has not
 * acknowledged.
 */
export class ElasticsearchSinkTask implements SinkTask {
  private cfg!: ElasticsearchSinkOptions;
  private ctx!: SinkTaskContext;
  private log!: Logger;
  private builder!: DocumentBuilder;
  private writer!: BulkWriter;
  private readonly tracker = new OffsetTracker();
  private client: Promise<BulkClient> | undefined;
  private clientValue: BulkClient | undefined;

  async start(config: TaskConfig, context: SinkTaskContext): Promise<void> {
    this.cfg = ElasticsearchSinkConfig.parse(config);
    this.ctx = context;
    this.log = context.logger;
    this.builder = new DocumentBuilder(this.cfg);
    const cfg = this.cfg;
    this.writer = new BulkWriter(
      () => this.getClient(),
      {
        batchSize: cfg['batch.size'],
        bulkSizeBytes: cfg['bulk.size.bytes'],
        lingerMs: cfg['linger.ms'],
        maxInFlight: cfg['max.in.flight.requests'],
        maxBuffered: cfg['max.buffered.records'],
        maxRetries: cfg['max.retries'],
        retryBackoffMs: cfg['retry.backoff.ms'],
        orderByDocument: !cfg['key.ignore'] && cfg['data.stream.type'] === 'none',
        onMalformed: cfg['behavior.on.malformed.documents'],
      },
      this.log,
      context.errantRecordReporter,
    );
  }

  /** The client, created on first use: the task starts even while the server is down. */
  private getClient(): Promise<BulkClient> {
    if (!this.client) {
      this.client = connectBulkClient(this.cfg['server.type'], clientOptions(this.cfg), this.ctx.signal).then(
        (c) => {
          this.clientValue = c;
          this.log.info({ product: c.product }, `Writing to ${c.product} at ${this.cfg['connection.url'].join(',')}`);
          return c;
        },
        (e) => {
          this.client = undefined;
          throw e;
        },
      );
    }
    return this.client;
  }

  async open(partitions: TopicPartition[]): Promise<void> {
    this.tracker.forget(partitions);
  }

  async put(records: SinkRecord[]): Promise<void> {
    const w = this.writer;
    this.throwIfFailed();
    for (const r of records) {
      const tp = { topic: r.topic, partition: r.kafkaPartition };
      if (this.tracker.seen(tp, r.kafkaOffset)) continue;
      let action;
      try {
        action = this.builder.build(r);
      } catch (e) {
        if (!hasErrorCode(e, 'DATA_ERROR')) throw e;
        const reporter = this.ctx.errantRecordReporter;
        if (!reporter) throw e;
        await reporter.report(r, e as DataError);
        this.tracker.acceptDone(tp, r.kafkaOffset);
        continue;
      }
      if (action === null) {
        this.tracker.acceptDone(tp, r.kafkaOffset);
        continue;
      }
      if (w.buffered >= this.cfg['max.buffered.records']) {
        await w.waitForRoom(this.ctx.signal);
        if (this.ctx.signal.aborted) return;
        // Records accepted so far stay queued; a redelivered batch skips them.
        this.throwIfFailed();
      }
      w.add(action, this.tracker.accept(tp, r.kafkaOffset));
    }
  }

  private throwIfFailed(): void {
    if (this.writer.fatal) throw this.writer.fatal;
    if (this.writer.stalled) throw this.writer.stalled;
  }

  async flush(_offsets: TopicPartitionOffset[]): Promise<void> {
    await this.writer.flush(this.cfg['flush.timeout.ms'], this.ctx.signal);
  }

  /**
   * Never waits for the server: returns, per partition, the offset of the
   * first record not yet acknowledged (or the consumed offset when all are).
   * A slow or unreachable server thus delays commits instead of failing them.
   */
  async preCommit(offsets: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    if (this.writer.fatal) throw this.writer.fatal;
    if (this.ctx.signal.aborted && this.writer.buffered > 0) {
      // The final commit of a graceful stop: give what is buffered a short chance to land,
      // so the next owner of these partitions does not rewrite it.
      await this.writer.flush(Math.min(this.cfg['flush.timeout.ms'], STOP_FLUSH_MS)).catch(() => undefined);
      if (this.writer.fatal) throw this.writer.fatal;
    }
    return this.tracker.safeOffsets(offsets);
  }

  async close(partitions: TopicPartition[]): Promise<void> {
    const gone = new Set(partitions.map((p) => `${p.partition}:${p.topic}`));
    this.writer.drop((a) => gone.has(`${a.record.kafkaPartition}:${a.record.topic}`));
    this.tracker.forget(partitions);
  }

  async stop(): Promise<void> {
    if (this.writer) await this.writer.close();
    await this.clientValue?.close().catch(() => undefined);
    this.tracker.clear();
  }

  /** Counters (requests, retries, acknowledged, malformed) and the current buffer. */
  stats() {
    return { ...this.writer.stats, buffered: this.writer.buffered };
  }
}
