import { randomBytes } from 'node:crypto';
import { Counter } from 'prom-client';
import type { Connector, ConnectorConfig, ConnectorPlugin, SourceConnectorContext, TaskConfig } from '@ferry/core';
import type { OffsetStore, TargetState, TaskState } from '../stores/contracts.js';
import { ConfigProviders, isSecretKey, maskConfig, restorePlaceholders, type Reference } from '../config/config-providers.js';
import { clientOverrideSecretValues } from '../config/kafka-client-config.js';
import { SerialQueue } from '../stores/atomic-file.js';
import { badRequest, conflict, notFound } from '../herder/errors.js';
import type { HerderDeps } from '../herder/deps.js';
import type { ConnectorInfo, ConnectorStatus, OffsetEntry, StatusEntry } from '../herder/herder.js';
import { TaskFactory } from '../herder/task-factory.js';
import { validateConnectorConfig, withDeadline, type ConfigInfos } from '../herder/validation.js';
import { ErrorHandlingConfig, traceOf } from '../runtime/error-handling.js';
import { backoffDelay } from '../runtime/backoff.js';
import type { SinkTaskRunner } from '../runtime/sink-task-runner.js';
import type { SourceTaskRunner } from '../runtime/source-task-runner.js';
import type { ConfigChange, KafkaConfigLog } from '../stores/kafka-config-log.js';
import type { KafkaStatusStore } from '../stores/kafka-status-store.js';
import type { KafkaLog } from './kafka-log.js';
import { assign, newAssignorState, type AssignorState } from './assignor.js';
import { addExactlyOnceErrors, exactlyOnceTask, type ExactlyOnceTask, type ExactlyOnceWorker } from './transactional-producer.js';
import { ClusterView } from './cluster-view.js';
import { alterConnectorOffsets, readConnectorOffsets, resetConnectorOffsets } from './connector-offsets.js';
import { CONNECT_PROTOCOL_VERSION, emptyWorkSet, taskKey, type Assignment, type MemberMetadata, type WorkSet } from './connect-protocol.js';
import type { GroupCallbacks, GroupMember, JoinedMember } from './group-member.js';

export interface DistributedDeps extends HerderDeps {
  configLog: KafkaConfigLog;
  configTopic: KafkaLog;
  status: KafkaStatusStore;
  /** The offsets topic without the per-task fence (the leader's offset API writes). */
  rawOffsetStore: OffsetStore;
  /** This worker's REST URL, advertised to the group. */
  url: string;
  scheduledRebalanceMaxDelayMs: number;
  /** Exactly-once sources (worker exactly.once.source.support=enabled). */
  exactlyOnce?: ExactlyOnceWorker;
  /** Hands task configs to the leader (signed internal request). */
  submitTaskConfigs(leaderUrl: string, connector: string, configs: TaskConfig[]): Promise<void>;
}

interface LocalConnector {
  name: string;
  instance: Connector;
  abort: AbortController;
  plugin: ConnectorPlugin<any>;
  config: ConnectorConfig;
  /** The config with `${provider:...}` references resolved (what the connector was started with). */
  resolved: ConnectorConfig;
  references: Reference[];
}

interface LocalTask {
  connector: string;
  id: number;
  runner?: SourceTaskRunner | SinkTaskRunner;
  config: TaskConfig;
  generation: number;
  /** Exactly-once: the transactional producer taking over the task's transactional id. */
  fencing?: Promise<void>;
}

const REBALANCING = 'Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)';

/**
 * The herder of a worker in a cluster: the config topic says what exists,
 * the group says which connectors and tasks this worker runs. Only the
 * leader of the current generation writes configs; every worker answers
 * reads from its copy of the topics; statuses carry the real worker id.
 */
export class DistributedHerder implements GroupCallbacks {
  private readonly ops = new SerialQueue();
  private readonly factory: TaskFactory;
  private readonly log;
  private readonly connectors = new Map<string, LocalConnector>();
  private readonly tasks = new Map<string, LocalTask>();
  private owned: WorkSet = emptyWorkSet();
  private assignorState: AssignorState = newAssignorState();
  /** Tasks the last assignment left out for tasks.max.per.worker (status written once). */
  private cappedTasks = new Set<string>();
  private delayTimer: NodeJS.Timeout | undefined;
  private member!: GroupMember;
  private stopped = false;
  private readonly view: ClusterView;
  /** Automatic restarts of failed tasks (errors.task.restart.*): consecutive failures and pending timers, by task. */
  private readonly failures = new Map<string, { count: number; timer?: NodeJS.Timeout; startedAt: number }>();
  leaderUrl = '';
  generation = -1;
  readonly taskStarts: Counter<'connector' | 'task'>;
  private readonly providers: ConfigProviders;

