import { Client as EsClient, errors as esErrors } from '@elastic/elasticsearch';
import { Client as OsClient, errors as osErrors } from '@opensearch-project/opensearch';
import {
  BulkRequestError,
  authorizationHeader,
  causeMessage,
  DEFAULT_CONNECT_TIMEOUT_MS,
  detectServer,
  toBulkResult,
  type BulkClient,
  type BulkResult,
  type ClientOptions,
  type Product,
} from './bulk-client.js';

/** Only what the sink reads back from a _bulk answer: keeps answers small. */
const BULK_FILTER = 'errors,items.*.status,items.*.error.type,items.*.error.reason,items.*.error.caused_by.reason';

function errorTypeOf(body: unknown): string | undefined {
  const b = body as { error?: { type?: string } | string } | undefined;
  return typeof b?.error === 'object' ? b.error?.type : undefined;
}

/** Maps either client's error classes (same names, different modules) to {@link BulkRequestError}. */
function normalize(e: unknown, where: string): BulkRequestError {
  if (e instanceof BulkRequestError) return e;
  const err = e as { name?: string; statusCode?: number; meta?: { statusCode?: number; body?: unknown }; body?: unknown };
  const name = err?.name ?? '';
  if (e instanceof esErrors.ResponseError || e instanceof osErrors.ResponseError || name === 'ResponseError') {
    const status = err.statusCode ?? err.meta?.statusCode;
    const body = err.meta?.body ?? err.body;
    const reason = typeof body === 'string' ? body : JSON.stringify(body ?? {});
    return new BulkRequestError('response', `${where} answered ${status}: ${reason.slice(0, 500)}`, {
      status,
      errorType: errorTypeOf(body),
      cause: e,
    });
  }
  if (e instanceof esErrors.TimeoutError || e instanceof osErrors.TimeoutError || name === 'TimeoutError')
    return new BulkRequestError('timeout', `${where}: request timed out`, { cause: e });
  if (e instanceof esErrors.RequestAbortedError || e instanceof osErrors.RequestAbortedError || name === 'RequestAbortedError')
    return new BulkRequestError('aborted', `${where}: request aborted`, { cause: e });
  if (e instanceof esErrors.ProductNotSupportedError)
    return new BulkRequestError('response', `${where}: the server is not Elasticsearch (set server.type=opensearch for OpenSearch)`, {
      cause: e,
    });
  // ConnectionError, NoLivingConnectionsError, socket errors
  return new BulkRequestError('connection', `${where}: ${causeMessage(e)}`, { cause: e });
}

class ElasticsearchBulkClient implements BulkClient {
  readonly product = 'elasticsearch' as const;
  private readonly client: EsClient;

  constructor(opts: ClientOptions) {
    this.client = new EsClient({
      nodes: opts.urls,
      auth: opts.apiKey ? { apiKey: opts.apiKey } : opts.username ? { username: opts.username, password: opts.password ?? '' } : undefined,
      // The sink retries by itself, with its own backoff and accounting.
      maxRetries: 0,
      requestTimeout: opts.requestTimeoutMs,
      sniffOnStart: false,
      // undici's connect deadline (its own default is 10 s); the client's types list only some of undici's pool options.
      agent: { connect: { timeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS } } as never,
    });
  }

  async bulk(ndjson: string, signal?: AbortSignal): Promise<BulkResult> {
    try {
      const body = await this.client.transport.request(
        { method: 'POST', path: '/_bulk', bulkBody: ndjson, querystring: { filter_path: BULK_FILTER } },
        { signal },
      );
      return toBulkResult(body);
    } catch (e) {
      throw normalize(e, 'Elasticsearch _bulk');
    }
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return (await this.client.transport.request({ method, path, body: body as Record<string, unknown> | undefined })) as T;
    } catch (e) {
      throw normalize(e, `Elasticsearch ${method} ${path}`);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

class OpenSearchBulkClient implements BulkClient {
  readonly product = 'opensearch' as const;
  private readonly client: OsClient;

  constructor(opts: ClientOptions) {
    const auth = opts.apiKey ? authorizationHeader(opts) : undefined;
    this.client = new OsClient({
      nodes: opts.urls,
      auth: !opts.apiKey && opts.username ? { username: opts.username, password: opts.password ?? '' } : undefined,
      headers: auth ? { authorization: auth } : undefined,
      maxRetries: 0,
      requestTimeout: opts.requestTimeoutMs,
    });
  }

  async bulk(ndjson: string, signal?: AbortSignal): Promise<BulkResult> {
    // Not aborted through the client: its abort() raises an uncaught RequestAbortedError
    // besides rejecting. On abort the caller stops waiting; the request ends by its timeout.
    const p = Promise.resolve(
      this.client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: ndjson, querystring: { filter_path: BULK_FILTER } }),
    );
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new BulkRequestError('aborted', 'OpenSearch _bulk: request aborted'));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    p.catch(() => undefined);
    aborted.catch(() => undefined);
    try {
      return toBulkResult((await Promise.race([p, aborted])).body);
    } catch (e) {
      throw normalize(e, 'OpenSearch _bulk');
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return (await this.client.transport.request({ method, path, body: body as Record<string, unknown> | undefined })).body as T;
    } catch (e) {
      throw normalize(e, `OpenSearch ${method} ${path}`);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export function createBulkClient(product: Product, opts: ClientOptions): BulkClient {
  return product === 'opensearch' ? new OpenSearchBulkClient(opts) : new ElasticsearchBulkClient(opts);
}

/**
 * The client for `product`, or for whatever the server says it is when
 * `product` is "auto". Throws {@link BulkRequestError} when no URL answers.
 */
export async function connectBulkClient(
  product: Product | 'auto',
  opts: ClientOptions,
  signal?: AbortSignal,
): Promise<BulkClient> {
  const p = product === 'auto' ? (await detectServer(opts, signal)).product : product;
  return createBulkClient(p, opts);
}
