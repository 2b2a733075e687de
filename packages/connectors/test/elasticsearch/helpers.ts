import net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  hasErrorCode,
  silentLogger,
  type ErrantRecordReporter,
  type SinkRecord,
  type SinkTask,
  type SinkTaskContext,
  type TopicPartitionOffset,
} from '@ferry/core';

export const ES_URL = process.env.ES_URL ?? 'http://127.0.0.1:9200';
export const OS_URL = process.env.OS_URL ?? 'http://127.0.0.1:9201';

export const uid = () => randomBytes(4).toString('hex');

/** Plain HTTP against the server (independent of the code under test). */
export async function http<T = any>(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function reachable(base: string): Promise<string | undefined> {
  try {
    const r = await fetch(base, { signal: AbortSignal.timeout(2000) });
    // Elastic's minimal integ-test distribution has no GET / but marks its answers.
    if (!r.ok) return r.headers.get('x-elastic-product') === 'Elasticsearch' ? 'elasticsearch' : undefined;
    const j = (await r.json()) as { version?: { number?: string; distribution?: string } };
    return `${j.version?.distribution ?? 'elasticsearch'} ${j.version?.number}`;
  } catch {
    return undefined;
  }
}

export async function count(base: string, index: string): Promise<number> {
  await http(base, 'POST', `/${index}/_refresh`);
  const r = await http<{ count: number }>(base, 'GET', `/${index}/_count`);
  if (r.status === 404) return 0;
  if (r.status !== 200) throw new Error(`count ${index}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.count;
}

export async function getDoc(base: string, index: string, id: string): Promise<Record<string, unknown> | undefined> {
  const r = await http<{ _source?: Record<string, unknown>; found?: boolean }>(base, 'GET', `/${index}/_doc/${encodeURIComponent(id)}`);
  return r.body?.found ? r.body._source : undefined;
}

export async function dropIndex(base: string, pattern: string): Promise<void> {
  await http(base, 'DELETE', `/${pattern}?ignore_unavailable=true&allow_no_indices=true&expand_wildcards=all`).catch(() => undefined);
}

/** Polls `fn` until it returns true (never a fixed sleep as an assertion). */
export async function waitFor(fn: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function record(topic: string, partition: number, offset: number, value: unknown, key: unknown = null): SinkRecord {
  return { topic, kafkaPartition: partition, kafkaOffset: offset, key, value, timestamp: 1_700_000_000_000 + offset };
}

export function records(topic: string, n: number, opts: { partitions?: number; from?: number; key?: (i: number) => unknown } = {}): SinkRecord[] {
  const parts = opts.partitions ?? 1;
  const out: SinkRecord[] = [];
  for (let i = 0; i < n; i++) {
    const p = i % parts;
    const offset = (opts.from ?? 0) + Math.floor(i / parts);
    out.push(record(topic, p, offset, { id: i, name: `row ${i}`, amount: i * 1.5 }, opts.key ? opts.key(i) : null));
  }
  return out;
}

export interface TestContext extends SinkTaskContext {
  abort(): void;
}

export function context(reporter?: ErrantRecordReporter): TestContext {
  const ac = new AbortController();
  return {
    connectorName: 'es-test',
    taskId: 0,
    logger: silentLogger,
    signal: ac.signal,
    assignment: () => [],
    pause() {},
    resume() {},
    requestCommit() {},
    offset() {},
    errantRecordReporter: reporter,
    abort: () => ac.abort(),
  };
}

/** A reporter that keeps what it is given (a DLQ with tolerance=all). */
export function collectingReporter(): ErrantRecordReporter & { reported: Array<{ record: SinkRecord; error: Error }> } {
  const reported: Array<{ record: SinkRecord; error: Error }> = [];
  return {
    reported,
    async report(record, error) {
      reported.push({ record, error });
    },
  };
}

/**
 * Hands `batch` to put() the way the runtime does: a retriable or
 * not-connected failure means "wait and deliver the same batch again".
 * Returns how many times put() asked to be retried.
 */
export async function deliver(task: SinkTask, batch: SinkRecord[], timeoutMs = 60_000, onRetry?: (e: Error) => void): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let retries = 0;
  for (;;) {
    try {
      await task.put(batch);
      return retries;
    } catch (e) {
      if (!(hasErrorCode(e, 'RETRIABLE') || hasErrorCode(e, 'NOT_CONNECTED')) || Date.now() > deadline) throw e;
      retries++;
      onRetry?.(e as Error);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The consumed offsets (next to read) of a set of records, per partition. */
export function consumedOffsets(batch: SinkRecord[]): TopicPartitionOffset[] {
  const m = new Map<string, TopicPartitionOffset>();
  for (const r of batch) {
    const k = `${r.topic}-${r.kafkaPartition}`;
    const cur = m.get(k);
    if (!cur || cur.offset < r.kafkaOffset + 1) m.set(k, { topic: r.topic, partition: r.kafkaPartition, offset: r.kafkaOffset + 1 });
  }
  return [...m.values()];
}

/** A TCP proxy in front of the server that a test can cut and restore. */
export class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: URL) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port), this.target.hostname);
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and every open connection: clients now get ECONNREFUSED. */
  async cut(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
