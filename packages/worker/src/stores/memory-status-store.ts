import type { StateEntry, StatusStore } from './contracts.js';

/** Connector and task states of this worker, in memory. */
export class MemoryStatusStore implements StatusStore {
  private readonly connectors = new Map<string, StateEntry>();
  private readonly tasks = new Map<string, Map<number, StateEntry>>();

  async putConnector(name: string, entry: StateEntry): Promise<void> {
    this.connectors.set(name, entry);
  }
  async putTask(name: string, task: number, entry: StateEntry): Promise<void> {
    let m = this.tasks.get(name);
    if (!m) this.tasks.set(name, (m = new Map()));
    m.set(task, entry);
  }
  async getConnector(name: string): Promise<StateEntry | undefined> {
    return this.connectors.get(name);
  }
  async getTasks(name: string): Promise<Map<number, StateEntry>> {
    return new Map(this.tasks.get(name) ?? []);
  }
  async remove(name: string): Promise<void> {
    this.connectors.delete(name);
    this.tasks.delete(name);
  }
}
