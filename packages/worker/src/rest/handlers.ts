import { ConfigError, normalizeConfig } from '@ferry/core';
import type { TargetState } from '../stores/contracts.js';
import type { Herder, OffsetEntry } from '../herder/herder.js';
import { RestError, badRequest, notFound } from '../herder/errors.js';
import { connectorDefinition } from '../herder/validation.js';
import { isLevelName, type LogManager, type LevelName } from '../logging.js';
import type { WorkerMetrics } from '../metrics.js';
import type { PluginRegistry } from '../plugins/registry.js';

/** A framework-free request: the HTTP adapter fills it in. */
export interface RestRequest {
  params: Record<string, string>;
  query: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Scheme://host of the request, for Location headers. */
  baseUrl: string;
}

export interface RestResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw text body (metrics). */
  text?: string;
  contentType?: string;
}

/** What the REST API needs of a herder (standalone or distributed). */
export type HerderApi = Pick<Herder, keyof Herder>;

export interface RestContext {
  herder: HerderApi;
  registry: PluginRegistry;
  logs: LogManager;
  metrics: WorkerMetrics;
  version: string;
  commit: string;
  clusterId: () => Promise<string>;
  /** "starting" until stores are loaded and connectors started. */
  ready: () => boolean;
  /** Chunked jobs of connectors (see jobs/routes.ts). */
  jobs?: import('../jobs/jobs-facility.js').JobsFacility;
}

export type Handler = (req: RestRequest, ctx: RestContext) => Promise<RestResponse> | RestResponse;

const ok = (body: unknown, status = 200): RestResponse => ({ status, body });
const noContent: RestResponse = { status: 204 };

function bool(v: string | string[] | undefined): boolean {
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === 'true';
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(','));
}

function requireObject(body: unknown, what: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`${what} must be a JSON object`);
  return body as Record<string, unknown>;
}

function configMap(raw: unknown, what = 'Connector config'): Record<string, string> {
  const obj = requireObject(raw, what);
  for (const [k, v] of Object.entries(obj)) {
    if (!scalarOrList(v, true)) throw badRequest(`${what} value of ${k} must be a string, number or boolean`);
  }
  return normalizeConfig(obj);
}

/** A config value: a scalar or null, or (one level only) a list of scalars. */
function scalarOrList(v: unknown, listOk: boolean): boolean {
  if (v === null || typeof v !== 'object') return true;
  return listOk && Array.isArray(v) && v.every((x) => scalarOrList(x, false));
}

function taskId(req: RestRequest): number {
  const id = Number(req.params.task);
  if (!Number.isInteger(id) || id < 0) throw notFound(`Task ${req.params.connector}-${req.params.task} not found`);
  return id;
}

