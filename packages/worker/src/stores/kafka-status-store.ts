import type { StateEntry, StatusStore } from './contracts.js';
import type { KafkaLog, LogRecord } from '../distributed/kafka-log.js';

interface Stored extends StateEntry {
  generation: number;
}

/**
 * Distributed mode's statuses: the status topic with Kafka Connect's keys
 * (`status-connector-<name>`, `status-task-<name>-<n>`) and values
 * (`{"state", "trace", "worker_id", "generation"}`). Every worker follows the
 * topic, so any worker answers status requests for the whole cluster. A
 * write from an older generation by another worker does not replace a newer
 * one (a slow or fenced worker cannot overwrite the new owner's state).
 */
export class KafkaStatusStore implements StatusStore {
  private readonly connectors = new Map<string, Stored>();
  private readonly tasks = new Map<string, Map<number, Stored>>();
  /** Active topics per connector (`status-topic-<topic>:connector-<name>`). */
  private readonly activeTopics = new Map<string, Set<string>>();

  constructor(
    private readonly log: () => KafkaLog,
    private readonly generation: () => number,
  ) {}

  applyRecord(r: LogRecord): void {
    const key = r.key ?? '';
    const v = r.value ? (JSON.parse(r.value.toString('utf8')) as Record<string, unknown>) : null;
    const entry: Stored | null = v
      ? {
          state: String(v.state) as StateEntry['state'],
          workerId: String(v.worker_id ?? ''),
          generation: Number(v.generation ?? 0),
          ...(typeof v.trace === 'string' ? { trace: v.trace } : {}),
          ...(typeof v.message === 'string' ? { message: v.message } : {}),
        }
      : null;
    if (key.startsWith('status-topic-')) {
      const rest = key.slice('status-topic-'.length);
      const at = rest.indexOf(':connector-');
      if (at < 0) return;
      const topic = rest.slice(0, at);
      const connector = rest.slice(at + ':connector-'.length);
      let set = this.activeTopics.get(connector);
      if (!set) this.activeTopics.set(connector, (set = new Set()));
      if (r.value) set.add(topic);
      else set.delete(topic);
      return;
    }
    if (key.startsWith('status-connector-')) {
      const name = key.slice('status-connector-'.length);
      if (!entry) return void this.connectors.delete(name);
      if (stale(this.connectors.get(name), entry)) return;
      this.connectors.set(name, entry);
    } else if (key.startsWith('status-task-')) {
      const m = /^status-task-(.*)-(\d+)$/.exec(key);
      if (!m) return;
      const name = m[1]!;
      let map = this.tasks.get(name);
      if (!map) this.tasks.set(name, (map = new Map()));
      if (!entry) return void map.delete(Number(m[2]));
      if (stale(map.get(Number(m[2])), entry)) return;
      map.set(Number(m[2]), entry);
    }
  }

  private value(entry: StateEntry, generation = this.generation()): Buffer {
    const v: Record<string, unknown> = { state: entry.state, trace: entry.trace ?? null, worker_id: entry.workerId, generation };
    if (entry.message) v.message = entry.message;
    return Buffer.from(JSON.stringify(v));
  }

  async putConnector(name: string, entry: StateEntry, generation?: number): Promise<void> {
    await this.log().send([{ key: `status-connector-${name}`, value: this.value(entry, generation) }]);
  }

  async putTask(name: string, task: number, entry: StateEntry, generation?: number): Promise<void> {
    await this.log().send([{ key: `status-task-${name}-${task}`, value: this.value(entry, generation) }]);
  }

  /** Synchronous view (REST status answers). */
  connector(name: string): StateEntry | undefined {
    return this.connectors.get(name);
  }

  taskEntries(name: string): Map<number, StateEntry> {
    return new Map(this.tasks.get(name) ?? []);
  }

  async getConnector(name: string): Promise<StateEntry | undefined> {
    return this.connectors.get(name);
  }

  async getTasks(name: string): Promise<Map<number, StateEntry>> {
    return this.taskEntries(name);
  }

  async remove(name: string): Promise<void> {
    const keys = [
      `status-connector-${name}`,
      ...[...(this.tasks.get(name)?.keys() ?? [])].map((t) => `status-task-${name}-${t}`),
      ...this.topics(name).map((t) => `status-topic-${t}:connector-${name}`),
    ];
    await this.log().send(keys.map((key) => ({ key, value: null })));
  }

  /** Topics the connector's tasks used (Kafka Connect's active topics). */
  topics(name: string): string[] {
    return [...(this.activeTopics.get(name) ?? [])].sort();
  }

  async putTopic(name: string, topic: string, task: number): Promise<void> {
    if (this.activeTopics.get(name)?.has(topic)) return;
    const value = { topic: { name: topic, connector: name, task, discoverTimestamp: Date.now() } };
    await this.log().send([{ key: `status-topic-${topic}:connector-${name}`, value: Buffer.from(JSON.stringify(value)) }]);
  }

  async resetTopics(name: string): Promise<void> {
    await this.log().send(this.topics(name).map((t) => ({ key: `status-topic-${t}:connector-${name}`, value: null })));
  }

  /** Removes the statuses of tasks numbered `from` and above (after a connector shrank). */
  async removeTasksFrom(name: string, from: number): Promise<void> {
    const keys = [...(this.tasks.get(name)?.keys() ?? [])].filter((t) => t >= from).map((t) => `status-task-${name}-${t}`);
    await this.log().send(keys.map((key) => ({ key, value: null })));
  }
}

function stale(current: Stored | undefined, next: Stored): boolean {
  return !!current && next.generation < current.generation && next.workerId !== current.workerId;
}
