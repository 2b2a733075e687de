/**
 * The narrow client the sink needs, with one implementation per server
 * product: the official Elasticsearch client refuses servers that do not
 * identify as Elasticsearch, so OpenSearch gets its own client behind the
 * same interface. Everything above this file is product-agnostic.
 */

import { connect as netConnect } from 'node:net';

export type Product = 'elasticsearch' | 'opensearch';

export interface ServerInfo {
  product: Product;
  version: string;
  clusterName?: string;
}

/** One item of a _bulk answer, reduced to what the sink decides on. */
export interface BulkItemResult {
  status: number;
  /** e.g. mapper_parsing_exception, es_rejected_execution_exception */
  errorType?: string;
  errorReason?: string;
}

export interface BulkResult {
  errors: boolean;
  /** One per action, in request order (may be empty when `errors` is false). */
  items: BulkItemResult[];
}

export interface ClientOptions {
  urls: string[];
  username?: string;
  password?: string;
  apiKey?: string;
  requestTimeoutMs: number;
  /** Deadline for opening a connection (default 5 s). */
  connectTimeoutMs?: number;
}

export interface BulkClient {
  readonly product: Product;
  /** Sends an NDJSON _bulk body. Throws {@link BulkRequestError} when the request as a whole fails. */
  bulk(ndjson: string, signal?: AbortSignal): Promise<BulkResult>;
  /** A plain JSON request (validation, tests). Throws {@link BulkRequestError}. */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export type RequestFailure = 'connection' | 'timeout' | 'response' | 'aborted';

/** A failed request, normalised across the two clients. */
export class BulkRequestError extends Error {
  readonly kind: RequestFailure;
  /** HTTP status when the server answered. */
  readonly status: number | undefined;
  /** The server's error type, when it said one. */
  readonly errorType: string | undefined;

  constructor(kind: RequestFailure, message: string, opts: { status?: number; errorType?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BulkRequestError';
    this.kind = kind;
    this.status = opts.status;
    this.errorType = opts.errorType;
  }

  /** Worth retrying: the server is unreachable, slow, overloaded or failing. */
  get retriable(): boolean {
    if (this.kind === 'connection' || this.kind === 'timeout') return true;
    if (this.kind === 'aborted') return false;
    const s = this.status ?? 0;
    return s === 429 || s === 408 || s >= 500;
  }
}

/** Reduces a raw _bulk answer (either product) to {@link BulkResult}. */
export function toBulkResult(body: unknown): BulkResult {
  const b = body as { errors?: boolean; items?: Array<Record<string, { status?: number; error?: unknown }>> } | null;
  const items: BulkItemResult[] = [];
  for (const it of b?.items ?? []) {
    const op = it.index ?? it.create ?? it.update ?? it.delete ?? Object.values(it)[0];
    const r: BulkItemResult = { status: op?.status ?? 0 };
    const err = op?.error as { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } } | string | undefined;
    if (err !== undefined && err !== null) {
      if (typeof err === 'string') {
        r.errorReason = err;
      } else {
        r.errorType = err.type;
        r.errorReason = err.caused_by?.reason ? `${err.reason ?? ''} (caused by: ${err.caused_by.reason})` : err.reason;
      }
    }
    items.push(r);
  }
  return { errors: b?.errors === true, items };
}

/** The Authorization header for the configured credentials, if any. */
export function authorizationHeader(opts: Pick<ClientOptions, 'username' | 'password' | 'apiKey'>): string | undefined {
  if (opts.apiKey) {
    const key = opts.apiKey.includes(':') ? Buffer.from(opts.apiKey).toString('base64') : opts.apiKey;
    return `ApiKey ${key}`;
  }
  if (opts.username) return `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
  return undefined;
}

/**
 * Asks the first URL that answers which product it is (GET /). Uses plain
 * fetch so it works before either client is chosen.
 */
export async function detectServer(opts: ClientOptions, signal?: AbortSignal): Promise<ServerInfo> {
  const auth = authorizationHeader(opts);
  let last: BulkRequestError | undefined;
  for (const url of opts.urls) {
    // fetch has no connect deadline of its own: a server that never completes the handshake is caught here.
    try {
      await tcpConnect(url, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, signal);
    } catch (e) {
      last = e as BulkRequestError;
      continue;
    }
    const timeout = AbortSignal.timeout(Math.min(opts.requestTimeoutMs, 10_000));
    let res: Response;
    try {
      res = await fetch(new URL('/', url), {
        headers: auth ? { authorization: auth } : {},
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (e) {
      const timedOut = timeout.aborted;
      last = new BulkRequestError(timedOut ? 'timeout' : 'connection', `${url}: ${timedOut ? 'timed out' : causeMessage(e)}`, { cause: e });
      continue;
    }
    const text = await res.text();
    const elasticHeader = res.headers.get('x-elastic-product') === 'Elasticsearch';
    if (res.status === 401 || res.status === 403 || (!res.ok && !elasticHeader)) {
      const err = new BulkRequestError('response', `${url} answered ${res.status}: ${text.slice(0, 300)}`, { status: res.status });
      if (!err.retriable) throw err;
      last = err;
      continue;
    }
    let info: { version?: { number?: string; distribution?: string }; cluster_name?: string; tagline?: string } = {};
    try {
      info = JSON.parse(text);
    } catch (e) {
      if (!elasticHeader)
        throw new BulkRequestError('response', `${url} did not answer like Elasticsearch or OpenSearch: ${text.slice(0, 200)}`, {
          status: res.status,
          cause: e,
        });
    }
    // Minimal Elasticsearch distributions have no GET / (405) but mark every answer with this header.
    if (!res.ok && elasticHeader) return { product: 'elasticsearch', version: await nodeVersion(url, auth), clusterName: undefined };
    const product: Product =
      info.version?.distribution === 'opensearch' || /opensearch/i.test(info.tagline ?? '') ? 'opensearch' : 'elasticsearch';
    return { product, version: info.version?.number ?? 'unknown', clusterName: info.cluster_name };
  }
  throw last ?? new BulkRequestError('connection', 'no connection.url given');
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Opens (and closes) a TCP connection to the URL's host and port within `timeoutMs`. */
function tcpConnect(url: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const done = (err?: BulkRequestError) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => done(new BulkRequestError('aborted', `${url}: aborted`));
    const timer = setTimeout(
      () => done(new BulkRequestError('timeout', `${url}: no connection within ${timeoutMs} ms (connection.timeout.ms)`)),
      timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done());
    // `on`, not `once`: an error after the answer is settled must not go unhandled.
    socket.on('error', (e) => done(new BulkRequestError('connection', `${url}: ${causeMessage(e)}`, { cause: e })));
  });
}

async function nodeVersion(url: string, auth: string | undefined): Promise<string> {
  try {
    const res = await fetch(new URL('/_nodes/_local?filter_path=nodes.*.version', url), {
      headers: auth ? { authorization: auth } : {},
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await res.json()) as { nodes?: Record<string, { version?: string }> };
    return Object.values(body.nodes ?? {})[0]?.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The innermost useful message of an error chain (e.g. "connect ECONNREFUSED 127.0.0.1:9200"). */
export function causeMessage(e: unknown): string {
  let cur: unknown = e;
  let msg = e instanceof Error ? e.message : String(e);
  for (let i = 0; cur && i < 5; i++) {
    if (cur instanceof Error && cur.message) msg = cur.message;
    cur = (cur as { cause?: unknown }).cause;
  }
  return msg;
}
