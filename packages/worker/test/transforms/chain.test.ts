import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DataError, defineConfig, hasErrorCode, type TransformationPlugin } from '@ferry/core';
import {
  TransformChain,
  TransformationError,
  builtinPredicates,
  builtinTransformLookup,
  builtinTransformations,
  createTransformLookup,
  describeTransforms,
  validateTransforms,
} from '../../src/transforms/index.js';
import { deepFreeze, order, orderSchema, sinkRecord, sourceRecord } from './helpers.js';

const chain = (cfg: Record<string, string>) => TransformChain.fromConfig(cfg, builtinTransformLookup);

describe('TransformChain', () => {
  it('returns records unchanged, without copying, when no transforms are configured', () => {
    const c = chain({ 'connector.class': 'X', topic: 't' });
    assert.equal(c.isEmpty, true);
    const r = sinkRecord({ value: 1 });
    assert.equal(c.apply(r), r);
    assert.equal(TransformChain.empty().apply(r), r);
  });

  it('applies transforms in order, with options under transforms.<alias>.', () => {
    const c = chain({
      transforms: ' route , insert,mask ',
      'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
      'transforms.route.regex': '(.*)-raw',
      'transforms.route.replacement': '$1',
      'transforms.insert.type': 'InsertField$Value',
      'transforms.insert.topic.field': 'src_topic',
      'transforms.mask.type': 'ferry.transforms.MaskField$Value',
      'transforms.mask.fields': 'name',
    });
    assert.deepEqual(c.aliases, ['route', 'insert', 'mask']);
    const out = c.apply(deepFreeze(sinkRecord({ topic: 'orders-raw', valueSchema: orderSchema, value: order })))!;
    assert.equal(out.topic, 'orders');
    assert.deepEqual(out.value, { ...order, name: '', src_topic: 'orders' });
    assert.equal(out.kafkaOffset, 42); // sink record fields survive
  });

  it('applies a transform only where its predicate holds, or does not hold when negated', () => {
    const cfg = {
      transforms: 'dropTombstones,onlyOrders',
      'transforms.dropTombstones.type': 'org.apache.kafka.connect.transforms.Filter',
      'transforms.dropTombstones.predicate': 'isTombstone',
      'transforms.onlyOrders.type': 'Filter',
      'transforms.onlyOrders.predicate': 'isOrders',
      'transforms.onlyOrders.negate': 'true',
      predicates: 'isTombstone,isOrders',
      'predicates.isTombstone.type': 'org.apache.kafka.connect.transforms.predicates.RecordIsTombstone',
      'predicates.isOrders.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
      'predicates.isOrders.pattern': 'orders.*',
    };
    const c = chain(cfg);
    assert.equal(c.apply(sinkRecord({ topic: 'orders', value: null })), null);
    assert.equal(c.apply(sinkRecord({ topic: 'users', value: 1 })), null);
    const kept = sinkRecord({ topic: 'orders-eu', value: 1 });
    assert.equal(c.apply(kept), kept);
  });

  it('evaluates each predicate on the record as transformed so far', () => {
    const c = chain({
      transforms: 'route,tag',
      'transforms.route.type': 'RegexRouter',
      'transforms.route.regex': 'a',
      'transforms.route.replacement': 'b',
      'transforms.tag.type': 'InsertHeader',
      'transforms.tag.header': 'routed',
      'transforms.tag.value.literal': 'yes',
      'transforms.tag.predicate': 'isB',
      predicates: 'isB',
      'predicates.isB.type': 'TopicNameMatches',
      'predicates.isB.pattern': 'b',
    });
    const out = c.apply(sinkRecord({ topic: 'a' }))!;
    assert.equal(out.topic, 'b');
    assert.deepEqual(out.headers?.map((h) => h.key), ['routed']);
  });

  it('wraps a failing transform in a DataError naming the alias, class and record position', () => {
    const c = chain({
      transforms: 'ok,bad',
      'transforms.ok.type': 'InsertField$Value',
      'transforms.ok.static.field': 's',
      'transforms.ok.static.value': 'v',
      'transforms.bad.type': 'Cast$Value',
      'transforms.bad.spec': 'id:int8',
    });
    const input = deepFreeze(sinkRecord({ value: { id: 'not a number' } }));
    const snapshot = structuredClone(input);
    assert.throws(
      () => c.apply(input),
      (e: unknown) =>
        e instanceof TransformationError &&
        e instanceof DataError &&
        hasErrorCode(e, 'DATA_ERROR') &&
        e.alias === 'bad' &&
        e.className === 'Cast$Value' &&
        e.stage === 'TRANSFORMATION' &&
        /Transformation "bad" \(Cast\$Value\) failed on record topic=orders partition=3 offset=42/.test(e.message) &&
        e.cause instanceof DataError,
    );
    assert.deepEqual(input, snapshot);
  });

  it('names the topic alone for source records', () => {
    const c = chain({ transforms: 'x', 'transforms.x.type': 'TimestampRouter' });
    assert.throws(() => c.apply(sourceRecord({ topic: 'events' })), /failed on record topic=events: Timestamp missing/);
  });

  it('closes every transform and predicate', () => {
    let closed = 0;
    const plugin: TransformationPlugin = {
      type: 'transformation',
      className: 'com.example.Counting',
      version: '1',
      config: defineConfig({}),
      create: () => ({ configure() {}, apply: (r) => r, close: () => void closed++ }),
    };
    const lookup = createTransformLookup([...builtinTransformations, plugin], builtinPredicates);
    const c = TransformChain.fromConfig({ transforms: 'a,b', 'transforms.a.type': 'com.example.Counting', 'transforms.b.type': 'com.example.Counting' }, lookup);
    c.close();
    assert.equal(closed, 2);
  });

  it('refuses to build from an invalid config, with errors keyed by full config key', () => {
    assert.throws(
      () => chain({ transforms: 'r', 'transforms.r.type': 'RegexRouter', 'transforms.r.replacement': 'x' }),
      (e: unknown) => e instanceof ConfigError && 'transforms.r.regex' in e.fieldErrors,
    );
  });
});

