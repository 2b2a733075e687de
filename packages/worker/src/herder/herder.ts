import {
  type Connector,
  type Logger,
  type SourceConnectorContext,
  type ConnectorConfig,
  type ConnectorPlugin,
  type SourceConnector,
  type TaskConfig,
} from '@ferry/core';
import type { ConnectorRecord, ConnectorState, StateEntry, TargetState, TaskState } from '../stores/contracts.js';
import { ConfigProviders, isSecretKey, maskConfig, restorePlaceholders, type Reference } from '../config/config-providers.js';
import { clientOverrideSecretKeys, clientOverrideSecretValues } from '../config/kafka-client-config.js';
import { backoffDelay } from '../runtime/backoff.js';
import { traceOf } from '../runtime/error-handling.js';
import { SerialQueue } from '../stores/atomic-file.js';
import { badRequest, conflict, notFound } from './errors.js';
import { TaskFactory } from './task-factory.js';
import type { HerderDeps } from './deps.js';

export type { HerderDeps, TransformsFactory } from './deps.js';
import { validateConnectorConfig, withDeadline, type ConfigInfos } from './validation.js';
import { compileJavaRegex } from '../transforms/java-regex.js';
import { ErrorHandlingConfig } from '../runtime/error-handling.js';
import type { SinkTaskRunner } from '../runtime/sink-task-runner.js';
import type { SourceTaskRunner } from '../runtime/source-task-runner.js';


interface TaskSlot {
  id: number;
  runner?: SourceTaskRunner | SinkTaskRunner;
  state: TaskState;
  trace?: string;
  message?: string;
  restarts: number;
  consecutiveFailures: number;
  restartTimer?: NodeJS.Timeout;
  startedAt: number;
  /** Bumped on each (re)start so late callbacks of an old runner are ignored. */
  generation: number;
}

class ConnectorRuntime {
  instance?: Connector;
  abort?: AbortController;
  state: ConnectorState = 'UNASSIGNED';
  trace?: string;
  readonly tasks = new Map<number, TaskSlot>();
  readonly topics = new Set<string>();
  secrets: string[] = [];
  /** The references of the connector config resolved at its last start (to put placeholders back into task configs). */
  references: Reference[] = [];
  resolvedConfig: Record<string, string> = {};
  reconfigureRequested = false;

  constructor(
    readonly name: string,
    public config: ConnectorConfig,
    public target: TargetState,
    public taskConfigs: TaskConfig[],
    public plugin: ConnectorPlugin<any>,
  ) {}

  get type(): 'source' | 'sink' {
    return this.plugin.type;
  }
}

export interface ConnectorInfo {
  name: string;
  config: Record<string, string>;
  tasks: Array<{ connector: string; task: number }>;
  type: 'source' | 'sink';
}

export interface StatusEntry {
  state: string;
  worker_id: string;
  /** The plugin's version (Kafka Connect 4.x, KIP-891). */
  version?: string;
  trace?: string;
  message?: string;
}

export interface ConnectorStatus {
  name: string;
  connector: StatusEntry;
  tasks: Array<StatusEntry & { id: number }>;
  type: 'source' | 'sink';
}

export type OffsetEntry = { partition: Record<string, unknown>; offset: Record<string, unknown> | null };

/**
 * Runs this worker's connectors and tasks: creation, reconfiguration,
 * pause/resume/stop, restarts (including automatic restarts of failed
 * tasks), status and offsets. Every mutation runs one at a time.
 */
export class Herder {
  private readonly connectors = new Map<string, ConnectorRuntime>();
  private readonly ops = new SerialQueue();
  private readonly factory: TaskFactory;
  private stopped = false;
  private readonly log;
  /** Notes shown in a connector's status (e.g. its config file is broken). */
  private readonly notes = new Map<string, string>();
  private readonly providers: ConfigProviders;

  constructor(private readonly deps: HerderDeps) {
    this.factory = new TaskFactory(deps);
    this.log = deps.logs.get('herder');
    this.providers = deps.configProviders ?? ConfigProviders.none();
  }

  /** Scrubs resolved secrets out of text kept for users (traces, notes). */
  private redact(s: string): string;
  private redact(s: string | undefined): string | undefined;
  private redact(s: string | undefined): string | undefined {
    return s === undefined ? undefined : this.deps.logs.redactor.redact(s);
  }

  get workerId(): string {
    return this.deps.workerId;
  }

