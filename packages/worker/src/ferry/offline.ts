import { isDeepStrictEqual } from 'node:util';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { allPlugins } from '@ferry/connectors';
import type { ConnectorPlugin, SinkRecord } from '@ferry/core';
import type { ConfigStore, ConnectorRecord } from '../stores/contracts.js';
import { normalizeConfig } from '@ferry/core';
import { MemoryBackbone } from '../backbone/memory-backbone.js';
import { loadWorkerConfig } from '../config/worker-config.js';
import { builtinConverters, builtinHeaderConverters } from '../converters/index.js';
import { Herder } from '../herder/herder.js';
import { transformsFactory } from '../herder/transforms-factory.js';
import { validateConnectorConfig } from '../herder/validation.js';
import { LogManager } from '../logging.js';
import { WorkerMetrics } from '../metrics.js';
import { PluginRegistry, type AnyPlugin } from '../plugins/registry.js';
import { MemoryOffsetStore } from '../stores/memory-offset-store.js';
import { MemoryStatusStore } from '../stores/memory-status-store.js';
import { builtinPredicates, builtinTransformations } from '../transforms/index.js';
import { isTestFile, listFiles, parseDocument, readConnectorFiles } from './files.js';

/** The plugins a worker registers by default: bundled connectors, converters, transforms, predicates. */
export function defaultPlugins(connectors: AnyPlugin[] = allPlugins as AnyPlugin[]): AnyPlugin[] {
  return [...connectors, ...builtinConverters, ...builtinHeaderConverters, ...builtinTransformations, ...builtinPredicates];
}

export interface LintProblem {
  file: string;
  connector: string;
  option: string;
  message: string;
}

/**
 * Checks connector files against the plugins' declarations with the
 * worker's own validation (common options, converters, transforms,
 * predicates), without the connectors' I/O checks and without a worker.
 */
export async function lintConnectors(path: string, workerConfig: Record<string, unknown> = {}, extraPlugins: AnyPlugin[] = []): Promise<{ files: number; problems: LintProblem[] }> {
  const registry = new PluginRegistry(defaultPlugins([...(allPlugins as AnyPlugin[]), ...extraPlugins]));
  const { raw } = loadWorkerConfig(workerConfig, {});
  const files = await readConnectorFiles(path);
  const problems: LintProblem[] = [];
  for (const f of files) {
    const infos = await validateConnectorConfig({ ...f.config, name: f.name }, { registry, transforms: transformsFactory(registry), workerConfig: raw, staticOnly: true });
    for (const c of infos.configs) for (const message of c.value.errors) problems.push({ file: f.file, connector: f.name, option: c.value.name, message });
  }
  return { files: files.length, problems };
}

/** A message on a topic, as written in test files: strings are UTF-8 text, other values JSON text. */
interface TestMessage {
  topic?: string;
  partition?: number;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
  timestamp?: number;
}

export interface PipelineTest {
  name?: string;
  /** `{name, config}` (or a path to a connector file, relative to the test file). */
  connector: { name?: string; config: Record<string, unknown> } | string;
  /** Worker options (default converters and their settings). */
  worker?: Record<string, unknown>;
  input?: {
    /** Sinks: messages on the consumed topics. */
    messages?: TestMessage[];
    /** Files written into a fresh folder before the connector starts; `{{dir}}` in the config names that folder. */
    files?: Record<string, string>;
  };
  expect: {
    /** Sinks: the records put() receives, after converters and transforms (fields not named are not compared). */
    records?: Array<Record<string, unknown>>;
    /** Sources: the messages written (key and value decoded: JSON text is parsed, other bytes are UTF-8 text). */
    messages?: TestMessage[];
    /** Messages on the dead-letter topic. */
    dead_letter?: TestMessage[];
    /** The task must fail with a trace matching this regular expression. */
    failure?: string;
  };
  'timeout.ms'?: number;
}

export interface TestResult {
  file: string;
  name: string;
  passed: boolean;
  failures: string[];
  actual?: unknown;
}

const encode = (v: unknown): Buffer | null =>
  v === null || v === undefined ? null : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');

function decode(b: Buffer | null): unknown {
  if (b === null) return null;
  const s = b.toString('utf8');
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** Record values as JSON-comparable data: int64 as numbers (text when unsafe), bytes as base64. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), plain(x)]));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function sinkView(r: SinkRecord): Record<string, unknown> {
  return {
    topic: r.topic,
    partition: r.kafkaPartition,
    offset: r.kafkaOffset,
    key: plain(r.key),
    value: plain(r.value),
    timestamp: r.timestamp,
    headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, plain(h.value)])),
    ...(r.keySchema ? { keySchema: plain(r.keySchema) } : {}),
    ...(r.valueSchema ? { valueSchema: plain(r.valueSchema) } : {}),
  };
}