describe('validateTransforms', () => {
  it('is empty for a valid config', () => {
    assert.deepEqual(
      validateTransforms(
        {
          transforms: 'unwrap',
          'transforms.unwrap.type': 'io.debezium.transforms.ExtractNewRecordState',
          'transforms.unwrap.predicate': 'p',
          predicates: 'p',
          'predicates.p.type': 'HasHeaderKey',
          'predicates.p.name': 'h',
        },
        builtinTransformLookup,
      ),
      {},
    );
  });

  it('names every offending key', () => {
    const errors = validateTransforms(
      {
        transforms: 'a,b,c,d,a',
        'transforms.a.type': 'RegexRouter',
        'transforms.a.regex': '(',
        'transforms.a.replacement': 'x',
        'transforms.b.type': 'com.example.Missing',
        'transforms.c.type': 'TopicNameMatches',
        'transforms.d.type': 'Filter',
        'transforms.d.predicate': 'undefinedPredicate',
        'transforms.d.negate': 'maybe',
        predicates: 'p,q',
        'predicates.p.type': 'TopicNameMatches',
        'predicates.q.type': 'InsertHeader',
      },
      builtinTransformLookup,
    );
    assert.deepEqual(Object.keys(errors).sort(), [
      'predicates.p.pattern',
      'predicates.q.type',
      'transforms',
      'transforms.a.regex',
      'transforms.b.type',
      'transforms.c.type',
      'transforms.d.negate',
      'transforms.d.predicate',
    ]);
    assert.match(errors['transforms.b.type'][0], /Class com.example.Missing could not be found/);
    assert.match(errors['transforms.c.type'][0], /it is a predicate, not a transformation/);
    assert.match(errors.transforms[0], /Duplicate alias/);
    assert.match(errors['predicates.p.pattern'][0], /Missing required configuration "predicates.p.pattern"/);
  });

  it('names the full key in option messages', () => {
    const errors = validateTransforms({ transforms: 'm', 'transforms.m.type': 'SetSchemaMetadata$Value', 'transforms.m.schema.version': 'x' }, builtinTransformLookup);
    assert.match(errors['transforms.m.schema.version'][0], /^Invalid value "x" for configuration transforms.m.schema.version: /);
  });

  it('reports a missing type', () => {
    const errors = validateTransforms({ transforms: 'a' }, builtinTransformLookup);
    assert.deepEqual(errors, { 'transforms.a.type': ['Missing required configuration "transforms.a.type" which has no default value.'] });
  });
});

describe('describeTransforms', () => {
  it('lists each configured transform option under its full key and alias group', () => {
    const keys = describeTransforms(
      { transforms: 'r', 'transforms.r.type': 'RegexRouter', predicates: 'p', 'predicates.p.type': 'HasHeaderKey' },
      builtinTransformLookup,
    );
    assert.deepEqual(
      keys.map((k) => [k.name, k.group]),
      [
        ['transforms.r.type', 'Transforms: r'],
        ['transforms.r.predicate', 'Transforms: r'],
        ['transforms.r.negate', 'Transforms: r'],
        ['transforms.r.regex', 'Transforms: r'],
        ['transforms.r.replacement', 'Transforms: r'],
        ['predicates.p.type', 'Predicates: p'],
        ['predicates.p.name', 'Predicates: p'],
      ],
    );
    assert.match(keys.find((k) => k.name === 'transforms.r.regex')!.documentation, /Regular expression/);
  });
});

describe('built-in plugins', () => {
  const kafkaTransforms = [
    'InsertField$Key', 'InsertField$Value', 'ReplaceField$Key', 'ReplaceField$Value', 'MaskField$Key', 'MaskField$Value',
    'ValueToKey', 'ExtractField$Key', 'ExtractField$Value', 'HoistField$Key', 'HoistField$Value',
    'SetSchemaMetadata$Key', 'SetSchemaMetadata$Value', 'TimestampRouter', 'RegexRouter', 'Flatten$Key', 'Flatten$Value',
    'Cast$Key', 'Cast$Value', 'TimestampConverter$Key', 'TimestampConverter$Value', 'Filter',
    'HeaderFrom$Key', 'HeaderFrom$Value', 'InsertHeader', 'DropHeaders',
  ];

  it("answer to Kafka Connect's class names", () => {
    for (const n of kafkaTransforms) {
      const p = builtinTransformLookup.transformation(`org.apache.kafka.connect.transforms.${n}`);
      assert.equal(p?.className, n, n);
      assert.equal(builtinTransformLookup.transformation(n), p);
    }
    for (const n of ['TopicNameMatches', 'HasHeaderKey', 'RecordIsTombstone'])
      assert.equal(builtinTransformLookup.predicate(`org.apache.kafka.connect.transforms.predicates.${n}`)?.className, n);
  });

  it('have unique names, a version, a description and documented options', () => {
    const names = new Set<string>();
    for (const p of [...builtinTransformations, ...builtinPredicates]) {
      for (const n of [p.className, ...(p.aliases ?? [])]) {
        assert.ok(!names.has(n), `duplicate name ${n}`);
        names.add(n);
      }
      assert.ok(p.version && p.description, p.className);
      for (const k of p.config.describe()) assert.ok(k.documentation.length > 10, `${p.className}.${k.name}`);
    }
  });
});
