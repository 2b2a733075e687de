import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { DestinationStream } from 'pino';
import { allPlugins } from '@ferry/connectors';
import { createBackbone } from './backbone/create-backbone.js';
import type { Backbone } from './backbone/backbone.js';
import { loadWorkerConfig, type WorkerSettings } from './config/worker-config.js';
import { builtinConverters, builtinHeaderConverters } from './converters/index.js';
import { ConnectorDirWatcher, parseConnectorFile } from './deploy/connector-files.js';
import { Herder } from './herder/herder.js';
import { createJobsFacility, type JobsFacility } from './jobs/index.js';
import { transformsFactory } from './herder/transforms-factory.js';
import { builtinPredicates, builtinTransformations } from './transforms/index.js';
import { LogManager } from './logging.js';
import { WorkerMetrics } from './metrics.js';
import { registerLagMetric } from './lag-metric.js';
import { PluginRegistry, type AnyPlugin } from './plugins/registry.js';
import { selectBundledPlugins } from './plugins/opt-in.js';
import { RestEndpoint } from './rest/endpoint.js';
import { createApp } from './rest/server.js';
import { FileConfigStore } from './stores/file-config-store.js';
import { FileOffsetStore } from './stores/file-offset-store.js';
import { MemoryStatusStore } from './stores/memory-status-store.js';
import { FERRY_VERSION } from '@ferry/connector-kit';

export const VERSION = FERRY_VERSION;

export interface StandaloneOptions {
  /** The worker file's content (before environment overrides). */
  workerConfig: Record<string, unknown>;
  /** Connector files to deploy at start (each `{"name", "config"}`). */
  connectorFiles?: string[];
  /** Plugins to register instead of the bundled ones (tests build their own registry). */
  plugins?: AnyPlugin[];
  env?: NodeJS.ProcessEnv;
  logDestination?: DestinationStream;
  /** Resolve relative paths of the worker config against this folder. */
  baseDir?: string;
}

/** Loads `plugin.path` entries: npm package names or module paths exporting `plugins`. */
export async function loadExternalPlugins(entries: string[], baseDir: string): Promise<AnyPlugin[]> {
  const out: AnyPlugin[] = [];
  for (const entry of entries) {
    const spec = entry.startsWith('.') || entry.startsWith('/') ? pathToFileURL(resolve(baseDir, entry)).href : entry;
    const mod = (await import(spec)) as { plugins?: AnyPlugin[]; default?: { plugins?: AnyPlugin[] } };
    const list = mod.plugins ?? mod.default?.plugins;
    if (!Array.isArray(list)) throw new Error(`plugin.path entry ${entry} exports no "plugins" array`);
    out.push(...list);
  }
  return out;
}

/** A standalone worker: file stores, one herder, the REST API and the connectors folder. */
export class StandaloneWorker {
  private rest: RestEndpoint | undefined;
  private watcher: ConnectorDirWatcher | undefined;
  private ready = false;
  private jobs: JobsFacility | undefined;

  private constructor(
    readonly settings: WorkerSettings,
    readonly raw: Record<string, string>,
    readonly logs: LogManager,
    readonly metrics: WorkerMetrics,
    readonly registry: PluginRegistry,
    readonly backbone: Backbone,
    readonly herder: Herder,
    private readonly offsetStore: FileOffsetStore,
    private readonly baseDir: string,
  ) {}

  get port(): number {
    return this.rest?.ports[0] ?? 0;
  }

  /** URL of the first listener. */
  get url(): string {
    return this.rest?.urls[0] ?? '';
  }

  static async start(opts: StandaloneOptions): Promise<StandaloneWorker> {
    const baseDir = opts.baseDir ?? process.cwd();
    const { raw, settings, configProviders, secrets } = loadWorkerConfig(opts.workerConfig, opts.env ?? process.env);
    const logs = new LogManager({ level: settings['log.level'], destination: opts.logDestination });
    for (const s of secrets) logs.redactor.add(s);
    const log = logs.get('worker');
    const metrics = new WorkerMetrics();
    const rest = RestEndpoint.prepare(settings, baseDir, logs.get('rest'));
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
    const offsetsFile = resolve(baseDir, settings['offset.storage.file.filename']);
    const configsFile = resolve(baseDir, settings['config.storage.file.filename'] ?? join(dirname(offsetsFile), 'connect.configs'));
    const offsetStore = new FileOffsetStore(offsetsFile);
    const configStore = new FileConfigStore(configsFile);
    await offsetStore.start();
    await configStore.start();
    const transforms = transformsFactory(registry);
    const jobs = await createJobsFacility({ settings, workerConfig: raw, registry, backbone, transforms, logs, metrics });
    await jobs.start();
    const host = settings['rest.advertised.host.name'] ?? hostname();
    const herder = new Herder({
      workerId: `${host}:${settings['rest.advertised.port'] ?? settings['rest.port']}`,
      workerConfig: raw,
      settings,
      registry,
      backbone,
      offsetStore,
      configStore,
      statusStore: new MemoryStatusStore(),
      logs,
      metrics,
      transforms,
      configProviders,
      jobs,
    });
    const worker = new StandaloneWorker(settings, raw, logs, metrics, registry, backbone, herder, offsetStore, baseDir);
    registerLagMetric(metrics, herder, backbone);
    worker.jobs = jobs;
    const app = createApp(
      {
        herder,
        registry,
        logs,
        metrics,
        version: VERSION,
        commit: process.env.FERRY_COMMIT ?? 'unknown',
        clusterId: () => backbone.admin().clusterId(),
        ready: () => worker.ready,
        jobs,
      },
      logs.get('rest'),
      rest.security,
    );
    worker.rest = rest;
    await rest.listen(app);
    for (const [i, url] of rest.urls.entries()) {
      log.info({ port: rest.ports[i], url, auth: rest.authenticated ? 'on' : 'off', offsets: offsetsFile, configs: configsFile }, 'REST API listening');
    }
    await herder.start();
    for (const f of opts.connectorFiles ?? []) {
      const { name, config } = parseConnectorFile(await readFile(f, 'utf8'), f);
      await herder.putConfig(name, config);
    }
    if (settings['connectors.dir']) {
      worker.watcher = new ConnectorDirWatcher(resolve(baseDir, settings['connectors.dir']), herder, logs.get('deploy'), settings['connectors.dir.poll.interval.ms']);
      await worker.watcher.start();
    }
    worker.ready = true;
    log.info({ connectors: herder.names() }, 'Worker started');
    return worker;
  }

  /** Stops gracefully: tasks flush and commit, then the REST API closes. */
  async stop(): Promise<void> {
    this.ready = false;
    await this.watcher?.stop();
    await this.herder.stop();
    await this.jobs?.close();
    await this.offsetStore.stop();
    await this.backbone.close();
    await this.rest?.close();
    this.logs.get('worker').info('Worker stopped');
    this.logs.flush();
  }
}
