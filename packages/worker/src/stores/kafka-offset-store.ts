import type { SourceOffset, SourcePartition } from '@ferry/core';
import type { OffsetStore } from './contracts.js';
import type { KafkaLog, LogRecord } from '../distributed/kafka-log.js';
import { MemoryOffsetStore } from './memory-offset-store.js';

/**
 * Distributed mode's source offsets: the offsets topic, keyed as Kafka
 * Connect keys it (JSON `["<connector>", {partition}]`, value the offset map
 * as JSON, null removes), so tools that read Kafka Connect's offsets topic
 * read ours. Every worker follows the whole topic; a task that moves to
 * another worker resumes from what its previous owner committed.
 */
export class KafkaOffsetStore extends MemoryOffsetStore implements OffsetStore {
  constructor(private readonly log: () => KafkaLog) {
    super();
  }

  applyRecord(r: LogRecord): void {
    if (!r.key) return;
    let key: unknown;
    try {
      key = JSON.parse(r.key);
    } catch {
      return;
    }
    if (!Array.isArray(key) || key.length !== 2 || typeof key[0] !== 'string' || key[1] === null || typeof key[1] !== 'object') return;
    const offset = r.value ? (JSON.parse(r.value.toString('utf8')) as SourceOffset | null) : null;
    this.apply(key[0], [{ partition: key[1] as SourcePartition, offset }]);
  }

  /** Offsets as last written by anyone: read the topic to its end first. */
  override async get(connector: string, partitions: SourcePartition[]): Promise<Map<SourcePartition, SourceOffset>> {
    await this.log().readToEnd();
    return super.get(connector, partitions);
  }

  override async list(connector: string): Promise<Array<{ partition: SourcePartition; offset: SourceOffset }>> {
    await this.log().readToEnd();
    return super.list(connector);
  }

  override async set(connector: string, entries: Array<{ partition: SourcePartition; offset: SourceOffset | null }>): Promise<void> {
    await this.log().send(entries.map((e) => ({ key: offsetKey(connector, e.partition), value: e.offset === null ? null : Buffer.from(JSON.stringify(e.offset)) })));
    this.apply(connector, entries);
  }

  override async clear(connector: string): Promise<void> {
    await this.log().readToEnd();
    const all = await super.list(connector);
    await this.set(connector, all.map((e) => ({ partition: e.partition, offset: null })));
  }
}

export function offsetKey(connector: string, partition: SourcePartition): string {
  return JSON.stringify([connector, partition]);
}

/** An offset store that asks before each write whether this worker may still write for the task. */
export class FencedOffsetStore implements OffsetStore {
  constructor(
    private readonly inner: OffsetStore,
    private readonly mayWrite: (connector: string) => string | null,
  ) {}
  start(): Promise<void> {
    return this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  get(connector: string, partitions: SourcePartition[]) {
    return this.inner.get(connector, partitions);
  }
  list(connector: string) {
    return this.inner.list(connector);
  }
  async set(connector: string, entries: Array<{ partition: SourcePartition; offset: SourceOffset | null }>): Promise<void> {
    const refusal = this.mayWrite(connector);
    if (refusal) throw new Error(`Offsets of ${connector} not written: ${refusal}`);
    return this.inner.set(connector, entries);
  }
  async clear(connector: string): Promise<void> {
    const refusal = this.mayWrite(connector);
    if (refusal) throw new Error(`Offsets of ${connector} not cleared: ${refusal}`);
    return this.inner.clear(connector);
  }
}