/** Every route of the Kafka Connect REST API this worker serves. */
export const routes: Array<{ method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; path: string; handler: Handler }> = [
  {
    method: 'GET',
    path: '/',
    handler: async (_req, ctx) => ok({ version: ctx.version, commit: ctx.commit, kafka_cluster_id: await ctx.clusterId().catch(() => null) }),
  },
  {
    method: 'GET',
    path: '/health',
    handler: (_req, ctx) =>
      ctx.ready()
        ? ok({ status: 'healthy', message: 'Worker has completed startup and is ready to handle requests.' })
        : ok({ status: 'starting', message: 'Worker is still starting up.' }, 503),
  },
  {
    method: 'GET',
    path: '/metrics',
    handler: async (_req, ctx) => ({ status: 200, text: await ctx.metrics.registry.metrics(), contentType: ctx.metrics.registry.contentType }),
  },
  {
    method: 'GET',
    path: '/connectors',
    handler: (req, ctx) => {
      const expand = list(req.query.expand);
      const names = ctx.herder.names();
      if (expand.length === 0) return ok(names);
      const out: Record<string, Record<string, unknown>> = {};
      for (const n of names) {
        const e: Record<string, unknown> = {};
        if (expand.includes('status')) e.status = ctx.herder.status(n);
        if (expand.includes('info')) e.info = ctx.herder.info(n);
        out[n] = e;
      }
      return ok(out);
    },
  },
  {
    method: 'POST',
    path: '/connectors',
    handler: async (req, ctx) => {
      const body = requireObject(req.body, 'Request body');
      const config = configMap(body.config ?? null);
      const name = typeof body.name === 'string' ? body.name.trim() : config.name;
      if (!name) throw badRequest('Connector name must be specified');
      if (/[\/\\\u0000-\u001f]/.test(name)) {
        throw badRequest(`Connector name ${JSON.stringify(name)} contains characters that cannot be used in a URL path`);
      }
      if (config.name !== undefined && config.name !== name) throw badRequest(`Connector name configuration (${config.name}) doesn't match connector name in the URL (${name})`);
      const initial = body.initial_state === undefined || body.initial_state === null ? 'RUNNING' : String(body.initial_state).toUpperCase();
      const target: Record<string, TargetState> = { RUNNING: 'STARTED', PAUSED: 'PAUSED', STOPPED: 'STOPPED' };
      if (!target[initial]) throw badRequest(`Invalid initial state ${JSON.stringify(body.initial_state)}: must be one of RUNNING, PAUSED, STOPPED`);
      const info = await ctx.herder.create(name, config, target[initial]);
      return { status: 201, body: info, headers: { Location: `${req.baseUrl}/connectors/${encodeURIComponent(name)}` } };
    },
  },
  { method: 'GET', path: '/connectors/:connector', handler: (req, ctx) => ok(ctx.herder.info(req.params.connector!)) },
  { method: 'GET', path: '/connectors/:connector/config', handler: (req, ctx) => ok(ctx.herder.config(req.params.connector!)) },
  {
    method: 'PUT',
    path: '/connectors/:connector/config',
    handler: async (req, ctx) => {
      const name = req.params.connector!;
      const config = configMap(req.body);
      if (config.name !== undefined && config.name !== name) throw badRequest(`Connector name configuration (${config.name}) doesn't match connector name in the URL (${name})`);
      const { created, info } = await ctx.herder.putConfig(name, config);
      return created
        ? { status: 201, body: info, headers: { Location: `${req.baseUrl}/connectors/${encodeURIComponent(name)}` } }
        : ok(info);
    },
  },
  {
    method: 'PATCH',
    path: '/connectors/:connector/config',
    handler: async (req, ctx) => {
      const obj = requireObject(req.body, 'Connector config patch');
      const patch: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(obj)) {
        if (!scalarOrList(v, true)) throw badRequest(`Connector config patch value of ${k} must be a string, number, boolean, a list of those, or null`);
        patch[k] = v === null ? null : normalizeConfig({ [k]: v })[k]!;
      }
      return ok(await ctx.herder.patchConfig(req.params.connector!, patch));
    },
  },
  { method: 'GET', path: '/connectors/:connector/status', handler: (req, ctx) => ok(ctx.herder.status(req.params.connector!)) },
  {
    method: 'POST',
    path: '/connectors/:connector/restart',
    handler: async (req, ctx) => {
      const status = await ctx.herder.restart(req.params.connector!, { includeTasks: bool(req.query.includeTasks), onlyFailed: bool(req.query.onlyFailed) });
      return status ? ok(status, 202) : noContent;
    },
  },
  {
    method: 'PUT',
    path: '/connectors/:connector/pause',
    handler: async (req, ctx) => {
      await ctx.herder.pause(req.params.connector!);
      return { status: 202 };
    },
  },
  {
    method: 'PUT',
    path: '/connectors/:connector/resume',
    handler: async (req, ctx) => {
      await ctx.herder.resume(req.params.connector!);
      return { status: 202 };
    },
  },
  {
    method: 'PUT',
    path: '/connectors/:connector/stop',
    handler: async (req, ctx) => {
      await ctx.herder.stopConnector(req.params.connector!);
      return noContent;
    },
  },
  {
    method: 'DELETE',
    path: '/connectors/:connector',
    handler: async (req, ctx) => {
      await ctx.herder.delete(req.params.connector!);
      return noContent;
    },
  },
  { method: 'GET', path: '/connectors/:connector/tasks', handler: (req, ctx) => ok(ctx.herder.taskConfigs(req.params.connector!)) },
  { method: 'GET', path: '/connectors/:connector/tasks/:task/status', handler: (req, ctx) => ok(ctx.herder.taskStatus(req.params.connector!, taskId(req))) },
  {
    method: 'POST',
    path: '/connectors/:connector/tasks/:task/restart',
    handler: async (req, ctx) => {
      await ctx.herder.restartTask(req.params.connector!, taskId(req));
      return noContent;
    },
  },
  {
    method: 'GET',
    path: '/connectors/:connector/topics',
    handler: (req, ctx) => ok({ [req.params.connector!]: { topics: ctx.herder.topics(req.params.connector!) } }),
  },
  {
    method: 'PUT',
    path: '/connectors/:connector/topics/reset',
    handler: (req, ctx) => {
      ctx.herder.resetTopics(req.params.connector!);
      return { status: 202 };
    },
  },
  { method: 'GET', path: '/connectors/:connector/offsets', handler: async (req, ctx) => ok(await ctx.herder.offsets(req.params.connector!)) },
  {
    method: 'PATCH',
    path: '/connectors/:connector/offsets',
    handler: async (req, ctx) => {
      const body = requireObject(req.body, 'Request body');
      if (!Array.isArray(body.offsets)) throw badRequest('The offsets to be altered may not be null or empty');
      return ok(await ctx.herder.alterOffsets(req.params.connector!, body.offsets as OffsetEntry[]));
    },
  },
  { method: 'DELETE', path: '/connectors/:connector/offsets', handler: async (req, ctx) => ok(await ctx.herder.resetOffsets(req.params.connector!)) },
  {
    method: 'GET',
    path: '/connector-plugins',
    handler: (req, ctx) => ok(ctx.registry.list(req.query.connectorsOnly === undefined ? true : bool(req.query.connectorsOnly) || req.query.connectorsOnly !== 'false')),
  },
  {
    method: 'GET',
    path: '/connector-plugins/:plugin/config',
    handler: (req, ctx) => {
      const p = ctx.registry.find(req.params.plugin!);
      if (!p) throw notFound(`Unknown plugin ${req.params.plugin}.`);
      const def = p.type === 'source' || p.type === 'sink' ? connectorDefinition(p.config, p.type) : p.config;
      return ok(def.describe());
    },
  },
  {
    method: 'PUT',
    path: '/connector-plugins/:plugin/config/validate',
    handler: async (req, ctx) => {
      const plugin = req.params.plugin!;
      const config = configMap(req.body);
      const p = ctx.registry.connector(plugin);
      if (!p) throw notFound(`Unknown connector plugin ${plugin}.`);
      const cls = config['connector.class'];
      if (cls !== undefined && ctx.registry.connector(cls) !== p) {
        throw badRequest('Included connector type ' + cls + ' does not match request type ' + plugin);
      }
      return ok(await ctx.herder.validate({ ...config, 'connector.class': cls ?? p.className }, p.className));
    },
  },
  { method: 'GET', path: '/admin/loggers', handler: (_req, ctx) => ok(ctx.logs.list()) },
  {
    method: 'GET',
    path: '/admin/loggers/:logger',
    handler: (req, ctx) => {
      const e = ctx.logs.level(req.params.logger!);
      if (!e) throw notFound(`Logger ${req.params.logger} not found.`);
      return ok(e);
    },
  },
  {
    method: 'PUT',
    path: '/admin/loggers/:logger',
    handler: (req, ctx) => {
      const body = requireObject(req.body, 'Request body');
      const level = typeof body.level === 'string' ? body.level.toUpperCase() : '';
      if (!level || !isLevelName(level)) throw badRequest(`Invalid log level '${String(body.level)}'.`);
      const scope = (Array.isArray(req.query.scope) ? req.query.scope[0] : req.query.scope) ?? 'worker';
      if (scope !== 'worker' && scope !== 'cluster') throw badRequest(`Invalid scope '${scope}'`);
      const refused = ctx.logs.refusal(req.params.logger!);
      if (refused) throw badRequest(refused);
      return ok(ctx.logs.setLevel(req.params.logger!, level as LevelName));
    },
  },
];

/** Maps any thrown error to Kafka Connect's `{error_code, message}` body. */
export function errorResponse(err: unknown): RestResponse {
  if (err instanceof RestError) return { status: err.status, body: { error_code: err.status, message: err.message } };
  if (err instanceof ConfigError) return { status: 400, body: { error_code: 400, message: err.message } };
  const message = (err as Error)?.message ?? String(err);
  return { status: 500, body: { error_code: 500, message } };
}