  constructor(private readonly deps: DistributedDeps) {
    this.providers = deps.configProviders ?? ConfigProviders.none();
    this.factory = new TaskFactory(deps);
    this.log = deps.logs.get('herder');
    this.view = new ClusterView(deps.configLog, deps.status, deps.registry, deps.logs);
    this.taskStarts = new Counter({ name: 'ferry_task_starts_total', help: 'Task starts on this worker.', labelNames: ['connector', 'task'], registers: [deps.metrics.registry] });
    deps.configLog.onChange((c) => this.onConfigChange(c));
  }

  attach(member: GroupMember): void {
    this.member = member;
  }

  get workerId(): string {
    return this.deps.workerId;
  }

  get isLeader(): boolean {
    return this.member?.isLeader ?? false;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    for (const f of this.failures.values()) if (f.timer) clearTimeout(f.timer);
    await this.ops.run(() => this.stopAll());
    await this.factory.close();
  }

  // ------------------------------------------------------------ group callbacks

  metadata(): MemberMetadata {
    return {
      version: CONNECT_PROTOCOL_VERSION,
      url: this.deps.url,
      configOffset: this.deps.configTopic.position,
      allocation: { version: CONNECT_PROTOCOL_VERSION, error: 0, leader: '', leaderUrl: '', configOffset: 0n, assigned: this.owned, revoked: emptyWorkSet(), delay: 0 },
    };
  }

  async assign(members: JoinedMember[], generation: number, leaderId: string): Promise<Map<string, Assignment>> {
    await this.deps.configTopic.readToEnd();
    const cfg = this.deps.configLog;
    const work = emptyWorkSet();
    for (const name of [...cfg.connectors.keys()].sort()) {
      work.connectors.push(name);
      const n = cfg.tasks.get(name)?.length ?? 0;
      for (let task = 0; task < n; task++) work.tasks.push({ connector: name, task });
    }
    const views = members.map((m) => ({ id: m.memberId, owned: m.metadata.allocation?.assigned ?? emptyWorkSet() }));
    // The leader's tasks.max.per.worker caps every member (the group's workers share their worker config).
    const limit = this.deps.settings['tasks.max.per.worker'];
    const res = assign(work, views, this.assignorState, Date.now(), this.deps.scheduledRebalanceMaxDelayMs, limit);
    const newlyLost = [...res.state.lostSince.keys()].filter((k) => !this.assignorState.lostSince.has(k));
    this.assignorState = res.state;
    // Held work shows as UNASSIGNED (not the dead worker's last RUNNING) until it is reassigned.
    for (const key of newlyLost) void this.markUnassigned(key, generation);
    const capped = new Set(res.capped.tasks.map((t) => `task:${taskKey(t)}`));
    if (capped.size > 0) this.log.warn({ tasks: capped.size, limit }, 'Tasks left unassigned: every worker runs tasks.max.per.worker tasks');
    const note = `Not assigned: each of the ${members.length} worker(s) of the group already runs tasks.max.per.worker=${limit} tasks`;
    for (const key of capped) if (!this.cappedTasks.has(key)) void this.markUnassigned(key, generation, note);
    this.cappedTasks = capped;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimer = undefined;
    if (res.delay > 0) {
      this.log.info({ delay: res.delay, held: res.state.lostSince.size }, 'Work of departed workers held until the scheduled rebalance');
      this.delayTimer = setTimeout(() => this.member.requestRejoin(), res.delay);
      this.delayTimer.unref();
    }
    const leaderUrl = members.find((m) => m.memberId === leaderId)?.metadata.url ?? this.deps.url;
    const out = new Map<string, Assignment>();
    for (const [id, a] of res.assignments) {
      out.set(id, { version: CONNECT_PROTOCOL_VERSION, error: 0, leader: leaderId, leaderUrl, configOffset: this.deps.configTopic.position, assigned: a.assigned, revoked: a.revoked, delay: res.delay });
    }
    this.log.debug({ generation, members: members.length }, 'Assignment computed');
    return out;
  }

