import type { SourceOffset, SourcePartition } from '@ferry/core';
import { MemoryOffsetStore } from './memory-offset-store.js';
import { readJsonFile, SerialQueue, writeFileAtomic } from './atomic-file.js';

type FileShape = Record<string, Array<{ partition: SourcePartition; offset: SourceOffset }>>;

/**
 * Standalone mode's offset store: every write replaces one JSON file
 * atomically and durably (fsync + rename), so a crash leaves either the old
 * or the new offsets, never a torn file.
 */
export class FileOffsetStore extends MemoryOffsetStore {
  private readonly queue = new SerialQueue();

  constructor(private readonly path: string) {
    super();
  }

  override async start(): Promise<void> {
    const content = await readJsonFile<FileShape>(this.path, {});
    for (const [connector, entries] of Object.entries(content)) this.apply(connector, entries);
  }

  override async set(connector: string, entries: Array<{ partition: SourcePartition; offset: SourceOffset | null }>): Promise<void> {
    this.apply(connector, entries);
    await this.persist();
  }

  override async clear(connector: string): Promise<void> {
    this.data.delete(connector);
    await this.persist();
  }

  private persist(): Promise<void> {
    return this.queue.run(async () => {
      const out: FileShape = {};
      for (const [c, m] of this.data) out[c] = [...m.values()];
      await writeFileAtomic(this.path, JSON.stringify(out, null, 1));
    });
  }
}
