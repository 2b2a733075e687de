import type { SourceOffset, SourcePartition } from '@ferry/core';
import type { OffsetStore } from './contracts.js';
import { stableStringify } from './stable-json.js';

type Entries = Map<string, { partition: SourcePartition; offset: SourceOffset }>;

/** Offsets in memory only: for tests and throwaway workers. */
export class MemoryOffsetStore implements OffsetStore {
  protected readonly data = new Map<string, Entries>();

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async get(connector: string, partitions: SourcePartition[]): Promise<Map<SourcePartition, SourceOffset>> {
    const out = new Map<SourcePartition, SourceOffset>();
    const entries = this.data.get(connector);
    if (!entries) return out;
    for (const p of partitions) {
      const e = entries.get(stableStringify(p));
      if (e) out.set(p, e.offset);
    }
    return out;
  }

  async list(connector: string): Promise<Array<{ partition: SourcePartition; offset: SourceOffset }>> {
    return [...(this.data.get(connector)?.values() ?? [])];
  }

  async set(connector: string, entries: Array<{ partition: SourcePartition; offset: SourceOffset | null }>): Promise<void> {
    this.apply(connector, entries);
  }

  async clear(connector: string): Promise<void> {
    this.data.delete(connector);
  }

  protected apply(connector: string, entries: Array<{ partition: SourcePartition; offset: SourceOffset | null }>): void {
    let m = this.data.get(connector);
    if (!m) this.data.set(connector, (m = new Map()));
    for (const { partition, offset } of entries) {
      const k = stableStringify(partition);
      if (offset === null) m.delete(k);
      else m.set(k, { partition, offset });
    }
  }
}