  private async markUnassigned(key: string, generation: number, message?: string): Promise<void> {
    const task = /^task:(.*)-(\d+)$/.exec(key);
    const name = task ? task[1]! : key.slice('connector:'.length);
    const previous = task ? this.deps.status.taskEntries(name).get(Number(task[2])) : this.deps.status.connector(name);
    const entry = { state: 'UNASSIGNED' as const, workerId: previous?.workerId ?? '', ...(message ? { message } : {}) };
    try {
      if (task) await this.deps.status.putTask(name, Number(task[2]), entry, generation);
      else await this.deps.status.putConnector(name, entry, generation);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'Status not written');
    }
  }

  onAssignment(a: Assignment, generation: number): void {
    this.leaderUrl = a.leaderUrl;
    this.generation = generation;
    void this.ops
      .run(async () => {
        if (this.stopped) return;
        const want = new Set([...a.assigned.connectors.map((c) => `c:${c}`), ...a.assigned.tasks.map((t) => `t:${taskKey(t)}`)]);
        const revoking = [...this.connectors.keys()].filter((c) => !want.has(`c:${c}`));
        const revokingTasks = [...this.tasks.keys()].filter((t) => !want.has(`t:${t}`));
        await Promise.all([...revokingTasks.map((t) => this.stopTask(t)), ...revoking.map((c) => this.stopConnectorInstance(c))]);
        this.owned = { connectors: [...a.assigned.connectors], tasks: a.assigned.tasks.map((t) => ({ ...t })) };
        if (a.revoked.connectors.length + a.revoked.tasks.length > 0) {
          // Revoked work now stopped: the next round hands it to another worker.
          this.member.requestRejoin();
        }
        if (this.isLeader) await this.ensureSessionKey();
        for (const c of a.assigned.connectors) if (!this.connectors.has(c)) await this.startConnectorInstance(c);
        for (const t of a.assigned.tasks) if (!this.tasks.has(taskKey(t))) this.startTask(t.connector, t.task);
      })
      .catch((err) => this.log.error({ err: (err as Error).message }, 'Applying the assignment failed'));
  }

  onLost(reason: string): void {
    this.log.warn({ reason }, 'Left the group: stopping every connector and task of this worker');
    void this.ops.run(() => this.stopAll()).catch(() => undefined);
  }

  private async stopAll(): Promise<void> {
    await Promise.all([...[...this.tasks.keys()].map((t) => this.stopTask(t)), ...[...this.connectors.keys()].map((c) => this.stopConnectorInstance(c))]);
    this.owned = emptyWorkSet();
  }

  private async ensureSessionKey(): Promise<void> {
    const k = this.deps.configLog.sessionKey;
    if (k && Date.now() - k.created < 3600_000) return;
    await this.deps.configLog.putSessionKey(randomBytes(32), Date.now());
  }

  /** Why this worker may not write offsets of `connector` now (null: it may). */
  offsetWriteRefusal(connector: string): string | null {
    // Tasks keep running (and committing) while a cooperative rebalance is under way.
    if (!this.member.confirmedRecently()) return 'this worker is not a confirmed member of the current generation';
    if (!this.owned.tasks.some((t) => t.connector === connector)) return 'no task of the connector is assigned to this worker';
    return null;
  }

  // ------------------------------------------------------------ config changes

  private onConfigChange(c: ConfigChange): void {
    if (this.stopped) return;
    if (c.type === 'restart') return this.onRestartRequest(c.name, c);
    void this.ops
      .run(async () => {
        if (c.type === 'session-key') return;
        const name = c.name;
        if (c.type === 'connector') {
          if (this.isLeader) this.member.requestRejoin();
          if (c.removed) {
            for (const t of [...this.tasks.values()].filter((t) => t.connector === name)) await this.stopTask(`${name}-${t.id}`, false);
            await this.stopConnectorInstance(name, false);
            return;
          }
          if (this.connectors.has(name)) {
            await this.stopConnectorInstance(name);
            await this.startConnectorInstance(name);
          }
          return;
        }
        if (c.type === 'target') {
          const target = this.deps.configLog.targets.get(name) ?? 'STARTED';
          for (const t of this.tasks.values()) {
            if (t.connector !== name) continue;
            if (target === 'PAUSED') t.runner?.pause();
            else if (target === 'STARTED') t.runner?.resume();
          }
          if (this.connectors.has(name) || this.owned.connectors.includes(name)) {
            if (target === 'STOPPED') {
              await this.stopConnectorInstance(name);
              await this.setConnectorStatus(name, 'STOPPED');
            } else if (!this.connectors.has(name)) {
              await this.startConnectorInstance(name);
            } else {
              await this.setConnectorStatus(name, target === 'PAUSED' ? 'PAUSED' : 'RUNNING');
            }
          }
          return;
        }
        // New task configs committed.
        const configs = this.deps.configLog.tasks.get(name) ?? [];
        if (this.isLeader) this.member.requestRejoin();
        for (const t of [...this.tasks.values()].filter((t) => t.connector === name)) {
          const next = configs[t.id];
          if (!next) await this.stopTask(`${name}-${t.id}`);
          else if (!sameConfig(next, t.config)) {
            await this.stopTask(`${name}-${t.id}`);
            this.startTask(name, t.id);
          }
        }
        if (this.isLeader) await this.deps.status.removeTasksFrom(name, configs.length);
      })
      .catch((err) => this.log.error({ err: (err as Error).message }, 'Applying a config change failed'));
  }

  // ------------------------------------------------------------ local work

  private plugin(name: string): ConnectorPlugin<any> | undefined {
    return this.view.plugin(name);
  }

  private async setConnectorStatus(name: string, state: StatusEntry['state'], trace?: string): Promise<void> {
    this.deps.metrics.setConnectorState(name, state);
    await this.deps.status.putConnector(name, { state: state as never, workerId: this.workerId, ...(trace ? { trace } : {}) }).catch((err) => this.log.warn({ err: (err as Error).message }, 'Status not written'));
  }

  private async setTaskStatus(name: string, id: number, state: TaskState, detail: { trace?: string; message?: string } = {}): Promise<void> {
    this.deps.metrics.setTaskState(name, id, state);
    await this.deps.status.putTask(name, id, { state, workerId: this.workerId, ...detail }).catch((err) => this.log.warn({ err: (err as Error).message }, 'Status not written'));
  }

  /** Resolves `${provider:...}` references with the worker's providers; the values they stand for are scrubbed from logs. */
  private resolve(config: Record<string, string>, plugin: ConnectorPlugin<any>): { config: Record<string, string>; references: Reference[] } {
    const r = this.providers.resolve(config);
    const keys = plugin.config.secretKeys();
    const literal = Object.entries(r.config)
      .filter(([k]) => isSecretKey(k, keys))
      .map(([, v]) => v);
    for (const s of [...r.secrets, ...literal, ...clientOverrideSecretValues(r.config)]) this.deps.logs.redactor.add(s);
    return { config: r.config, references: r.references };
  }

  private async startConnectorInstance(name: string): Promise<void> {
    const config = this.deps.configLog.connectors.get(name);
    const plugin = this.plugin(name);
    if (!config) return;
    const target = this.deps.configLog.targets.get(name) ?? 'STARTED';
    if (!plugin) {
      await this.setConnectorStatus(name, 'FAILED', `Unknown connector class ${config['connector.class']}`);
      return;
    }
    if (target === 'STOPPED') {
      await this.setConnectorStatus(name, 'STOPPED');
      return;
    }
    const log = this.deps.logs.get(`connector.${name}`, { connector: name });
    let resolved: ReturnType<DistributedHerder['resolve']>;
    try {
      resolved = this.resolve(config, plugin);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'Connector config not resolved');
      await this.setConnectorStatus(name, 'FAILED', traceOf(err));
      return;
    }
    let instance: Connector;
    try {
      // A plugin may load its implementation (and client library) here, on first use.
      instance = await plugin.create();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'Connector failed to load');
      await this.setConnectorStatus(name, 'FAILED', traceOf(err));
      return;
    }
    const abort = new AbortController();
    const local: LocalConnector = { name, instance, abort, plugin, config, resolved: resolved.config, references: resolved.references };
    const ctx: SourceConnectorContext = {
      connectorName: name,
      logger: log,
      signal: abort.signal,
      offsetReader: {
        offset: async (p) => (await this.deps.offsetStore.get(name, [p])).get(p) ?? null,
        offsets: (ps) => this.deps.offsetStore.get(name, ps),
      },
      requestTaskReconfiguration: () => {
        if (abort.signal.aborted) return;
        void this.ops.run(() => this.reconfigure(local)).catch((err) => log.error({ err: (err as Error).message }, 'Task reconfiguration failed'));
      },
      raiseError: (err: Error) => {
        if (abort.signal.aborted) return;
        void this.setConnectorStatus(name, 'FAILED', traceOf(err));
      },
    };
    this.connectors.set(name, local);
    try {
      const ms = this.deps.settings['connector.validation.timeout.ms'];
      const late = Symbol('late');
      const r = await withDeadline(Promise.resolve(instance.start(resolved.config, ctx)).then(() => undefined), ms, () => late);
      if (r === late) {
        abort.abort();
        throw new Error(`Connector ${name} did not start within ${ms} ms (connector.validation.timeout.ms)`);
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, 'Connector failed to start');
      await this.setConnectorStatus(name, 'FAILED', traceOf(err));
      return;
    }
    await this.setConnectorStatus(name, target === 'PAUSED' ? 'PAUSED' : 'RUNNING');
    log.info({ class: plugin.className }, 'Connector started');
    await this.reconfigure(local);
  }

  /** Asks the connector for its task configs and hands them to the leader when they changed. */
  private async reconfigure(local: LocalConnector): Promise<void> {
    if (this.connectors.get(local.name) !== local) return;
    let configs: TaskConfig[];
    try {
      const max = Number(local.resolved['tasks.max'] ?? local.config['tasks.max'] ?? '1') || 1;
      // Written to the config topic with the placeholders put back: resolved secrets never reach it.
      configs = (await local.instance.taskConfigs(max)).slice(0, max).map((c) => restorePlaceholders(c, local.config, local.resolved, local.references));
    } catch (err) {
      await this.setConnectorStatus(local.name, 'FAILED', traceOf(err));
      return;
    }
    const current = this.deps.configLog.tasks.get(local.name);
    if (current && current.length === configs.length && current.every((c, i) => sameConfig(c, configs[i]!))) return;
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.isLeader) await this.deps.configLog.putTasks(local.name, configs);
        else if (this.leaderUrl) await this.deps.submitTaskConfigs(this.leaderUrl, local.name, configs);
        else throw new Error('no leader known');
        return;
      } catch (err) {
        if (this.connectors.get(local.name) !== local || this.stopped || attempt >= 20) {
          this.log.error({ connector: local.name, err: (err as Error).message }, 'Task configs not submitted');
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 3000)));
      }
    }
  }

  private async stopConnectorInstance(name: string, report = true): Promise<void> {
    const local = this.connectors.get(name);
    if (!local) return;
    this.connectors.delete(name);
    local.abort.abort();
    try {
      await local.instance.stop();
    } catch (err) {
      this.log.warn({ connector: name, err: (err as Error).message }, 'Connector stop() failed');
    }
    if (report && this.deps.configLog.connectors.has(name) && this.deps.configLog.targets.get(name) !== 'STOPPED') await this.setConnectorStatus(name, 'UNASSIGNED');
  }

  private startTask(connector: string, id: number): void {
    const configs = this.deps.configLog.tasks.get(connector);
    const config = configs?.[id];
    const plugin = this.plugin(connector);
    const connectorConfig = this.deps.configLog.connectors.get(connector);
    if (!config || !plugin || !connectorConfig) return;
    const key = `${connector}-${id}`;
    const slot: LocalTask = { connector, id, config, generation: (this.tasks.get(key)?.generation ?? 0) + 1 };
    this.tasks.set(key, slot);
    this.taskStarts.inc({ connector, task: String(id) });
    const generation = slot.generation;
    let exactlyOnce: ExactlyOnceTask | undefined;
    if (this.deps.exactlyOnce && plugin.type === 'source') {
      try {
        exactlyOnce = exactlyOnceTask(this.deps.exactlyOnce, connector, id, connectorConfig, this.deps.settings['offset.flush.interval.ms']);
        // Fence the task's earlier producers (and abort their open transaction) before it reads its offsets.
        slot.fencing = exactlyOnce.producer.fence();
      } catch (err) {
        void this.setTaskStatus(connector, id, 'FAILED', { trace: traceOf(err) });
        return;
      }
    }
    let resolvedConnector: Record<string, string>;
    let resolvedTask: Record<string, string>;
    try {
      resolvedConnector = this.resolve(connectorConfig, plugin).config;
      resolvedTask = this.resolve(config, plugin).config;
    } catch (err) {
      void exactlyOnce?.producer.disconnect();
      void this.setTaskStatus(connector, id, 'FAILED', { trace: traceOf(err) });
      return;
    }
    let made: Connector | Promise<Connector>;
    try {
      made = plugin.create();
    } catch (err) {
      void exactlyOnce?.producer.disconnect();
      void this.setTaskStatus(connector, id, 'FAILED', { trace: traceOf(err) });
      return;
    }
    const launch = (instance: Connector) => this.launchTask(slot, generation, plugin, instance, resolvedConnector, resolvedTask, exactlyOnce);
    if (!(made instanceof Promise)) return launch(made);
    // The plugin loads its implementation first: the slot may have been stopped or replaced meanwhile.
    made.then(
      (instance) => {
        if (slot.generation === generation && this.tasks.get(key) === slot) launch(instance);
        else void exactlyOnce?.producer.disconnect();
      },
      (err) => {
        void exactlyOnce?.producer.disconnect();
        if (slot.generation === generation && this.tasks.get(key) === slot) void this.setTaskStatus(connector, id, 'FAILED', { trace: traceOf(err) });
      },
    );
  }

  private launchTask(
    slot: LocalTask,
    generation: number,
    plugin: ConnectorPlugin<any>,
    instance: Connector,
    resolvedConnector: Record<string, string>,
    resolvedTask: Record<string, string>,
    exactlyOnce: ExactlyOnceTask | undefined,
  ): void {
    const { connector, id } = slot;
    const key = `${connector}-${id}`;
    try {
      const runner = this.factory.create({
        exactlyOnce,
        connector,
        connectorConfig: resolvedConnector,
        plugin,
        instance,
        taskId: id,
        taskConfig: resolvedTask,
        onStateChange: (state, detail) => {
          if (slot.generation !== generation || this.tasks.get(key) !== slot) return;
          void this.setTaskStatus(connector, id, state, detail);
          if (state === 'FAILED') this.scheduleAutoRestart(connector, id, generation);
        },
        onTopic: (topic) => void this.deps.status.putTopic(connector, topic, id).catch(() => undefined),
      });
      slot.runner = runner;
      if (this.deps.configLog.targets.get(connector) === 'PAUSED') runner.pause();
      if (!slot.fencing) runner.start();
      else
        slot.fencing.then(
          () => slot.generation === generation && runner.start(),
          (err) => slot.generation === generation && void this.setTaskStatus(connector, id, 'FAILED', { trace: traceOf(err) }),
        );
    } catch (err) {
      void this.setTaskStatus(connector, id, 'FAILED', { trace: traceOf(err) });
    }
  }

  /** Restarts a FAILED task with exponential backoff, per its connector's errors.task.restart.* options. */
  private scheduleAutoRestart(connector: string, id: number, generation: number): void {
    const key = `${connector}-${id}`;
    if (this.stopped) return;
    let s;
    try {
      s = ErrorHandlingConfig.parse(this.deps.configLog.connectors.get(connector) ?? {});
    } catch {
      return;
    }
    if (!s['errors.task.restart.enable']) return;
    const f = this.failures.get(key) ?? { count: 0, startedAt: Date.now() };
    this.failures.set(key, f);
    if (f.timer) return;
    const max = s['errors.task.restart.backoff.max.ms'];
    if (Date.now() - f.startedAt > max) f.count = 0;
    const limit = s['errors.task.restart.max.attempts'];
    if (limit >= 0 && f.count >= limit) {
      this.log.error({ connector, task: id }, `Task failed ${f.count} times in a row; left FAILED`);
      return;
    }
    f.count++;
    const initial = s['errors.task.restart.backoff.initial.ms'];
    const delay = initial === 0 ? 0 : backoffDelay(f.count, initial, max);
    this.log.warn({ connector, task: id, delay, attempt: f.count }, 'Task failed; restarting automatically');
    f.timer = setTimeout(() => {
      f.timer = undefined;
      void this.ops
        .run(async () => {
          const slot = this.tasks.get(key);
          if (!slot || slot.generation !== generation || this.stopped) return;
          this.deps.metrics.taskRestarts.inc({ connector, task: String(id) });
          await this.stopTask(key, false);
          f.startedAt = Date.now();
          this.startTask(connector, id);
        })
        .catch((err) => this.log.error({ err: (err as Error).message }, 'Automatic restart failed'));
    }, delay);
    f.timer.unref();
  }

  private async stopTask(key: string, report = true): Promise<void> {
    const slot = this.tasks.get(key);
    if (!slot) return;
    this.tasks.delete(key);
    slot.generation++;
    await slot.runner?.stop(this.deps.settings['task.shutdown.graceful.timeout.ms']);
    if (report && this.deps.configLog.connectors.has(slot.connector)) await this.setTaskStatus(slot.connector, slot.id, 'UNASSIGNED');
  }

  private async restartLocal(name: string, opts: { includeTasks: boolean; onlyFailed: boolean }): Promise<void> {
    const status = this.status(name);
    if (this.connectors.has(name) && (!opts.onlyFailed || status.connector.state === 'FAILED')) {
      await this.stopConnectorInstance(name, false);
      await this.startConnectorInstance(name);
    } else if (!this.connectors.has(name) && this.owned.connectors.includes(name) && (!opts.onlyFailed || status.connector.state === 'FAILED')) {
      await this.startConnectorInstance(name);
    }
    if (!opts.includeTasks) return;
    for (const t of status.tasks) {
      const key = `${name}-${t.id}`;
      if (!this.owned.tasks.some((o) => taskKey(o) === key)) continue;
      if (opts.onlyFailed && t.state !== 'FAILED') continue;
      await this.stopTask(key, false);
      this.startTask(name, t.id);
    }
  }

  /** Restarts one task if this worker runs it; false when it does not. */
  async restartTaskHere(name: string, id: number): Promise<boolean> {
    const key = `${name}-${id}`;
    if (!this.owned.tasks.some((o) => taskKey(o) === key)) return false;
    await this.ops.run(async () => {
      const f = this.failures.get(key);
      if (f?.timer) clearTimeout(f.timer);
      this.failures.delete(key);
      await this.stopTask(key, false);
      this.startTask(name, id);
    });
    return true;
  }

  /** A restart request read from the config topic. */
  onRestartRequest(name: string, opts: { includeTasks: boolean; onlyFailed: boolean }): void {
    void this.ops.run(() => this.restartLocal(name, opts)).catch((err) => this.log.error({ err: (err as Error).message }, 'Restart failed'));
  }

  // ------------------------------------------------------------ queries (local view)

  names(): string[] {
    return this.view.names();
  }

  has(name: string): boolean {
    return this.view.has(name);
  }

  private configOf(name: string): ConnectorConfig {
    return this.view.configOf(name);
  }

  private typeOf(name: string): 'source' | 'sink' {
    return this.view.typeOf(name);
  }

  info(name: string): ConnectorInfo {
    return this.view.info(name);
  }

  config(name: string): Record<string, string> {
    return this.view.config(name);
  }

  taskConfigs(name: string): Array<{ id: { connector: string; task: number }; config: Record<string, string> }> {
    return this.view.taskConfigs(name);
  }

  status(name: string): ConnectorStatus {
    return this.view.status(name);
  }

  taskStatus(name: string, id: number): StatusEntry & { id: number } {
    return this.view.taskStatus(name, id);
  }

  setNote(name: string, note: string | undefined): void {
    if (note) this.view.notes.set(name, note);
    else this.view.notes.delete(name);
  }

  topics(name: string): string[] {
    this.configOf(name);
    return this.deps.status.topics(name);
  }

  /** Forwarded to the leader like every write; the tombstones reach every worker through the status topic. */
  resetTopics(name: string): void {
    this.configOf(name);
    this.requireLeader();
    void this.deps.status.resetTopics(name).catch((err) => this.log.warn({ err: (err as Error).message }, 'Active topics not reset'));
  }

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

  // ------------------------------------------------------------ writes (leader only)

  private requireLeader(): void {
    if (!this.isLeader || !this.member.inGoodStanding()) throw conflict(REBALANCING);
  }

  private async validateOrThrow(config: Record<string, string>): Promise<void> {
    const cls = config['connector.class'];
    if (!cls) throw badRequest(`Connector config ${JSON.stringify(maskConfig(config, []))} contains no connector type`);
    const plugin = this.deps.registry.connector(cls);
    if (!plugin) {
      throw badRequest(`Failed to find any class that implements Connector and which name matches ${cls}, available connectors are: ${this.deps.registry.list(true).map((p) => p.class).join(', ')}`);
    }
    const infos = await this.validate(config);
    if (plugin.type === 'source') addExactlyOnceErrors(config, this.deps.settings['exactly.once.source.support'], infos);
    if (infos.error_count > 0) {
      const lines = infos.configs.flatMap((c) => c.value.errors.map((e) => `${c.value.name}: ${e}`));
      throw badRequest(
        `Connector configuration is invalid and contains the following ${infos.error_count} error(s):\n${lines.join('\n')}\n` +
          `You can also find the above list of errors at the endpoint \`/connector-plugins/${plugin.className}/config/validate\``,
      );
    }
  }

  private async written(): Promise<void> {
    await this.deps.configTopic.readToEnd();
  }

  async create(name: string, config: Record<string, string>, initialState: TargetState = 'STARTED'): Promise<ConnectorInfo> {
    return this.ops.run(async () => {
      this.requireLeader();
      await this.written();
      if (this.has(name)) throw conflict(`Connector ${name} already exists`);
      const full = { ...config, name };
      await this.validateOrThrow(full);
      this.requireLeader();
      if (initialState !== 'STARTED') await this.deps.configLog.putTarget(name, initialState);
      await this.deps.configLog.putConnector(name, full);
      await this.written();
      return this.info(name);
    });
  }

  async putConfig(name: string, config: Record<string, string>): Promise<{ created: boolean; info: ConnectorInfo }> {
    return this.ops.run(async () => {
      this.requireLeader();
      await this.written();
      const existing = this.deps.configLog.connectors.get(name);
      const full: Record<string, string> = { ...config, name };
      if (existing) for (const [k, v] of Object.entries(full)) if (v === '[hidden]' && existing[k] !== undefined) full[k] = existing[k]!;
      await this.validateOrThrow(full);
      if (existing && sameConfig(existing, full)) return { created: false, info: this.info(name) };
      this.requireLeader();
      await this.deps.configLog.putConnector(name, full);
      await this.written();
      return { created: !existing, info: this.info(name) };
    });
  }

  async patchConfig(name: string, patch: Record<string, string | null>): Promise<ConnectorInfo> {
    const merged: Record<string, string> = { ...this.configOf(name) };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    if (patch.name !== undefined && patch.name !== name) throw badRequest(`Connector name configuration (${patch.name}) doesn't match connector name in the URL (${name})`);
    return (await this.putConfig(name, merged)).info;
  }

  async delete(name: string): Promise<void> {
    return this.ops.run(async () => {
      this.requireLeader();
      await this.written();
      this.configOf(name);
      await this.deps.configLog.removeConnector(name);
      await this.written();
      await this.deps.status.remove(name);
      this.view.notes.delete(name);
      this.deps.metrics.forgetConnector(name);
    });
  }

  private async writeTarget(name: string, state: TargetState): Promise<void> {
    await this.ops.run(async () => {
      this.requireLeader();
      await this.written();
      this.configOf(name);
      await this.deps.configLog.putTarget(name, state);
      // A stopped connector has an empty task set (Kafka Connect's STOPPED).
      if (state === 'STOPPED') await this.deps.configLog.putTasks(name, []);
      await this.written();
    });
  }

  pause(name: string): Promise<void> {
    return this.writeTarget(name, 'PAUSED');
  }

  resume(name: string): Promise<void> {
    return this.writeTarget(name, 'STARTED');
  }

  stopConnector(name: string): Promise<void> {
    return this.writeTarget(name, 'STOPPED');
  }

  async restart(name: string, opts: { includeTasks: boolean; onlyFailed: boolean }): Promise<ConnectorStatus | null> {
    this.requireLeader();
    const snapshot = this.status(name);
    await this.deps.configTopic.send([{ key: `restart-connector-${name}`, value: Buffer.from(JSON.stringify({ 'include-tasks': opts.includeTasks, 'only-failed': opts.onlyFailed })) }]);
    if (!opts.includeTasks && !opts.onlyFailed) return null;
    if (!opts.onlyFailed || snapshot.connector.state === 'FAILED') snapshot.connector.state = 'RESTARTING';
    for (const t of snapshot.tasks) if (opts.includeTasks && (!opts.onlyFailed || t.state === 'FAILED')) t.state = 'RESTARTING';
    return snapshot;
  }

  /** Hands an ad hoc signal (e.g. execute-snapshot) to the connector's tasks running on this worker; resolves with how many took it. */
  async signal(name: string, signal: import('@ferry/core').SourceSignal): Promise<number> {
    this.configOf(name);
    let n = 0;
    for (const t of this.tasks.values()) {
      if (t.connector !== name) continue;
      const r = t.runner as { signal?: (s: import('@ferry/core').SourceSignal) => Promise<boolean> } | undefined;
      if (r?.signal && (await r.signal(signal))) n++;
    }
    return n;
  }

  async restartTask(name: string, id: number): Promise<void> {
    this.configOf(name);
    if (id >= (this.deps.configLog.tasks.get(name)?.length ?? 0)) throw notFound(`Task ${name}-${id} not found`);
    if (!(await this.restartTaskHere(name, id))) throw conflict(`Task ${name}-${id} does not run on this worker`);
  }

  // ------------------------------------------------------------ offsets

  private get offsetsApi() {
    return { offsets: this.deps.rawOffsetStore, backbone: this.deps.backbone };
  }

  async offsets(name: string): Promise<{ offsets: OffsetEntry[] }> {
    return readConnectorOffsets({ ...this.offsetsApi, offsets: this.deps.offsetStore }, name, this.typeOf(name), this.configOf(name));
  }

  private requireStopped(name: string): void {
    if (this.deps.configLog.targets.get(name) !== 'STOPPED') {
      throw badRequest(
        `Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/${name}/stop' endpoint`,
      );
    }
  }

  async alterOffsets(name: string, offsets: OffsetEntry[]): Promise<{ message: string }> {
    return this.ops.run(async () => {
      this.requireLeader();
      const config = this.configOf(name);
      this.requireStopped(name);
      return alterConnectorOffsets(this.offsetsApi, name, this.plugin(name)!, config, offsets);
    });
  }

  async resetOffsets(name: string): Promise<{ message: string }> {
    return this.ops.run(async () => {
      this.requireLeader();
      this.configOf(name);
      this.requireStopped(name);
      return resetConnectorOffsets(this.offsetsApi, name, this.typeOf(name));
    });
  }
}

function sameConfig(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
