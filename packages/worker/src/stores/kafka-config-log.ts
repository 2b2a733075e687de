import type { ConnectorConfig, TaskConfig } from '@ferry/core';
import type { TargetState } from './contracts.js';
import type { KafkaLog, LogRecord } from '../distributed/kafka-log.js';

/**
 * Distributed mode's config store: the config topic with Kafka Connect's
 * keys and JSON values (JsonConverter without schemas), so tools that read
 * Kafka Connect's config topic read ours:
 *
 * - `connector-<name>`: `{"properties": {...}}` (null: deleted)
 * - `task-<name>-<n>`: `{"properties": {...}}`, visible only once
 * - `commit-<name>`: `{"tasks": <count>}` follows them
 * - `target-state-<name>`: `{"state": "STARTED"|"PAUSED", "state.v2": "STARTED"|"PAUSED"|"STOPPED"}`
 * - `restart-connector-<name>`: `{"include-tasks": bool, "only-failed": bool}`
 * - `session-key`: `{"key": <base64>, "algorithm": "HmacSHA256", "creation-timestamp": <ms>}`
 *
 * Only the leader of the current generation writes here (see distributed-herder.ts).
 */
export type ConfigChange =
  | { type: 'connector'; name: string; removed: boolean }
  | { type: 'tasks'; name: string }
  | { type: 'target'; name: string }
  | { type: 'session-key' }
  | { type: 'restart'; name: string; includeTasks: boolean; onlyFailed: boolean };

export interface SessionKey {
  key: Buffer;
  algorithm: string;
  created: number;
}

export class KafkaConfigLog {
  readonly connectors = new Map<string, ConnectorConfig>();
  readonly targets = new Map<string, TargetState>();
  readonly tasks = new Map<string, TaskConfig[]>();
  private readonly pending = new Map<string, Map<number, TaskConfig>>();
  sessionKey: SessionKey | undefined;
  private listener: (c: ConfigChange) => void = () => {};

  /** Set once, before the log starts: every change read from the topic. */
  onChange(fn: (c: ConfigChange) => void): void {
    this.listener = fn;
  }

  constructor(private readonly log: () => KafkaLog) {}

  apply(r: LogRecord): void {
    const key = r.key ?? '';
    const value = r.value ? (JSON.parse(r.value.toString('utf8')) as Record<string, unknown>) : null;
    if (key.startsWith('connector-')) {
      const name = key.slice('connector-'.length);
      if (value === null) {
        this.connectors.delete(name);
        this.targets.delete(name);
        this.tasks.delete(name);
        this.pending.delete(name);
        this.listener({ type: 'connector', name, removed: true });
      } else {
        this.connectors.set(name, stringMap(value.properties));
        if (!this.targets.has(name)) this.targets.set(name, 'STARTED');
        this.listener({ type: 'connector', name, removed: false });
      }
    } else if (key.startsWith('target-state-')) {
      const name = key.slice('target-state-'.length);
      if (value === null) return;
      const state = (value['state.v2'] ?? value.state) as TargetState;
      if (state !== 'STARTED' && state !== 'PAUSED' && state !== 'STOPPED') return;
      this.targets.set(name, state);
      this.listener({ type: 'target', name });
    } else if (key.startsWith('task-')) {
      const m = /^task-(.*)-(\d+)$/.exec(key);
      if (!m || value === null) return;
      const name = m[1]!;
      let p = this.pending.get(name);
      if (!p) this.pending.set(name, (p = new Map()));
      p.set(Number(m[2]), stringMap(value.properties));
    } else if (key.startsWith('commit-')) {
      const name = key.slice('commit-'.length);
      if (value === null) return;
      const count = Number(value.tasks);
      const p = this.pending.get(name) ?? new Map<number, TaskConfig>();
      const list: TaskConfig[] = [];
      for (let i = 0; i < count; i++) {
        const c = p.get(i);
        // Compaction may have removed an unchanged task's record: keep the config we had.
        const prev = this.tasks.get(name)?.[i];
        if (!c && !prev) return;
        list.push(c ?? prev!);
      }
      this.pending.delete(name);
      this.tasks.set(name, list);
      this.listener({ type: 'tasks', name });
    } else if (key.startsWith('restart-connector-')) {
      if (value === null) return;
      this.listener({ type: 'restart', name: key.slice('restart-connector-'.length), includeTasks: value['include-tasks'] === true, onlyFailed: value['only-failed'] === true });
    } else if (key === 'session-key') {
      if (value === null) return;
      this.sessionKey = { key: Buffer.from(String(value.key), 'base64'), algorithm: String(value.algorithm ?? 'HmacSHA256'), created: Number(value['creation-timestamp'] ?? 0) };
      this.listener({ type: 'session-key' });
    }
  }

  // ------------------------------------------------------------- writes

  async putConnector(name: string, config: ConnectorConfig): Promise<void> {
    await this.log().send([{ key: `connector-${name}`, value: json({ properties: config }) }]);
  }

  async putTarget(name: string, state: TargetState): Promise<void> {
    await this.log().send([{ key: `target-state-${name}`, value: json({ state: state === 'STOPPED' ? 'PAUSED' : state, 'state.v2': state }) }]);
  }

  async removeConnector(name: string): Promise<void> {
    await this.log().send([
      { key: `connector-${name}`, value: null },
      { key: `target-state-${name}`, value: null },
    ]);
  }

  async putTasks(name: string, configs: TaskConfig[]): Promise<void> {
    await this.log().send([
      ...configs.map((c, i) => ({ key: `task-${name}-${i}`, value: json({ properties: c }) })),
      { key: `commit-${name}`, value: json({ tasks: configs.length }) },
    ]);
  }

  async putSessionKey(key: Buffer, created: number): Promise<void> {
    await this.log().send([{ key: 'session-key', value: json({ key: key.toString('base64'), algorithm: 'HmacSHA256', 'creation-timestamp': created }) }]);
  }
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = String(x);
  return out;
}