function messageView(m: { topic: string; partition: number; key: Buffer | null; value: Buffer | null; headers: Array<{ key: string; value: Buffer | null }>; timestamp: number }) {
  return {
    topic: m.topic,
    partition: m.partition,
    key: decode(m.key),
    value: decode(m.value),
    timestamp: m.timestamp,
    headers: Object.fromEntries(m.headers.map((h) => [h.key, decode(h.value)])),
  };
}

/** Compares the fields an expectation names; every record must match, in order, and the counts must agree. */
function compare(what: string, expected: Array<Record<string, unknown>>, actual: Array<Record<string, unknown>>): string[] {
  const out: string[] = [];
  if (expected.length !== actual.length) out.push(`${what}: expected ${expected.length}, got ${actual.length}`);
  const n = Math.min(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    for (const [k, v] of Object.entries(expected[i]!)) {
      if (!isDeepStrictEqual(actual[i]![k], v)) out.push(`${what}[${i}].${k}: expected ${JSON.stringify(v)}, got ${JSON.stringify(actual[i]![k])}`);
    }
  }
  return out;
}

class MemoryConfigStore implements ConfigStore {
  private readonly records = new Map<string, ConnectorRecord>();
  async start() {}
  async stop() {}
  async list() {
    return [...this.records.values()];
  }
  async get(name: string) {
    return this.records.get(name);
  }
  async put(r: ConnectorRecord) {
    this.records.set(r.name, r);
  }
  async remove(name: string) {
    this.records.delete(name);
  }
}

/**
 * A sink plugin with the real plugin's name and config declaration whose
 * single task keeps what put() receives: converters, transforms and error
 * handling run as in the worker, the external system is not needed.
 */
function capturingSink(real: ConnectorPlugin<any>, captured: SinkRecord[]): AnyPlugin {
  return {
    ...real,
    create: () => {
      let config: Record<string, string> = {};
      return {
        start: (c: Record<string, string>) => {
          config = c;
        },
        taskConfigs: () => [config],
        stop: () => {},
        createTask: () => ({
          start: async () => {},
          put: async (records: SinkRecord[]) => {
            captured.push(...records);
          },
          stop: async () => {},
        }),
      };
    },
  } as AnyPlugin;
}

async function loadTest(file: string): Promise<PipelineTest> {
  const doc = parseDocument(await readFile(file, 'utf8'), file) as PipelineTest;
  if (!doc || typeof doc !== 'object' || !doc.connector || !doc.expect) throw new Error(`${file}: a test needs "connector" and "expect"`);
  if (typeof doc.connector === 'string') {
    const [c] = await readConnectorFiles(resolve(dirname(file), doc.connector));
    if (!c) throw new Error(`${file}: no connector file at ${doc.connector}`);
    doc.connector = { name: c.name, config: c.config };
  }
  return doc;
}

