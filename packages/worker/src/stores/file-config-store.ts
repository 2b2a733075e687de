import type { ConfigStore, ConnectorRecord } from './contracts.js';
import { readJsonFile, SerialQueue, writeFileAtomic } from './atomic-file.js';

/** Connector configs in memory (no persistence). */
export class MemoryConfigStore implements ConfigStore {
  protected readonly records = new Map<string, ConnectorRecord>();
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async list(): Promise<ConnectorRecord[]> {
    return [...this.records.values()];
  }
  async get(name: string): Promise<ConnectorRecord | undefined> {
    return this.records.get(name);
  }
  async put(record: ConnectorRecord): Promise<void> {
    this.records.set(record.name, structuredClone(record));
  }
  async remove(name: string): Promise<void> {
    this.records.delete(name);
  }
}

/**
 * Standalone mode's config store: connectors created over REST survive a
 * restart. Configs are kept as submitted (secrets unresolved).
 */
export class FileConfigStore extends MemoryConfigStore {
  private readonly queue = new SerialQueue();

  constructor(private readonly path: string) {
    super();
  }

  override async start(): Promise<void> {
    const list = await readJsonFile<ConnectorRecord[]>(this.path, []);
    for (const r of list) this.records.set(r.name, r);
  }

  override async put(record: ConnectorRecord): Promise<void> {
    await super.put(record);
    await this.persist();
  }

  override async remove(name: string): Promise<void> {
    await super.remove(name);
    await this.persist();
  }

  private persist(): Promise<void> {
    return this.queue.run(() => writeFileAtomic(this.path, JSON.stringify([...this.records.values()], null, 1)));
  }
}
