import { Config, defineConfig, normalizeConfig } from '@ferry/core';

/** Every worker option, declared once (docs, defaults, checks). */
export const WorkerConfigDef = defineConfig({
  'bootstrap.servers': Config.list({
    doc: 'Kafka brokers (host:port, comma-separated) the worker produces to and consumes from.',
    default: ['127.0.0.1:9092'],
    importance: 'HIGH',
  }),
  'client.id': Config.string({ doc: 'Prefix of the Kafka client ids of this worker.', default: 'ferry' }),
  'rest.host.name': Config.string({ doc: 'Interface the REST API listens on.', default: '0.0.0.0' }),
  'rest.port': Config.int({ doc: 'Port of the REST API (0 picks a free one).', default: 8083, min: 0, max: 65535, importance: 'HIGH' }),
  'rest.advertised.host.name': Config.string({ doc: 'Host name other workers and the status API use for this worker.', optional: true }),
  'rest.advertised.port': Config.int({ doc: 'Port advertised with rest.advertised.host.name.', optional: true }),
  'offset.storage.file.filename': Config.string({
    doc: 'Standalone mode: file holding source connector offsets (written atomically).',
    default: 'data/connect.offsets',
    importance: 'HIGH',
  }),
  'config.storage.file.filename': Config.string({
    doc: 'Standalone mode: file holding connectors created over REST, so they survive a restart. Default: connect.configs beside the offsets file.',
    optional: true,
  }),
  'offset.flush.interval.ms': Config.long({
    doc: 'How often source offsets are flushed and sink offsets committed (ms).',
    default: 60000,
    min: 1,
    importance: 'HIGH',
  }),
  'task.shutdown.graceful.timeout.ms': Config.long({
    doc: 'How long a task may take to stop (flush, commit) before it is cancelled (ms).',
    default: 5000,
    min: 0,
  }),
  'key.converter': Config.className({ doc: 'Default converter of record keys (connectors may override).', default: 'JsonConverter' }),
  'value.converter': Config.className({ doc: 'Default converter of record values (connectors may override).', default: 'JsonConverter' }),
  'header.converter': Config.className({ doc: 'Default converter of header values.', default: 'SimpleHeaderConverter' }),
  'connectors.dir': Config.string({
    doc: 'Folder of connector JSON files ({"name", "config"}) to deploy and watch: adding, changing or removing a file creates, reconfigures or deletes that connector. Empty: no watching.',
    default: 'configs/connectors',
  }),
  'connectors.dir.poll.interval.ms': Config.long({ doc: 'How often the connectors folder is rescanned, besides file-system events (ms).', default: 2000, min: 100 }),
  'plugin.path': Config.list({
    doc: 'Extra plugins: npm package names or paths of modules exporting `plugins` (an array of plugin objects).',
    default: [],
  }),
  'consumer.session.timeout.ms': Config.int({
    doc: 'Sink consumers: how long a silent group member keeps its partitions (ms); lower means faster recovery after a crash.',
    default: 30000,
    min: 1000,
  }),
  'consumer.heartbeat.interval.ms': Config.int({ doc: 'Sink consumers: heartbeat interval (ms); well under the session timeout.', default: 3000, min: 100 }),
  'consumer.fetch.max.wait.ms': Config.int({ doc: 'Sink consumers: longest wait of a fetch for new records (ms).', default: 250, min: 0 }),
  'kafka.client': Config.enum(['platformatic', 'kafkajs'] as const, {
    doc: 'Kafka client library behind the backbone: platformatic (@platformatic/kafka, maintained) or kafkajs (range only, no static membership, no topics.regex).',
    default: 'platformatic',
    ignoreCase: true,
  }),
  'consumer.partition.assignment.strategy': Config.string({
    doc: 'Sink consumer groups: assignor protocol spoken with the other members, range or cooperative-sticky (or the Java class names), as a Kafka Connect sink of the same group would.',
    default: 'range',
  }),
  'consumer.group.instance.id': Config.string({
    doc: 'Sink consumers: static membership. Each task joins as this value, its connector name and task number joined by "-"; a restart within the session timeout gets its partitions back without a rebalance.',
    optional: true,
  }),
  'metadata.max.age.ms': Config.long({
    doc: 'How often sink consumers with topics.regex look for new matching topics (ms).',
    default: 30000,
    min: 100,
  }),
  'log.level': Config.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const, { doc: 'Root log level.', default: 'INFO', ignoreCase: true }),
});

export type WorkerSettings = ReturnType<typeof WorkerConfigDef.parse>;

/**
 * Environment overrides in the Confluent image convention:
 * `CONNECT_BOOTSTRAP_SERVERS` -> `bootstrap.servers` (`_` -> `.`, `__` -> `_`, `___` -> `-`).
 */
export function envOverrides(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('CONNECT_') || v === undefined) continue;
    const name = k
      .slice('CONNECT_'.length)
      .toLowerCase()
      .replace(/___/g, '\u0001')
      .replace(/__/g, '\u0002')
      .replace(/_/g, '.')
      .replace(/\u0001/g, '-')
      .replace(/\u0002/g, '_');
    out[name] = v;
  }
  return out;
}

/** The worker's raw config: file values, then environment overrides on top. */
export function loadWorkerConfig(fileConfig: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): { raw: Record<string, string>; settings: WorkerSettings } {
  const raw = { ...normalizeConfig(fileConfig), ...envOverrides(env) };
  return { raw, settings: WorkerConfigDef.parse(raw) };
}
