import { Config, defineConfig, normalizeConfig } from '@ferry/core';
import { WorkerKafkaClientConfigDef } from './kafka-client-config.js';
import { ConfigProviders } from './config-providers.js';
import { securityOptions } from './security-config.js';
import { kinesisBackboneOptions } from '../backbone/kinesis/options.js';

/** Every worker option, declared once (docs, defaults, checks). */
export const WorkerConfigDef = defineConfig({
  'bootstrap.servers': Config.list({
    doc: 'Kafka brokers (host:port, comma-separated) the worker produces to and consumes from.',
    default: ['127.0.0.1:9092'],
    importance: 'HIGH',
  }),
  'client.id': Config.string({ doc: 'Prefix of the Kafka client ids of this worker.', default: 'ferry' }),
  'rest.host.name': Config.string({ doc: 'Interface the REST API listens on (loopback only by default; 0.0.0.0 for every interface).', default: '127.0.0.1' }),
  'rest.port': Config.int({ doc: 'Port of the REST API (0 picks a free one).', default: 8083, min: 0, max: 65535, importance: 'HIGH' }),
  'rest.advertised.host.name': Config.string({ doc: 'Host name other workers and the status API use for this worker.', optional: true }),
  'rest.advertised.port': Config.int({ doc: 'Port advertised with rest.advertised.host.name.', optional: true }),
  'rest.advertised.listener': Config.enum(['http', 'https'] as const, {
    doc: 'Distributed mode: the scheme other workers use to reach this one (forwarded writes, internal requests); its port is the first listener of that scheme. Default: the first listener.',
    optional: true,
  }),
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
  'jobs.redis.url': Config.password({
    doc: 'Redis (redis://[user:password@]host:port[/db], rediss:// for TLS) of the job queue: chunked work (parallel snapshots) runs as BullMQ jobs that every worker with this option processes. Absent: chunks run one after another inside the submitting task.',
    optional: true,
  }),
  'jobs.queue.name': Config.string({ doc: 'BullMQ queue of chunked jobs (workers sharing it share the work).', default: 'ferry-jobs' }),
  'jobs.concurrency': Config.int({ doc: 'Chunks this worker runs at the same time (with jobs.redis.url).', default: 2, min: 1, max: 64 }),
  'jobs.attempts': Config.int({ doc: 'Attempts of a chunk before its job fails (a retry resumes after the chunk\'s last delivered page).', default: 5, min: 1 }),
  'jobs.backoff.ms': Config.long({ doc: 'First retry delay of a failed chunk (ms), doubled at each attempt.', default: 1000, min: 0 }),
  'jobs.lock.duration.ms': Config.long({
    doc: 'How long a chunk stays claimed by a worker that stopped renewing it (crashed) before another worker takes it over (ms).',
    default: 30000,
    min: 1000,
  }),
  'jobs.retention.ms': Config.long({
    doc: 'How long a finished job (completed, failed or cancelled) stays listed before its records (job metadata in Redis, chunk jobs of the queue) are removed (ms).',
    default: 7 * 24 * 3600 * 1000,
    min: 1000,
  }),
  'jobs.marker.topic': Config.string({
    doc: 'Kafka topic whose consumer-group offsets record, atomically with each page of a chunk\'s records, how far the chunk got (Kafka transactions).',
    default: 'connect-jobs',
  }),
  backbone: Config.enum(['kafka', 'kinesis'] as const, {
    doc: 'The stream backbone between source and sink connectors: kafka (bootstrap.servers) or kinesis (kinesis.* options, leases in Redis).',
    default: 'kafka',
    ignoreCase: true,
    importance: 'HIGH',
  }),
  ...kinesisBackboneOptions,
  'tasks.max.per.worker': Config.int({
    doc: 'Most tasks this worker runs, over all its connectors: a connector whose tasks.max is above it is rejected; in standalone mode a connector that would pass it shows FAILED with the reason, in distributed mode the leader assigns no worker more than this (its own value, for every member) and leaves the rest UNASSIGNED with the reason.',
    default: 64,
    min: 1,
    importance: 'HIGH',
  }),
  'connector.validation.timeout.ms': Config.long({
    doc: 'Longest time a connector\'s own validation (which may talk to its server) may take before the config is rejected, and longest time a connector may take to start before it shows FAILED (ms).',
    default: 30000,
    min: 100,
  }),
  'group.id': Config.string({ doc: 'Distributed mode: the cluster this worker belongs to; workers sharing it split connectors and tasks.', optional: true, importance: 'HIGH' }),
  'config.storage.topic': Config.string({ doc: 'Distributed mode: compacted topic (one partition) of connector configs, task configs and target states.', default: 'connect-configs' }),
  'config.storage.replication.factor': Config.int({ doc: 'Replication factor of config.storage.topic when the worker creates it (-1: the broker default).', default: 3, min: -1 }),
  'offset.storage.topic': Config.string({ doc: 'Distributed mode: compacted topic of source connector offsets.', default: 'connect-offsets' }),
  'offset.storage.replication.factor': Config.int({ doc: 'Replication factor of offset.storage.topic when the worker creates it (-1: the broker default).', default: 3, min: -1 }),
  'offset.storage.partitions': Config.int({ doc: 'Partitions of offset.storage.topic when the worker creates it.', default: 25, min: 1 }),
  'status.storage.topic': Config.string({ doc: 'Distributed mode: compacted topic of connector and task states.', default: 'connect-status' }),
  'status.storage.replication.factor': Config.int({ doc: 'Replication factor of status.storage.topic when the worker creates it (-1: the broker default).', default: 3, min: -1 }),
  'status.storage.partitions': Config.int({ doc: 'Partitions of status.storage.topic when the worker creates it.', default: 5, min: 1 }),
  'scheduled.rebalance.max.delay.ms': Config.int({
    doc: "Distributed mode: how long a departed worker's connectors and tasks wait for it to come back before they are reassigned (ms).",
    default: 300000,
    min: 0,
  }),
  'heartbeat.interval.ms': Config.int({ doc: 'Distributed mode: heartbeat interval of the worker in its group (ms); well under session.timeout.ms.', default: 3000, min: 100 }),
  'session.timeout.ms': Config.int({ doc: 'Distributed mode: how long a silent worker stays in the group before its work counts as lost (ms).', default: 10000, min: 1000 }),
  'rebalance.timeout.ms': Config.int({ doc: 'Distributed mode: how long the group waits for every worker to rejoin during a rebalance (ms).', default: 60000, min: 1000 }),
  'exactly.once.source.support': Config.enum(['disabled', 'preparing', 'enabled'] as const, {
    doc: 'Distributed mode: enabled runs every source task with a transactional producer, its records and source offsets committed together (KIP-618); preparing reads the offsets topic as read_committed only.',
    default: 'disabled',
    ignoreCase: true,
  }),
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
  ...securityOptions,
}).merge(WorkerKafkaClientConfigDef);

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

/**
 * The worker's raw config: file values, then environment overrides on top,
 * then references to the declared config providers resolved (`secrets` are
 * the resolved values, to scrub from logs).
 */
export function loadWorkerConfig(
  fileConfig: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): { raw: Record<string, string>; settings: WorkerSettings; configProviders: ConfigProviders; secrets: string[] } {
  const declared = { ...normalizeConfig(fileConfig), ...envOverrides(env) };
  const configProviders = ConfigProviders.fromWorkerConfig(declared, env);
  const { config: raw, secrets } = configProviders.resolveWorkerConfig(declared);
  return { raw, settings: WorkerConfigDef.parse(raw), configProviders, secrets };
}