  async start(): Promise<void> {
    for (const rec of await this.deps.configStore.list()) {
      await this.ops.run(async () => {
        const plugin = this.deps.registry.connector(rec.config['connector.class'] ?? '');
        if (!plugin) {
          this.log.error({ connector: rec.name }, `Stored connector uses an unknown class ${rec.config['connector.class']}; skipped`);
          return;
        }
        const rt = new ConnectorRuntime(rec.name, rec.config, rec.target, rec.tasks, plugin);
        this.connectors.set(rec.name, rt);
        // A stored connector that cannot start shows FAILED; it never keeps the worker from serving.
        await this.startConnector(rt).catch((err) => this.setConnectorState(rt, 'FAILED', traceOf(err)));
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.ops.run(async () => {
      await Promise.all([...this.connectors.values()].map((rt) => this.stopConnectorRuntime(rt, 'UNASSIGNED')));
    });
    await this.factory.close();
  }

  // ---------------------------------------------------------------- queries

  names(): string[] {
    return [...this.connectors.keys()].sort();
  }

  has(name: string): boolean {
    return this.connectors.has(name);
  }

  private get(name: string): ConnectorRuntime {
    const rt = this.connectors.get(name);
    if (!rt) throw notFound(`Connector ${name} not found`);
    return rt;
  }

  private secretKeys(rt: { plugin: ConnectorPlugin<any>; config: ConnectorConfig }): string[] {
    return [...rt.plugin.config.secretKeys(), ...clientOverrideSecretKeys(rt.config)];
  }

  info(name: string): ConnectorInfo {
    const rt = this.get(name);
    return {
      name,
      config: maskConfig(rt.config, this.secretKeys(rt)),
      tasks: rt.taskConfigs.map((_, task) => ({ connector: name, task })),
      type: rt.type,
    };
  }

  config(name: string): Record<string, string> {
    const rt = this.get(name);
    return maskConfig(rt.config, this.secretKeys(rt));
  }

  taskConfigs(name: string): Array<{ id: { connector: string; task: number }; config: Record<string, string> }> {
    const rt = this.get(name);
    // Kafka Connect lists the task's class in every task config.
    const taskClass = `${rt.plugin.className}Task`;
    return rt.taskConfigs.map((config, task) => ({ id: { connector: name, task }, config: { 'task.class': taskClass, ...maskConfig(config, this.secretKeys(rt)) } }));
  }

  status(name: string): ConnectorStatus {
    const rt = this.get(name);
    const redact = (s: string | undefined) => (s === undefined ? undefined : this.deps.logs.redactor.redact(s));
    const connector: StatusEntry = { state: rt.state, worker_id: this.workerId, version: rt.plugin.version };
    if (rt.trace && rt.state === 'FAILED') connector.trace = redact(rt.trace);
    const note = this.notes.get(name);
    if (note) connector.message = redact(note);
    const tasks = [...rt.tasks.values()]
      .sort((a, b) => a.id - b.id)
      .map((t) => {
        const e: StatusEntry & { id: number } = { id: t.id, state: t.state, worker_id: this.workerId, version: rt.plugin.version };
        if (t.trace) e.trace = redact(t.trace);
        if (t.message) e.message = redact(t.message);
        return e;
      });
    return { name, connector, tasks, type: rt.type };
  }

  taskStatus(name: string, id: number): StatusEntry & { id: number } {
    const st = this.status(name).tasks.find((t) => t.id === id);
    if (!st) throw notFound(`Task ${name}-${id} not found`);
    return st;
  }

  /** Sets (or clears) a note shown in the connector's status. */
  setNote(name: string, note: string | undefined): void {
    if (note) this.notes.set(name, this.redact(note));
    else this.notes.delete(name);
  }

  topics(name: string): string[] {
    return [...this.get(name).topics].map((t) => this.redact(t)).sort();
  }

  resetTopics(name: string): void {
    this.get(name).topics.clear();
  }

  // ------------------------------------------------------------ validation

  async validate(config: Record<string, string>, pluginName?: string): Promise<ConfigInfos> {
    return validateConnectorConfig(config, {
      registry: this.deps.registry,
      transforms: this.deps.transforms,
      workerConfig: this.deps.workerConfig,
      pluginName,
      configProviders: this.providers,
      tasksMaxPerWorker: this.deps.settings['tasks.max.per.worker'],
      timeoutMs: this.deps.settings['connector.validation.timeout.ms'],
    });
  }

  private async validateOrThrow(config: Record<string, string>): Promise<ConnectorPlugin<any>> {
    const cls = config['connector.class'];
    if (!cls) throw badRequest(`Connector config ${JSON.stringify(maskConfig(config, []))} contains no connector type`);
    const plugin = this.deps.registry.connector(cls);
    if (!plugin) {
      throw badRequest(`Failed to find any class that implements Connector and which name matches ${cls}, available connectors are: ${this.deps.registry.list(true).map((p) => p.class).join(', ')}`);
    }
    const infos = await this.validate(config);
    if (infos.error_count > 0) {
      const lines = infos.configs.flatMap((c) => c.value.errors.map((e) => `${c.value.name}: ${e}`));
      const err = badRequest(
        `Connector configuration is invalid and contains the following ${infos.error_count} error(s):\n${lines.join('\n')}\n` +
          `You can also find the above list of errors at the endpoint \`/connector-plugins/${plugin.className}/config/validate\``,
      );
      throw err;
    }
    return plugin;
  }

  // -------------------------------------------------------------- mutations

  /**
   * Creates a connector; throws 409 when it exists. Validation (which may talk
   * to the connector's server) runs before the queue of mutations, under a
   * deadline, so one unreachable server never holds up other connectors.
   */
  async create(name: string, config: Record<string, string>, initialState: TargetState = 'STARTED'): Promise<ConnectorInfo> {
    checkConnectorName(name);
    if (this.connectors.has(name)) throw conflict(`Connector ${name} already exists`);
    const full = { ...config, name };
    const plugin = await this.validateOrThrow(full);
    return this.ops.run(async () => {
      if (this.connectors.has(name)) throw conflict(`Connector ${name} already exists`);
      const rt = new ConnectorRuntime(name, full, initialState, [], plugin);
      this.connectors.set(name, rt);
      await this.persist(rt);
      await this.startConnector(rt);
      return this.info(name);
    });
  }

  /** Creates or replaces a connector's config. */
  async putConfig(name: string, config: Record<string, string>, carried: Iterable<string> = []): Promise<{ created: boolean; info: ConnectorInfo }> {
    checkConnectorName(name);
    const full = this.unmask({ ...config, name }, this.connectors.get(name), carried);
    const plugin = await this.validateOrThrow(full);
    return this.ops.run(async () => {
      const existing = this.connectors.get(name);
      if (!existing) {
        const rt = new ConnectorRuntime(name, full, 'STARTED', [], plugin);
        this.connectors.set(name, rt);
        await this.persist(rt);
        await this.startConnector(rt);
        return { created: true, info: this.info(name) };
      }
      if (sameConfig(existing.config, full)) return { created: false, info: this.info(name) };
      await this.stopConnectorRuntime(existing, 'UNASSIGNED');
      existing.config = full;
      existing.plugin = plugin;
      existing.taskConfigs = [];
      await this.persist(existing);
      await this.startConnector(existing);
      return { created: false, info: this.info(name) };
    });
  }

  /** Merges a partial config (null removes a key). */
  async patchConfig(name: string, patch: Record<string, string | null>): Promise<ConnectorInfo> {
    const rt = this.get(name);
    const merged: Record<string, string> = { ...rt.config };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    if (patch.name !== undefined && patch.name !== name) throw badRequest('Connector name configuration (' + patch.name + ') doesn\'t match connector name in the URL (' + name + ')');
    // Secrets the patch does not name are carried over from the stored config, like "[hidden]".
    const carried = Object.keys(merged).filter((k) => !(k in patch) && isSecretKey(k, this.secretKeys(rt)));
    return (await this.putConfig(name, merged, carried)).info;
  }

  /**
   * "[hidden]" sent back for a secret keeps the stored value (GET-then-PUT
   * round trips), but only when no connection-identifying option (URL, host,
   * endpoint, connection.*) and not the connector class changes in the same
   * request: otherwise a caller could point the connector at their own
   * server and receive the stored secret. `carried` names secrets kept
   * implicitly (a PATCH that does not name them).
   */
  private unmask(config: Record<string, string>, existing: ConnectorRuntime | undefined, carried: Iterable<string> = []): Record<string, string> {
    const declared = this.deps.registry.connector(config['connector.class'] ?? '')?.config.secretKeys() ?? [];
    const missing = Object.keys(config).filter((k) => config[k] === '[hidden]' && existing?.config[k] === undefined && isSecretKey(k, declared));
    if (missing.length > 0) throw badRequest(`"[hidden]" stands for a stored secret, and ${missing.sort().join(', ')} has none: send the value`);
    if (!existing) return config;
    const out = { ...config };
    const kept = new Set<string>();
    const secretKeys = this.secretKeys(existing);
    for (const k of carried) if (existing.config[k] !== undefined && out[k] === existing.config[k]) kept.add(k);
    for (const [k, v] of Object.entries(out)) {
      if (v === '[hidden]' && existing.config[k] !== undefined && isSecretKey(k, secretKeys)) {
        out[k] = existing.config[k]!;
        kept.add(k);
      }
    }
    if (kept.size === 0) return out;
    const def = existing.plugin.config;
    const changed = [...new Set([...Object.keys(out), ...Object.keys(existing.config)])]
      .filter((k) => (k === 'connector.class' || (def.isConnectionOption(k) && !isSecretKey(k, secretKeys))) && out[k] !== existing.config[k])
      .sort();
    if (changed.length > 0) {
      throw badRequest(
        `The stored value of ${[...kept].sort().join(', ')} is kept only when the connection does not change: ${changed.join(', ')} changed in the same request. Send the secret again with the new connection settings.`,
      );
    }
    return out;
  }

  async delete(name: string): Promise<void> {
    return this.ops.run(async () => {
      const rt = this.get(name);
      await this.stopConnectorRuntime(rt, 'UNASSIGNED');
      this.connectors.delete(name);
      this.notes.delete(name);
      await this.deps.configStore.remove(name);
      await this.deps.statusStore.remove(name);
      this.deps.metrics.forgetConnector(name);
      await this.deps.jobs?.forget(name).catch((err) => this.log.warn({ connector: name, err: (err as Error).message }, 'Could not cancel the jobs of a deleted connector'));
      this.log.info({ connector: name }, 'Connector deleted');
    });
  }

  /** Hands an ad hoc signal (e.g. execute-snapshot) to the connector's running tasks; resolves with how many took it. */
  async signal(name: string, signal: import('@ferry/core').SourceSignal): Promise<number> {
    const rt = this.get(name);
    let n = 0;
    for (const t of rt.tasks.values()) {
      const r = t.runner as { signal?: (s: import('@ferry/core').SourceSignal) => Promise<boolean> } | undefined;
      if (r?.signal && (await r.signal(signal))) n++;
    }
    return n;
  }

  async pause(name: string): Promise<void> {
    return this.ops.run(async () => {
      const rt = this.get(name);
      if (rt.target === 'STOPPED') {
        // Kafka Connect pauses a stopped connector by starting it paused.
        rt.target = 'PAUSED';
        await this.persist(rt);
        await this.startConnector(rt);
        return;
      }
      rt.target = 'PAUSED';
      await this.persist(rt);
      for (const t of rt.tasks.values()) t.runner?.pause();
      if (rt.state === 'RUNNING') this.setConnectorState(rt, 'PAUSED');
    });
  }

  async resume(name: string): Promise<void> {
    return this.ops.run(async () => {
      const rt = this.get(name);
      const wasStopped = rt.target === 'STOPPED';
      rt.target = 'STARTED';
      await this.persist(rt);
      if (wasStopped) {
        await this.startConnector(rt);
        return;
      }
      for (const t of rt.tasks.values()) t.runner?.resume();
      if (rt.state === 'PAUSED') this.setConnectorState(rt, 'RUNNING');
      if (rt.tasks.size === 0 && rt.instance && rt.state === 'RUNNING') await this.reconfigureTasks(rt, rt.instance, true);
    });
  }

  /** Stops the connector and its tasks; it keeps its config and offsets (STOPPED, empty task set). */
  async stopConnector(name: string): Promise<void> {
    return this.ops.run(async () => {
      const rt = this.get(name);
      rt.target = 'STOPPED';
      await this.stopConnectorRuntime(rt, 'STOPPED');
      rt.taskConfigs = [];
      await this.persist(rt);
    });
  }

  /**
   * Restarts a connector and, per the flags, its tasks. Returns the status
   * with the instances being restarted shown as RESTARTING, or null when only
   * the connector was restarted (Kafka Connect answers 204 then).
   */
  async restart(name: string, opts: { includeTasks: boolean; onlyFailed: boolean }): Promise<ConnectorStatus | null> {
    const rt = this.get(name);
    const connectorToo = !opts.onlyFailed || rt.state === 'FAILED';
    const tasks = opts.includeTasks ? [...rt.tasks.values()].filter((t) => !opts.onlyFailed || t.state === 'FAILED').map((t) => t.id) : [];
    if (!opts.includeTasks && !opts.onlyFailed) {
      await this.ops.run(() => this.restartConnectorInstance(rt));
      return null;
    }
    const snapshot = this.status(name);
    if (connectorToo) snapshot.connector.state = 'RESTARTING';
    for (const t of snapshot.tasks) if (tasks.includes(t.id)) t.state = 'RESTARTING';
    for (const id of tasks) {
      const slot = rt.tasks.get(id);
      if (slot) this.setTaskState(rt, slot, 'RESTARTING', {});
    }
    void this.ops
      .run(async () => {
        if (!this.connectors.has(name)) return;
        if (connectorToo) await this.restartConnectorInstance(rt);
        for (const id of tasks) await this.restartTaskNow(rt, id);
      })
      .catch((err) => this.log.error({ connector: name, err: (err as Error).message }, 'Restart failed'));
    return snapshot;
  }

  async restartTask(name: string, id: number): Promise<void> {
    const rt = this.get(name);
    if (!rt.tasks.has(id)) throw notFound(`Task ${name}-${id} not found`);
    await this.ops.run(() => this.restartTaskNow(rt, id));
  }

  // ----------------------------------------------------------------- offsets

  async offsets(name: string): Promise<{ offsets: OffsetEntry[] }> {
    const rt = this.get(name);
    if (rt.type === 'source') {
      const list = await this.deps.offsetStore.list(name);
      return { offsets: list.map((e) => ({ partition: e.partition, offset: e.offset })) };
    }
    const topics = await this.sinkTopics(rt);
    const committed = await this.deps.backbone.admin().committedOffsets(`connect-${name}`, topics);
    return {
      offsets: committed.map((o) => ({ partition: { kafka_topic: o.topic, kafka_partition: o.partition }, offset: { kafka_offset: o.offset } })),
    };
  }

  private async sinkTopics(rt: ConnectorRuntime): Promise<string[]> {
    const listed = (rt.config.topics ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    const regex = rt.config['topics.regex'];
    if (!regex) return listed;
    const re = compileJavaRegex(regex, { fullMatch: true });
    return (await this.deps.backbone.admin().listTopics()).filter((t) => re.test(t));
  }

  private requireStopped(rt: ConnectorRuntime): void {
    if (rt.target !== 'STOPPED') {
      throw badRequest(
        `Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/${rt.name}/stop' endpoint`,
      );
    }
  }

  async alterOffsets(name: string, offsets: OffsetEntry[]): Promise<{ message: string }> {
    return this.ops.run(async () => {
      const rt = this.get(name);
      this.requireStopped(rt);
      if (!Array.isArray(offsets) || offsets.length === 0) throw badRequest('The offsets to be altered may not be null or empty');
      if (rt.type === 'source') {
        for (const o of offsets) {
          if (!o || typeof o.partition !== 'object' || o.partition === null) throw badRequest('Source partitions may not be null');
          if (o.offset !== null && typeof o.offset !== 'object') throw badRequest('Source offsets must be objects or null');
        }
        const instance = (await rt.plugin.create()) as SourceConnector;
        try {
          await instance.alterOffsets?.(rt.config, offsets);
        } catch (err) {
          throw badRequest(`Failed to alter offsets: ${(err as Error).message}`);
        }
        await this.deps.offsetStore.set(name, offsets.map((o) => ({ partition: o.partition, offset: o.offset })));
      } else {
        const parsed = offsets.map((o) => {
          const topic = o.partition?.kafka_topic;
          const partition = Number(o.partition?.kafka_partition);
          if (typeof topic !== 'string' || !Number.isInteger(partition)) {
            throw badRequest('Sink connector offsets need partitions of the form {"kafka_topic": string, "kafka_partition": int}');
          }
          const off = o.offset === null ? null : Number((o.offset as Record<string, unknown>).kafka_offset);
          if (off !== null && (!Number.isInteger(off) || off < 0)) throw badRequest('kafka_offset must be a non-negative integer');
          return { topic, partition, offset: off };
        });
        await this.deps.backbone.admin().alterGroupOffsets(`connect-${name}`, parsed);
      }
      return { message: 'The offsets for this connector have been altered successfully' };
    });
  }

  async resetOffsets(name: string): Promise<{ message: string }> {
    return this.ops.run(async () => {
      const rt = this.get(name);
      this.requireStopped(rt);
      if (rt.type === 'source') await this.deps.offsetStore.clear(name);
      else await this.deps.backbone.admin().deleteGroup(`connect-${name}`);
      return { message: 'The offsets for this connector have been reset successfully' };
    });
  }

  // --------------------------------------------------------------- internals

  private async persist(rt: ConnectorRuntime): Promise<void> {
    const rec: ConnectorRecord = { name: rt.name, config: rt.config, target: rt.target, tasks: rt.taskConfigs };
    await this.deps.configStore.put(rec);
  }

  private setConnectorState(rt: ConnectorRuntime, state: ConnectorState, trace?: string): void {
    trace = this.redact(trace);
    rt.state = state;
    rt.trace = trace;
    this.deps.metrics.setConnectorState(rt.name, state);
    const entry: StateEntry = { state, workerId: this.workerId };
    if (trace) entry.trace = trace;
    void this.deps.statusStore.putConnector(rt.name, entry);
  }

  private setTaskState(rt: ConnectorRuntime, slot: TaskSlot, state: TaskState, detail: { trace?: string; message?: string }): void {
    slot.state = state;
    if (detail.trace !== undefined || state === 'FAILED') slot.trace = this.redact(detail.trace);
    slot.message = this.redact(detail.message);
    this.deps.metrics.setTaskState(rt.name, slot.id, state);
    const entry: StateEntry = { state, workerId: this.workerId };
    if (slot.trace) entry.trace = slot.trace;
    if (slot.message) entry.message = slot.message;
    void this.deps.statusStore.putTask(rt.name, slot.id, entry);
  }

  private resolved(rt: ConnectorRuntime): ConnectorConfig {
    for (const s of rt.secrets) this.deps.logs.redactor.remove(s);
    rt.secrets = [];
    rt.references = [];
    const { config, secrets, references } = this.providers.resolve(rt.config);
    const keys = new Set(this.secretKeys(rt));
    const literalSecrets = Object.entries(config)
      .filter(([k]) => keys.has(k))
      .map(([, v]) => v);
    rt.secrets = [...secrets, ...literalSecrets, ...clientOverrideSecretValues(config)];
    rt.references = references;
    rt.resolvedConfig = config;
    for (const s of rt.secrets) this.deps.logs.redactor.add(s);
    return config;
  }

  /** A fresh connector instance with its context (reconfiguration and errors route back here). */
  private async newInstance(rt: ConnectorRuntime, log: Logger) {
    const abort = new AbortController();
    rt.abort = abort;
    // A plugin may load its implementation (and client library) here, on first use.
    const instance = await rt.plugin.create();
    rt.instance = instance;
    const ctx: SourceConnectorContext = {
      connectorName: rt.name,
      logger: log,
      signal: abort.signal,
      offsetReader: {
        offset: async (p) => (await this.deps.offsetStore.get(rt.name, [p])).get(p) ?? null,
        offsets: (ps) => this.deps.offsetStore.get(rt.name, ps),
      },
      requestTaskReconfiguration: () => {
        if (abort.signal.aborted) return;
        void this.ops.run(() => this.reconfigureTasks(rt, instance)).catch((err) => log.error({ err: (err as Error).message }, 'Task reconfiguration failed'));
      },
      raiseError: (err: Error) => {
        if (abort.signal.aborted) return;
        log.error({ err: err.message }, 'Connector raised an error');
        this.setConnectorState(rt, 'FAILED', traceOf(err));
      },
    };
    return { instance, ctx };
  }

  /** Starts the connector instance and (unless STOPPED) its tasks. Failures show as FAILED, never throw. */
  private async startConnector(rt: ConnectorRuntime): Promise<void> {
    if (this.stopped) return;
    if (rt.target === 'STOPPED') {
      rt.taskConfigs = [];
      rt.tasks.clear();
      this.setConnectorState(rt, 'STOPPED');
      return;
    }
    const log = this.deps.logs.get(`connector.${rt.name}`, { connector: rt.name });
    let config: ConnectorConfig;
    try {
      config = this.resolved(rt);
    } catch (err) {
      this.setConnectorState(rt, 'FAILED', traceOf(err));
      return;
    }
    let instance: Connector;
    try {
      const made = await this.newInstance(rt, log);
      instance = made.instance;
      await this.startWithin(rt, instance.start(config, made.ctx));
    } catch (err) {
      log.error({ err: (err as Error).message }, 'Connector failed to start');
      this.setConnectorState(rt, 'FAILED', traceOf(err));
      return;
    }
    this.setConnectorState(rt, rt.target === 'PAUSED' ? 'PAUSED' : 'RUNNING');
    log.info({ class: rt.plugin.className }, 'Connector started');
    // Created paused (initial_state=PAUSED): no task exists until the first resume, as in Kafka Connect.
    if (rt.target === 'PAUSED' && rt.taskConfigs.length === 0) return;
    await this.reconfigureTasks(rt, instance, true);
  }

  /** A connector's start() that does not finish in time fails it (the queue of mutations moves on). */
  private async startWithin(rt: ConnectorRuntime, started: Promise<void> | void): Promise<void> {
    const ms = this.deps.settings['connector.validation.timeout.ms'];
    const late = Symbol('late');
    const r = await withDeadline(Promise.resolve(started).then(() => undefined), ms, () => late);
    if (r === late) {
      rt.abort?.abort();
      throw new Error(`Connector ${rt.name} did not start within ${ms} ms (connector.validation.timeout.ms)`);
    }
  }

  /** Asks the connector for task configs and (re)starts tasks when they changed. */
  private async reconfigureTasks(rt: ConnectorRuntime, instance: Connector, initial = false): Promise<void> {
    if (rt.instance !== instance || rt.target === 'STOPPED') return;
    let configs: TaskConfig[];
    try {
      const max = Number(rt.resolvedConfig['tasks.max'] ?? rt.config['tasks.max'] ?? '1') || 1;
      // Stored and shown with the placeholders put back: resolved values never reach connect.configs or GET .../tasks.
      configs = (await instance.taskConfigs(max)).slice(0, max).map((c) => restorePlaceholders(c, rt.config, rt.resolvedConfig, rt.references));
    } catch (err) {
      this.setConnectorState(rt, 'FAILED', traceOf(err));
      return;
    }
    const changed = !sameTaskConfigs(configs, rt.taskConfigs);
    if (!initial && !changed && rt.tasks.size === configs.length) return;
    const limit = this.deps.settings['tasks.max.per.worker'];
    let others = 0;
    for (const o of this.connectors.values()) if (o !== rt) others += o.tasks.size;
    if (others + configs.length > limit) {
      await this.stopTasks(rt);
      const err = new Error(
        `Connector ${rt.name} needs ${configs.length} task(s) and this worker already runs ${others}: above its limit tasks.max.per.worker=${limit}`,
      );
      this.log.error({ connector: rt.name }, err.message);
      this.setConnectorState(rt, 'FAILED', traceOf(err));
      return;
    }
    await this.stopTasks(rt);
    rt.taskConfigs = configs;
    await this.persist(rt);
    for (let id = 0; id < configs.length; id++) this.startTask(rt, id);
  }

  private startTask(rt: ConnectorRuntime, id: number): void {
    const prev = rt.tasks.get(id);
    const slot: TaskSlot = prev ?? { id, state: 'UNASSIGNED', restarts: 0, consecutiveFailures: 0, startedAt: Date.now(), generation: 0 };
    slot.generation++;
    slot.startedAt = Date.now();
    rt.tasks.set(id, slot);
    const generation = slot.generation;
    let taskConfig: TaskConfig;
    try {
      const r = this.providers.resolve(rt.taskConfigs[id]!);
      for (const v of r.secrets) {
        if (rt.secrets.includes(v)) continue;
        rt.secrets.push(v);
        this.deps.logs.redactor.add(v);
      }
      taskConfig = r.config;
    } catch (err) {
      this.setTaskState(rt, slot, 'FAILED', { trace: traceOf(err) });
      return;
    }
    const onState = (state: TaskState, detail: { trace?: string; message?: string }) => {
      if (slot.generation !== generation) return;
      this.setTaskState(rt, slot, state, detail);
      if (state === 'FAILED') this.scheduleAutoRestart(rt, slot);
      if (state === 'RUNNING' && !detail.message) slot.message = undefined;
    };
    try {
      const runner = this.factory.create({
        connector: rt.name,
        connectorConfig: this.resolvedConnectorConfig(rt),
        plugin: rt.plugin,
        instance: rt.instance!,
        taskId: id,
        taskConfig,
        onStateChange: onState,
        onTopic: (t) => rt.topics.add(t),
        rawConfig: rt.config,
        rawTaskConfig: rt.taskConfigs[id],
      });
      slot.runner = runner;
      if (rt.target === 'PAUSED') runner.pause();
      runner.start();
    } catch (err) {
      this.setTaskState(rt, slot, 'FAILED', { trace: traceOf(err) });
      this.scheduleAutoRestart(rt, slot);
    }
  }

  private resolvedConnectorConfig(rt: ConnectorRuntime): Record<string, string> {
    try {
      return this.providers.resolve(rt.config).config;
    } catch {
      return rt.config;
    }
  }

  /** Restarts a FAILED task with exponential backoff, per errors.task.restart.*. */
  private scheduleAutoRestart(rt: ConnectorRuntime, slot: TaskSlot): void {
    if (this.stopped || slot.restartTimer) return;
    let s;
    try {
      s = ErrorHandlingConfig.parse(rt.config);
    } catch {
      return;
    }
    if (!s['errors.task.restart.enable']) return;
    const initial = s['errors.task.restart.backoff.initial.ms'];
    const max = s['errors.task.restart.backoff.max.ms'];
    if (Date.now() - slot.startedAt > max) slot.consecutiveFailures = 0;
    const limit = s['errors.task.restart.max.attempts'];
    if (limit >= 0 && slot.consecutiveFailures >= limit) {
      this.log.error({ connector: rt.name, task: slot.id }, `Task failed ${slot.consecutiveFailures} times in a row; left FAILED`);
      return;
    }
    slot.consecutiveFailures++;
    const delay = initial === 0 ? 0 : backoffDelay(slot.consecutiveFailures, initial, max);
    this.log.warn({ connector: rt.name, task: slot.id, delay, attempt: slot.consecutiveFailures }, 'Task failed; restarting automatically');
    const generation = slot.generation;
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      void this.ops
        .run(async () => {
          if (this.connectors.get(rt.name) !== rt || slot.generation !== generation || slot.state !== 'FAILED' || rt.target === 'STOPPED') return;
          this.deps.metrics.taskRestarts.inc({ connector: rt.name, task: String(slot.id) });
          slot.restarts++;
          await this.restartTaskNow(rt, slot.id, true);
        })
        .catch((err) => this.log.error({ err: (err as Error).message }, 'Automatic restart failed'));
    }, delay);
    slot.restartTimer.unref();
  }

  private async restartTaskNow(rt: ConnectorRuntime, id: number, automatic = false): Promise<void> {
    const slot = rt.tasks.get(id);
    if (!slot) return;
    if (!automatic) slot.consecutiveFailures = 0;
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    const trace = slot.trace;
    await slot.runner?.stop(this.deps.settings['task.shutdown.graceful.timeout.ms']);
    slot.runner = undefined;
    if (rt.target === 'STOPPED' || !rt.instance) return;
    this.startTask(rt, id);
    // Keep the last failure's trace visible after an automatic restart.
    if (automatic && trace && !slot.trace) slot.trace = trace;
  }

  private async restartConnectorInstance(rt: ConnectorRuntime): Promise<void> {
    if (rt.target === 'STOPPED') return;
    const tasksBefore = rt.taskConfigs;
    if (rt.instance) {
      rt.abort?.abort();
      try {
        await rt.instance.stop();
      } catch (err) {
        this.log.warn({ connector: rt.name, err: (err as Error).message }, 'Connector stop() failed');
      }
    }
    rt.instance = undefined;
    const log = this.deps.logs.get(`connector.${rt.name}`, { connector: rt.name });
    try {
      const { instance, ctx } = await this.newInstance(rt, log);
      await this.startWithin(rt, instance.start(this.resolved(rt), ctx));
      this.setConnectorState(rt, rt.target === 'PAUSED' ? 'PAUSED' : 'RUNNING');
      if (rt.tasks.size === 0 || !sameTaskConfigs(tasksBefore, rt.taskConfigs)) await this.reconfigureTasks(rt, instance, rt.tasks.size === 0);
    } catch (err) {
      this.setConnectorState(rt, 'FAILED', traceOf(err));
    }
  }

  private async stopTasks(rt: ConnectorRuntime): Promise<void> {
    const timeout = this.deps.settings['task.shutdown.graceful.timeout.ms'];
    await Promise.all(
      [...rt.tasks.values()].map(async (slot) => {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        slot.restartTimer = undefined;
        slot.generation++;
        await slot.runner?.stop(timeout);
      }),
    );
    rt.tasks.clear();
  }

  private async stopConnectorRuntime(rt: ConnectorRuntime, finalState: ConnectorState): Promise<void> {
    await this.stopTasks(rt);
    rt.abort?.abort();
    if (rt.instance) {
      try {
        await rt.instance.stop();
      } catch (err) {
        this.log.warn({ connector: rt.name, err: (err as Error).message }, 'Connector stop() failed');
      }
    }
    rt.instance = undefined;
    for (const s of rt.secrets) this.deps.logs.redactor.remove(s);
    rt.secrets = [];
    this.setConnectorState(rt, finalState);
  }
}

/** Names that would not survive a URL path (or a file name) are refused on every write path. */
function checkConnectorName(name: string): void {
  if (!name || name.trim() !== name || /[\/\\\u0000-\u001f\u007f]/.test(name) || name.length > 249) {
    throw badRequest(`Connector name ${JSON.stringify(name.slice(0, 300))} is invalid: it may not be empty, start or end with spaces, be longer than 249 characters, or contain '/', '\\' or control characters`);
  }
}

function sameConfig(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function sameTaskConfigs(a: TaskConfig[], b: TaskConfig[]): boolean {
  return a.length === b.length && a.every((c, i) => sameConfig(c, b[i]!));
}

