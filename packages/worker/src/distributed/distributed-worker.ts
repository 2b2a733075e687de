import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { allPlugins } from '@ferry/connectors';
import { createBackbone } from '../backbone/create-backbone.js';
import type { Backbone } from '../backbone/backbone.js';
import { loadWorkerConfig, type WorkerSettings } from '../config/worker-config.js';
import { builtinConverters, builtinHeaderConverters } from '../converters/index.js';
import { transformsFactory } from '../herder/transforms-factory.js';
import { builtinPredicates, builtinTransformations } from '../transforms/index.js';
import { LogManager } from '../logging.js';
import { WorkerMetrics } from '../metrics.js';
import { PluginRegistry, type AnyPlugin } from '../plugins/registry.js';
import { createApp, listen } from '../rest/server.js';
import { KafkaConfigLog } from '../stores/kafka-config-log.js';
import { FencedOffsetStore, KafkaOffsetStore } from '../stores/kafka-offset-store.js';
import { KafkaStatusStore } from '../stores/kafka-status-store.js';
import { VERSION, loadExternalPlugins, type StandaloneOptions } from '../worker.js';
import { DistributedHerder } from './distributed-herder.js';
import { GroupMember } from './group-member.js';
import { KafkaLog } from './kafka-log.js';
import { distributedRoutes, submitTaskConfigs } from './rest-forwarding.js';

export type DistributedOptions = Omit<StandaloneOptions, 'connectorFiles'>;

/**
 * A worker of a cluster: configs, offsets and statuses in three compacted
 * topics, membership and assignment through the group `group.id`, the REST
 * API on every worker (writes go to the leader).
 */
export class DistributedWorker {
  private server: Server | undefined;
  private ready = false;

