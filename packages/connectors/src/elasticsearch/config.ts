import { Config, defineConfig, type ConfigOf, type FieldErrors } from '@ferry/core';

/**
 * Options of the Elasticsearch / OpenSearch sink. Names follow Confluent's
 * Elasticsearch sink connector wherever the meaning is the same.
 */
const fields = {
  'connection.url': Config.list({
    doc: 'Elasticsearch (or OpenSearch) HTTP URLs, comma-separated, e.g. http://es1:9200,http://es2:9200. Requests are spread over them.',
    importance: 'HIGH',
    group: 'Connector',
    example: 'http://127.0.0.1:9200',
  }),
  'connection.username': Config.string({
    doc: 'User name for HTTP basic authentication (with connection.password).',
    optional: true,
    group: 'Connector',
  }),
  'connection.password': Config.password({
    doc: 'Password for HTTP basic authentication (with connection.username).',
    optional: true,
    group: 'Connector',
  }),
  'connection.api.key': Config.password({
    doc: 'API key (the base64 "encoded" form, or "id:api_key") sent as "Authorization: ApiKey ...". Excludes basic authentication.',
    optional: true,
    group: 'Connector',
  }),
  'server.type': Config.enum(['auto', 'elasticsearch', 'opensearch'] as const, {
    doc: 'Which server the URLs point at. "auto" asks the server on first contact (GET /) and picks the Elasticsearch or the OpenSearch client accordingly.',
    default: 'auto',
    ignoreCase: true,
    group: 'Connector',
  }),
  // Same defaults as the runtime's own declaration of these two, which merges with this one.
  topics: Config.list({
    doc: 'Topics to consume (or use topics.regex). Subscription is handled by the runtime.',
    default: [],
    importance: 'HIGH',
    group: 'Connector',
  }),
  'topics.regex': Config.string({
    doc: 'A regular expression of topics to consume (instead of topics).',
    default: '',
    group: 'Connector',
  }),
  'index.name.format': Config.string({
    doc: 'Index name for a record; ${topic} is replaced by the record topic. The result is lower-cased. Ignored when writing to data streams.',
    default: '${topic}',
    group: 'Data Conversion',
  }),
  'key.ignore': Config.bool({
    doc: 'true: the document id is "topic+partition+offset" (every record is a new document). false: the record key (as a string) is the document id, so later records with the same key replace (or, with upsert, update) the document.',
    default: false,
    importance: 'HIGH',
    group: 'Data Conversion',
  }),
  'write.method': Config.enum(['insert', 'upsert'] as const, {
    doc: '"insert" indexes the whole record value as the document (replacing any document with the same id). "upsert" merges the value into the existing document (partial update, doc_as_upsert).',
    default: 'insert',
    ignoreCase: true,
    group: 'Data Conversion',
  }),
  'behavior.on.null.values': Config.enum(['ignore', 'delete', 'fail'] as const, {
    doc: 'What to do with a tombstone (null value): skip it, delete the document whose id is the record key (needs key.ignore=false), or fail (the record goes to the error policy).',
    default: 'fail',
    ignoreCase: true,
    group: 'Data Conversion',
  }),
  'behavior.on.malformed.documents': Config.enum(['ignore', 'warn', 'fail'] as const, {
    doc: 'What to do with a document Elasticsearch rejects (mapping conflict, unparsable field, illegal field name): skip it silently, skip it with a warning, or fail the task. Rejected documents also go to the dead-letter queue when one is configured.',
    default: 'fail',
    ignoreCase: true,
    group: 'Data Conversion',
  }),
  'batch.size': Config.int({
    doc: 'Maximum number of actions in one _bulk request.',
    default: 2000,
    min: 1,
    max: 1_000_000,
    group: 'Connector',
  }),
  'bulk.size.bytes': Config.long({
    doc: 'Maximum size in bytes of one _bulk request body (a single larger document is still sent alone).',
    default: 5 * 1024 * 1024,
    min: 1024,
    group: 'Connector',
  }),
  'linger.ms': Config.long({
    doc: 'How long a non-full batch waits for more records before it is sent.',
    default: 1,
    min: 0,
    max: 60_000,
    group: 'Connector',
  }),
  'max.in.flight.requests': Config.int({
    doc: 'Maximum number of concurrent _bulk requests per task.',
    default: 5,
    min: 1,
    max: 100,
    group: 'Connector',
  }),
  'max.buffered.records': Config.int({
    doc: 'Maximum number of records a task holds (queued plus in flight). When reached, put() waits: this bounds memory and slows consumption when Elasticsearch is slow.',
    default: 20_000,
    min: 1,
    group: 'Connector',
  }),
  'max.retries': Config.int({
    doc: 'Retries of a failed _bulk request (or of its retriable items) before the task reports the failure to the runtime. Retrying goes on in the background, so nothing is lost; the runtime sees the task as waiting.',
    default: 5,
    min: 0,
    group: 'Connector',
  }),
  'retry.backoff.ms': Config.long({
    doc: 'Wait before the first retry; it doubles with each attempt (with jitter), up to 5 seconds.',
    default: 100,
    min: 0,
    group: 'Connector',
  }),
  'connection.timeout.ms': Config.long({
    doc: 'How long opening a connection to a server (TCP, and TLS for https) may take before it is abandoned and retried. Elasticsearch and the server detection apply it to the connect alone; the OpenSearch client has no separate connect deadline, so there read.timeout.ms bounds the connect too.',
    default: 5_000,
    min: 100,
    group: 'Connector',
  }),
  'read.timeout.ms': Config.long({
    doc: 'How long one HTTP request may take before it is abandoned and retried.',
    default: 30_000,
    min: 100,
    group: 'Connector',
  }),
  'flush.timeout.ms': Config.long({
    doc: 'How long flush() waits for buffered records to be acknowledged before reporting a retriable timeout (offsets are committed only for acknowledged records either way).',
    default: 180_000,
    min: 100,
    group: 'Connector',
  }),
  'data.stream.type': Config.enum(['none', 'logs', 'metrics', 'synthetics', 'traces'] as const, {
    doc: 'Write to data streams named "<type>-<dataset>-<topic>" instead of indices. An index template with "data_stream" must match that name (built in for logs-*-* and metrics-*-* on Elastic\'s default distribution).',
    default: 'none',
    ignoreCase: true,
    group: 'Data Stream',
    dependents: ['data.stream.dataset', 'data.stream.timestamp.field'],
  }),
  'data.stream.dataset': Config.string({
    doc: 'The dataset part of the data stream name (lower case, no "-", at most 100 characters). Required with data.stream.type.',
    optional: true,
    group: 'Data Stream',
  }),
  'data.stream.timestamp.field': Config.list({
    doc: 'Record value fields to copy into @timestamp, first present wins. Empty (or none present): the record timestamp.',
    default: [],
    group: 'Data Stream',
  }),
};

