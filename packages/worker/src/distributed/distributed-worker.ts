import { hostname } from 'node:os';
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
import { buildKafkaConnections } from '../config/kafka-client-config.js';
import { selectBundledPlugins } from '../plugins/opt-in.js';
import { RestEndpoint } from '../rest/endpoint.js';
import { cors, hostCheck, requireJsonBody } from '../rest/guards.js';
import { createApp } from '../rest/server.js';
import { KafkaConfigLog } from '../stores/kafka-config-log.js';
import { FencedOffsetStore, KafkaOffsetStore } from '../stores/kafka-offset-store.js';
import { KafkaStatusStore } from '../stores/kafka-status-store.js';
import { VERSION, loadExternalPlugins, type StandaloneOptions } from '../worker.js';
import { DistributedHerder } from './distributed-herder.js';
import { GroupMember } from './group-member.js';
import { KafkaLog } from './kafka-log.js';
import { distributedRoutes, signedInternalRoutes, submitTaskConfigs } from './rest-forwarding.js';

export type DistributedOptions = Omit<StandaloneOptions, 'connectorFiles'>;

/**
 * A worker of a cluster: configs, offsets and statuses in three compacted
 * topics, membership and assignment through the group `group.id`, the REST
 * API on every worker (writes go to the leader).
 */
export class DistributedWorker {
  private rest: RestEndpoint | undefined;
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

  /** Port of the first listener. */
  get port(): number {
    return this.rest?.ports[0] ?? 0;
  }

  /** URL of the first listener. */
  get url(): string {
    return this.rest?.urls[0] ?? '';
  }

  static async start(opts: DistributedOptions): Promise<DistributedWorker> {
    const baseDir = opts.baseDir ?? process.cwd();
    const { raw, settings, configProviders, secrets } = loadWorkerConfig(opts.workerConfig, opts.env ?? process.env);
    const groupId = settings['group.id'];
    if (!groupId) throw new Error('Distributed mode needs group.id');
    const logs = new LogManager({ level: settings['log.level'], destination: opts.logDestination });
    for (const s of secrets) logs.redactor.add(s);
    const log = logs.get('worker');
    const metrics = new WorkerMetrics();
    // Listeners, HTTPS and authentication as a standalone worker: checked before anything starts.
    const rest = RestEndpoint.prepare(settings, baseDir, logs.get('rest'));
    const connections = buildKafkaConnections(raw);
    const bundled = selectBundledPlugins(allPlugins as AnyPlugin[], settings);
    const registry = new PluginRegistry([
      ...(opts.plugins ?? bundled.plugins),
      ...builtinConverters,
      ...builtinHeaderConverters,
      ...builtinTransformations,
      ...builtinPredicates,
      ...(await loadExternalPlugins(bundled.external, baseDir)),
    ]);
    const backbone = await createBackbone(settings, raw, logs);
    const rf = (n: number) => (n === -1 ? undefined : n);
    const compact = { 'cleanup.policy': 'compact' };
    await backbone.admin().ensureTopics([
      { topic: settings['config.storage.topic'], numPartitions: 1, replicationFactor: rf(settings['config.storage.replication.factor']), configs: compact },
      { topic: settings['offset.storage.topic'], numPartitions: settings['offset.storage.partitions'], replicationFactor: rf(settings['offset.storage.replication.factor']), configs: compact },
      { topic: settings['status.storage.topic'], numPartitions: settings['status.storage.partitions'], replicationFactor: rf(settings['status.storage.replication.factor']), configs: compact },
    ]);

    // The REST port must be known before joining: it is this worker's id and URL.
    // Routes are added once the herder exists; until then requests pass the guards and get 404.
    const outer = express();
    outer.disable('x-powered-by');
    outer.set('query parser', 'extended');
    const routes = express.Router();
    let internal: express.Router | undefined;
    outer.use(hostCheck(rest.security.allowedHosts));
    outer.use(cors(rest.security.cors ?? { allowOrigin: '', allowMethods: '' }));
    // The signed internal endpoint is the only route served without user credentials (and only with a valid signature).
    outer.use((req, res, next) => (internal ? internal(req, res, next) : next()));
    if (rest.security.auth) outer.use(rest.security.auth);
    outer.use(requireJsonBody());
    outer.use(routes);
    outer.use((req: express.Request, res: express.Response) => {
      res.status(404).json({ error_code: 404, message: `HTTP 404 Not Found: ${req.method} ${req.path}` });
    });
    outer.use((err: Error & { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      const status = err.type === 'entity.parse.failed' ? 400 : (err.status ?? 500);
      res.status(status).json({ error_code: status, message: status >= 500 ? 'Request failed' : `Cannot deserialize the request body: ${err.message}` });
    });
    // Other workers reach this one through the advertised listener (https forwards over https).
    const wanted = settings['rest.advertised.listener'];
    const advertised = wanted === undefined ? 0 : rest.listeners.findIndex((l) => l.protocol === wanted);
    if (advertised < 0) throw new Error(`rest.advertised.listener=${wanted} but no listener uses ${wanted}`);
    const scheme = rest.listeners[advertised]!.protocol;
    await rest.listen(outer);
    const port = settings['rest.advertised.port'] ?? rest.ports[advertised]!;
    const host = settings['rest.advertised.host.name'] ?? hostname();
    const workerId = `${host}:${port}`;
    const url = `${scheme}://${workerId}`;
    for (const [i, u] of rest.urls.entries()) log.info({ port: rest.ports[i], url: u, workerId, auth: rest.authenticated ? 'on' : 'off' }, 'REST API listening');

    const clientId = `${settings['client.id']}-${workerId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    let herder: DistributedHerder | undefined;
    let member: GroupMember | undefined;
    const configLog = new KafkaConfigLog(() => configTopic);
    const offsets = new KafkaOffsetStore(() => offsetTopic);
    const status = new KafkaStatusStore(() => statusTopic, () => member?.generation ?? -1);
    const configTopic = new KafkaLog({ connections, clientId, topic: settings['config.storage.topic'], logger: logs.get('config-log'), onRecord: (r) => configLog.apply(r) });
    const eos = settings['exactly.once.source.support'];
    const offsetTopic = new KafkaLog({ connections, clientId, topic: settings['offset.storage.topic'], logger: logs.get('offset-log'), onRecord: (r) => offsets.applyRecord(r), readCommitted: eos !== 'disabled' });
    const statusTopic = new KafkaLog({ connections, clientId, topic: settings['status.storage.topic'], logger: logs.get('status-log'), onRecord: (r) => status.applyRecord(r) });

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
      configProviders,
      exactlyOnce: eos === 'enabled' ? { connection: connections.producer, groupId, clientId, offsetsTopic: offsetTopic, offsetsTopicName: settings['offset.storage.topic'] } : undefined,
      submitTaskConfigs: (leaderUrl, connector, configs) => submitTaskConfigs(configLog, leaderUrl, connector, configs),
    });
    member = new GroupMember(
      {
        connection: connections.admin,
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
    worker.rest = rest;
    internal = signedInternalRoutes({ herder, configLog, logger: logs.get('rest') });
    routes.use(
      distributedRoutes({ herder, configLog, logger: logs.get('rest'), retryForMs: Math.max(15000, settings['rebalance.timeout.ms']), scheme }),
    );
    routes.use(
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
        rest.security,
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
    await this.rest?.close();
    this.logs.get('worker').info('Worker stopped');
    this.logs.flush();
  }
}
