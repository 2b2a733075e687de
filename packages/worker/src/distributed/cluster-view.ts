import type { ConnectorConfig, ConnectorPlugin } from '@ferry/core';
import { maskConfig } from '../config/config-providers.js';
import { notFound } from '../herder/errors.js';
import type { ConnectorInfo, ConnectorStatus, StatusEntry } from '../herder/herder.js';
import type { LogManager } from '../logging.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { KafkaConfigLog } from '../stores/kafka-config-log.js';
import type { KafkaStatusStore } from '../stores/kafka-status-store.js';

/**
 * The cluster as this worker reads it from the config and status topics:
 * every REST read is answered here, on any worker, with secrets masked and
 * traces redacted.
 */
export class ClusterView {
  /** Notes shown in a connector's status. */
  readonly notes = new Map<string, string>();

  constructor(
    private readonly configLog: KafkaConfigLog,
    private readonly statuses: KafkaStatusStore,
    private readonly registry: PluginRegistry,
    private readonly logs: LogManager,
  ) {}

  names(): string[] {
    return [...this.configLog.connectors.keys()].sort();
  }

  has(name: string): boolean {
    return this.configLog.connectors.has(name);
  }

  plugin(name: string): ConnectorPlugin<any> | undefined {
    const cfg = this.configLog.connectors.get(name);
    return cfg ? this.registry.connector(cfg['connector.class'] ?? '') : undefined;
  }

  /** The stored config (secrets unmasked); 404 when the connector does not exist. */
  configOf(name: string): ConnectorConfig {
    const c = this.configLog.connectors.get(name);
    if (!c) throw notFound(`Connector ${name} not found`);
    return c;
  }

  typeOf(name: string): 'source' | 'sink' {
    return this.plugin(name)?.type ?? 'source';
  }

  private secretKeys(name: string): string[] {
    return this.plugin(name)?.config.secretKeys() ?? [];
  }

  info(name: string): ConnectorInfo {
    const config = this.configOf(name);
    return {
      name,
      config: maskConfig(config, this.secretKeys(name)),
      tasks: (this.configLog.tasks.get(name) ?? []).map((_, task) => ({ connector: name, task })),
      type: this.typeOf(name),
    };
  }

  config(name: string): Record<string, string> {
    return maskConfig(this.configOf(name), this.secretKeys(name));
  }

  taskConfigs(name: string): Array<{ id: { connector: string; task: number }; config: Record<string, string> }> {
    this.configOf(name);
    return (this.configLog.tasks.get(name) ?? []).map((config, task) => ({ id: { connector: name, task }, config: maskConfig(config, this.secretKeys(name)) }));
  }

  /** Statuses from the status topic: each entry names the worker that runs it. */
  status(name: string): ConnectorStatus {
    this.configOf(name);
    const redact = (s: string | undefined) => (s === undefined ? undefined : this.logs.redactor.redact(s));
    const c = this.statuses.connector(name);
    const connector: StatusEntry = c ? { state: c.state, worker_id: c.workerId } : { state: 'UNASSIGNED', worker_id: '' };
    if (c?.trace && c.state === 'FAILED') connector.trace = redact(c.trace);
    const note = this.notes.get(name);
    if (note) connector.message = redact(note);
    const count = this.configLog.tasks.get(name)?.length ?? 0;
    const entries = this.statuses.taskEntries(name);
    const tasks: Array<StatusEntry & { id: number }> = [];
    for (let id = 0; id < count; id++) {
      const e = entries.get(id);
      if (!e) continue;
      const t: StatusEntry & { id: number } = { id, state: e.state, worker_id: e.workerId };
      if (e.trace) t.trace = redact(e.trace);
      if (e.message) t.message = redact(e.message);
      tasks.push(t);
    }
    return { name, connector, tasks, type: this.typeOf(name) };
  }

  taskStatus(name: string, id: number): StatusEntry & { id: number } {
    const st = this.status(name).tasks.find((t) => t.id === id);
    if (!st) throw notFound(`Task ${name}-${id} not found`);
    return st;
  }
}