  private constructor(
    readonly settings: WorkerSettings,
    readonly logs: LogManager,
    readonly metrics: WorkerMetrics,
    readonly backbone: Backbone,
    readonly herder: DistributedHerder,
    readonly member: GroupMember,
    private readonly logsToStop: KafkaLog[],
  ) {}

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(opts: DistributedOptions): Promise<DistributedWorker> {
    const baseDir = opts.baseDir ?? process.cwd();
    const { raw, settings } = loadWorkerConfig(opts.workerConfig, opts.env ?? process.env);
    const groupId = settings['group.id'];
    if (!groupId) throw new Error('Distributed mode needs group.id');
    const logs = new LogManager({ level: settings['log.level'], destination: opts.logDestination });
    const log = logs.get('worker');
    const metrics = new WorkerMetrics();
    const registry = new PluginRegistry([
      ...(opts.plugins ?? (allPlugins as AnyPlugin[])),
      ...builtinConverters,
      ...builtinHeaderConverters,
      ...builtinTransformations,
      ...builtinPredicates,
      ...(await loadExternalPlugins(settings['plugin.path'], baseDir)),
    ]);
    const backbone = createBackbone(settings, raw, logs);
    const rf = (n: number) => (n === -1 ? undefined : n);
    const compact = { 'cleanup.policy': 'compact' };
    await backbone.admin().ensureTopics([
      { topic: settings['config.storage.topic'], numPartitions: 1, replicationFactor: rf(settings['config.storage.replication.factor']), configs: compact },
      { topic: settings['offset.storage.topic'], numPartitions: settings['offset.storage.partitions'], replicationFactor: rf(settings['offset.storage.replication.factor']), configs: compact },
      { topic: settings['status.storage.topic'], numPartitions: settings['status.storage.partitions'], replicationFactor: rf(settings['status.storage.replication.factor']), configs: compact },
    ]);

    // The REST port must be known before joining: it is this worker's id and URL.
    const outer = express();
    outer.disable('x-powered-by');
    const server = await listen(outer, settings['rest.host.name'], settings['rest.port']);
    const port = settings['rest.advertised.port'] ?? (server.address() as AddressInfo).port;
    const host = settings['rest.advertised.host.name'] ?? hostname();
    const workerId = `${host}:${port}`;
    const url = `http://${workerId}`;
    log.info({ port: (server.address() as AddressInfo).port, workerId }, 'REST API listening');

    const brokers = settings['bootstrap.servers'];
    const clientId = `${settings['client.id']}-${workerId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    let herder: DistributedHerder | undefined;
    let member: GroupMember | undefined;
    const configLog = new KafkaConfigLog(() => configTopic);
    const offsets = new KafkaOffsetStore(() => offsetTopic);
    const status = new KafkaStatusStore(() => statusTopic, () => member?.generation ?? -1);
    const configTopic = new KafkaLog({ brokers, clientId, topic: settings['config.storage.topic'], logger: logs.get('config-log'), onRecord: (r) => configLog.apply(r) });
    const eos = settings['exactly.once.source.support'];
    const offsetTopic = new KafkaLog({ brokers, clientId, topic: settings['offset.storage.topic'], logger: logs.get('offset-log'), onRecord: (r) => offsets.applyRecord(r), readCommitted: eos !== 'disabled' });
    const statusTopic = new KafkaLog({ brokers, clientId, topic: settings['status.storage.topic'], logger: logs.get('status-log'), onRecord: (r) => status.applyRecord(r) });

    herder = new DistributedHerder({
      workerId,
      workerConfig: raw,
      settings,
      registry,
      backbone,
      offsetStore: new FencedOffsetStore(offsets, (c) => herder!.offsetWriteRefusal(c)),
      rawOffsetStore: offsets,
      configStore: undefined as never,
      statusStore: status,
      status,
      configLog,
      configTopic,
      logs,
      metrics,
      transforms: transformsFactory(registry),
      url,
      scheduledRebalanceMaxDelayMs: settings['scheduled.rebalance.max.delay.ms'],
      exactlyOnce: eos === 'enabled' ? { brokers, groupId, clientId, offsetsTopic: offsetTopic, offsetsTopicName: settings['offset.storage.topic'] } : undefined,
      submitTaskConfigs: (leaderUrl, connector, configs) => submitTaskConfigs(configLog, leaderUrl, connector, configs),
    });
    member = new GroupMember(
      {
        brokers,
        clientId,
        groupId,
        sessionTimeoutMs: settings['session.timeout.ms'],
        rebalanceTimeoutMs: settings['rebalance.timeout.ms'],
        heartbeatIntervalMs: settings['heartbeat.interval.ms'],
        logger: logs.get('group'),
      },
      herder,
    );
    herder.attach(member);
    const worker = new DistributedWorker(settings, logs, metrics, backbone, herder, member, [configTopic, offsetTopic, statusTopic]);
    worker.server = server;
    outer.use(distributedRoutes({ herder, configLog, logger: logs.get('rest'), retryForMs: Math.max(15000, settings['rebalance.timeout.ms']) }));
    outer.use(
      createApp(
        {
          herder: herder,
          registry,
          logs,
          metrics,
          version: VERSION,
          commit: process.env.FERRY_COMMIT ?? 'unknown',
          clusterId: () => backbone.admin().clusterId(),
          ready: () => worker.ready,
        },
        logs.get('rest'),
      ),
    );
    await statusTopic.start();
    await offsetTopic.start();
    await configTopic.start();
    member.start();
    worker.ready = true;
    log.info({ workerId, groupId, port: worker.port }, 'Distributed worker started');
    return worker;
  }

  /** Stops gracefully: tasks flush and commit, the worker leaves the group, then the REST API closes. */
  async stop(): Promise<void> {
    this.ready = false;
    await this.herder.stop();
    await this.member.stop();
    await Promise.all(this.logsToStop.map((l) => l.stop()));
    await this.backbone.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
    this.logs.get('worker').info('Worker stopped');
    this.logs.flush();
  }
}