export const ElasticsearchSinkConfig = defineConfig(fields).check((cfg, raw) => {
  const errors: FieldErrors = {};
  const add = (k: string, m: string) => (errors[k] ??= []).push(m);

  for (const u of cfg['connection.url'] ?? []) {
    let ok = false;
    try {
      const p = new URL(u);
      ok = p.protocol === 'http:' || p.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) add('connection.url', `Invalid URL "${u}": expected http://host:port or https://host:port`);
  }
  if ((cfg['connection.url'] ?? []).length === 0) add('connection.url', 'At least one URL is required');

  const user = cfg['connection.username'];
  const pass = cfg['connection.password'];
  if (user && pass === undefined) add('connection.password', 'connection.password is required with connection.username');
  if (pass !== undefined && !user) add('connection.username', 'connection.username is required with connection.password');
  if (cfg['connection.api.key'] && (user || pass)) add('connection.api.key', 'Use either connection.api.key or connection.username/connection.password, not both');

  const hasTopics = (cfg.topics ?? []).length > 0;
  const regex = cfg['topics.regex'];
  if (hasTopics && regex) add('topics.regex', 'Set either topics or topics.regex, not both');
  if (!hasTopics && !regex && ('topics' in raw || 'topics.regex' in raw)) add('topics', 'Set topics or topics.regex');
  if (regex) {
    try {
      new RegExp(regex);
    } catch (e) {
      add('topics.regex', `Invalid regular expression: ${(e as Error).message}`);
    }
  }

  const fmt = cfg['index.name.format'];
  const sample = indexNameFor(fmt, 'topic');
  const bad = invalidIndexName(sample);
  if (bad) add('index.name.format', `"${fmt}" gives an invalid index name: ${bad}`);

  if (cfg['behavior.on.null.values'] === 'delete' && cfg['key.ignore'])
    add('behavior.on.null.values', 'delete needs key.ignore=false: a tombstone deletes the document whose id is the record key');

  const ds = cfg['data.stream.type'];
  const dataset = cfg['data.stream.dataset'];
  if (ds !== 'none') {
    if (!dataset) add('data.stream.dataset', 'Required when data.stream.type is set');
    if (cfg['write.method'] === 'upsert') add('write.method', 'Data streams are append-only: use insert with data.stream.type');
    if (cfg['behavior.on.null.values'] === 'delete')
      add('behavior.on.null.values', 'Data streams are append-only: tombstones cannot delete (use ignore or fail)');
  } else if (dataset) {
    add('data.stream.type', 'Set data.stream.type (logs, metrics, ...) to use data.stream.dataset');
  }
  if (dataset && !/^[a-z0-9_.]{1,100}$/.test(dataset))
    add('data.stream.dataset', `Invalid dataset "${dataset}": use 1-100 characters among a-z, 0-9, "_" and "." (no "-")`);
  return errors;
});

export type ElasticsearchSinkOptions = ConfigOf<typeof fields>;

/** The index (or data stream) name a topic's records go to. */
export function indexNameFor(format: string, topic: string): string {
  return format.replaceAll('${topic}', topic).toLowerCase();
}

export function dataStreamName(type: string, dataset: string, topic: string): string {
  return `${type}-${dataset}-${topic}`.toLowerCase();
}

/** Why `name` cannot be an index name, or undefined when it can. */
export function invalidIndexName(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name === '.' || name === '..') return 'it cannot be "." or ".."';
  if (/^[-_+]/.test(name)) return 'it cannot start with "-", "_" or "+"';
  const m = /[\\/*?"<>| ,#:]/.exec(name);
  if (m) return `it cannot contain "${m[0]}"`;
  if (Buffer.byteLength(name) > 255) return 'it is longer than 255 bytes';
  return undefined;
}