/** Runs one pipeline test with the real herder, task runners, converters and transforms over an in-memory backbone. */
export async function runPipelineTest(file: string, extraPlugins: AnyPlugin[] = []): Promise<TestResult> {
  const t = await loadTest(file);
  const name = t.name ?? file;
  const dir = await mkdtemp(join(tmpdir(), 'ferry-test-'));
  const logLines: string[] = [];
  const logs = new LogManager({
    level: 'warn',
    destination: new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    }) as never,
  });
  const backbone = new MemoryBackbone();
  const captured: SinkRecord[] = [];
  let herder: Herder | undefined;
  try {
    for (const [f, content] of Object.entries(t.input?.files ?? {})) {
      await mkdir(dirname(join(dir, f)), { recursive: true });
      await writeFile(join(dir, f), content);
    }
    const connector = t.connector as { name?: string; config: Record<string, unknown> };
    const config = normalizeConfig(connector.config);
    for (const [k, v] of Object.entries(config)) config[k] = v.replaceAll('{{dir}}', dir);
    const connectorName = connector.name ?? config.name ?? 'test';
    delete config.name;
    const connectors = [...(allPlugins as AnyPlugin[]), ...extraPlugins];
    const base = new PluginRegistry(defaultPlugins(connectors));
    const plugin = base.connector(config['connector.class'] ?? '');
    if (!plugin) return { file, name, passed: false, failures: [`unknown connector class ${JSON.stringify(config['connector.class'])}`] };
    const plugins = defaultPlugins(connectors.map((p) => (p === plugin && plugin.type === 'sink' ? capturingSink(plugin, captured) : p)));
    const registry = new PluginRegistry(plugins);
    const { raw, settings } = loadWorkerConfig({ 'offset.flush.interval.ms': 100, ...t.worker }, {});
    herder = new Herder({
      workerId: 'ferry-test',
      workerConfig: raw,
      settings,
      registry,
      backbone,
      offsetStore: new MemoryOffsetStore(),
      configStore: new MemoryConfigStore(),
      statusStore: new MemoryStatusStore(),
      logs,
      metrics: new WorkerMetrics({ defaultMetrics: false }),
      transforms: transformsFactory(registry),
    });
    await herder.start();
    const inputs = t.input?.messages ?? [];
    const defaultTopic = (config.topics ?? '').split(',')[0]?.trim() || 'test';
    backbone.append(
      inputs.map((m) => ({
        topic: m.topic ?? defaultTopic,
        partition: m.partition ?? 0,
        key: encode(m.key),
        value: encode(m.value),
        headers: Object.entries(m.headers ?? {}).map(([key, v]) => ({ key, value: encode(v) })),
        timestamp: m.timestamp ?? null,
      })),
    );
    await herder.create(connectorName, config);
    const deadline = Date.now() + (t['timeout.ms'] ?? 10000);
    const dlqTopic = config['errors.deadletterqueue.topic.name'];
    const expectedMessages = t.expect.messages?.length ?? 0;
    const producedTo = () => backbone.topicNames().filter((x) => x !== dlqTopic && !inputs.some((m) => (m.topic ?? defaultTopic) === x));
    const produced = () => producedTo().flatMap((x) => backbone.messages(x));
    let failure: string | undefined;
    for (;;) {
      const status = herder.status(connectorName);
      const failed = [status.connector, ...status.tasks].find((s) => s.state === 'FAILED');
      if (failed) {
        failure = failed.trace ?? failed.message ?? 'FAILED';
        break;
      }
      // A test that expects a failure waits for it (or its deadline).
      const done = t.expect.failure !== undefined ? false : plugin.type === 'sink' ? backbone.delivered(`connect-${connectorName}`) >= inputs.length : produced().length >= expectedMessages;
      if (done && status.tasks.length > 0) break;
      if (Date.now() > deadline) {
        failure = `timed out after ${t['timeout.ms'] ?? 10000} ms (${plugin.type === 'sink' ? `${backbone.delivered(`connect-${connectorName}`)}/${inputs.length} input messages handled` : `${produced().length}/${expectedMessages} messages written`})`;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await herder.stopConnector(connectorName).catch(() => undefined);
    const failures: string[] = [];
    if (t.expect.failure !== undefined) {
      if (!failure) failures.push(`expected the task to fail (${t.expect.failure}), it did not`);
      else if (!new RegExp(t.expect.failure).test(failure)) failures.push(`failure did not match ${t.expect.failure}: ${failure.split('\n')[0]}`);
    } else if (failure) {
      failures.push(`pipeline failed: ${failure.split('\n').slice(0, 3).join(' | ')}`);
    }
    const actual: Record<string, unknown> = {};
    if (plugin.type === 'sink') {
      actual.records = captured.map(sinkView);
      if (t.expect.records) failures.push(...compare('records', t.expect.records, actual.records as Array<Record<string, unknown>>));
    } else {
      actual.messages = produced().slice(0, Math.max(expectedMessages, 1)).map(messageView);
      if (t.expect.messages) failures.push(...compare('messages', t.expect.messages as Array<Record<string, unknown>>, produced().slice(0, expectedMessages).map(messageView)));
    }
    if (t.expect.dead_letter) {
      actual.dead_letter = dlqTopic ? backbone.messages(dlqTopic).map(messageView) : [];
      failures.push(...compare('dead_letter', t.expect.dead_letter as Array<Record<string, unknown>>, actual.dead_letter as Array<Record<string, unknown>>));
    }
    return { file, name, passed: failures.length === 0, failures, actual };
  } catch (err) {
    return { file, name, passed: false, failures: [(err as Error).message] };
  } finally {
    await herder?.stop().catch(() => undefined);
    await backbone.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs every `*.test.yaml|yml|json` under a path. */
export async function runPipelineTests(path: string, extraPlugins: AnyPlugin[] = []): Promise<TestResult[]> {
  const out: TestResult[] = [];
  for (const f of await listFiles(path, isTestFile)) out.push(await runPipelineTest(f, extraPlugins));
  return out;
}
