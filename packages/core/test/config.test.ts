import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Config, ConfigError, defineConfig, normalizeConfig } from '../src/index.js';

const Def = defineConfig({
  'kafka.topic': Config.string({ doc: 'Topic.', nonEmpty: true, importance: 'HIGH' }),
  'batch.size': Config.int({ doc: 'Rows per batch.', default: 100, min: 1, max: 1000 }),
  enabled: Config.bool({ doc: 'On or off.', default: false }),
  mode: Config.enum(['bulk', 'incrementing'] as const, { doc: 'Mode.', default: 'bulk', ignoreCase: true }),
  tables: Config.list({ doc: 'Tables.', default: [] }),
  'connection.password': Config.password({ doc: 'Secret.', optional: true }),
  ratio: Config.double({ doc: 'A ratio.', default: 0.5 }),
}).check((cfg) => (cfg.mode === 'incrementing' && cfg.tables.length === 0 ? { tables: ['incrementing mode needs tables'] } : undefined));

describe('defineConfig', () => {
  it('parses Kafka Connect style string maps into typed values, with defaults', () => {
    const c = Def.parse({ 'kafka.topic': 't', 'batch.size': '42', enabled: 'TRUE', mode: 'Incrementing', tables: 'a, b,,c', ratio: '0.25' });
    assert.deepEqual(c, { 'kafka.topic': 't', 'batch.size': 42, enabled: true, mode: 'incrementing', tables: ['a', 'b', 'c'], ratio: 0.25 });
    assert.equal(Def.parse({ 'kafka.topic': 't' })['batch.size'], 100);
  });

  it('reports every bad field by name', () => {
    const r = Def.validate({ 'batch.size': '5000', enabled: 'maybe', mode: 'other' });
    assert.deepEqual(Object.keys(r.errors).sort(), ['batch.size', 'enabled', 'kafka.topic', 'mode']);
    assert.match(r.errors['kafka.topic']![0]!, /Missing required configuration "kafka.topic"/);
    assert.match(r.errors['batch.size']![0]!, /at most 1000/);
    assert.equal(r.errorCount, 4);
    assert.throws(() => Def.parse({}), (e: unknown) => e instanceof ConfigError && 'kafka.topic' in e.fieldErrors);
  });

  it('runs cross-field checks once the fields themselves are valid', () => {
    assert.deepEqual(Def.validate({ 'kafka.topic': 't', mode: 'incrementing' }).errors, { tables: ['incrementing mode needs tables'] });
  });

  it('describes options in the Kafka Connect REST shape and knows its secrets', () => {
    const d = Def.describe();
    assert.equal(d[0]!.name, 'kafka.topic');
    assert.equal(d[0]!.required, true);
    assert.equal(d[0]!.importance, 'HIGH');
    assert.equal(d[1]!.default_value, '100');
    assert.equal(d[1]!.type, 'INT');
    assert.deepEqual(Def.secretKeys(), ['connection.password']);
  });

  it('knows which options identify the connection: by name unless declared otherwise', () => {
    const C = defineConfig({
      'connection.url': Config.string({ doc: 'x', optional: true }),
      'hostname.verification': Config.bool({ doc: 'x', default: true, connectionIdentifying: false }),
      'target.cluster': Config.string({ doc: 'x', optional: true, connectionIdentifying: true }),
    });
    for (const k of ['connection.url', 'connection.user', 'es.urls', 'aws.endpoint', 'db.host', 'db.port', 'bootstrap.servers', 'target.cluster']) assert.ok(C.isConnectionOption(k), k);
    for (const k of ['hostname.verification', 'tasks.max', 'topics', 'index.prefix', 'batch.size']) assert.ok(!C.isConnectionOption(k), k);
  });

  it('merges declarations, keeping both sets of checks', () => {
    const Other = defineConfig({ extra: Config.string({ doc: 'x', default: 'y' }) }).check((c) => (c.extra === 'bad' ? { extra: ['no'] } : undefined));
    const M = Def.merge(Other);
    assert.deepEqual(M.validate({ 'kafka.topic': 't', extra: 'bad' }).errors, { extra: ['no'] });
    assert.deepEqual(M.validate({ 'kafka.topic': 't', mode: 'incrementing' }).errors, { tables: ['incrementing mode needs tables'] });
  });

  it('normalizes JSON configs to string maps', () => {
    assert.deepEqual(normalizeConfig({ a: 1, b: true, c: ['x', 'y'], d: null }), { a: '1', b: 'true', c: 'x,y' });
  });
});
