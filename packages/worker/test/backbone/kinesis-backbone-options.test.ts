import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createBackbone } from '../../src/backbone/create-backbone.js';
import { loadWorkerConfig } from '../../src/config/worker-config.js';
import { LogManager } from '../../src/logging.js';

function logs(): { logs: LogManager; text: () => string } {
  let out = '';
  const destination = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { logs: new LogManager({ level: 'info', destination }), text: () => out };
}

describe('backbone=kinesis worker options', () => {
  it('builds the Kinesis backbone from the worker file, Kafka by default', async () => {
    const kafka = loadWorkerConfig({}, {});
    assert.equal(kafka.settings.backbone, 'kafka');
    const { raw, settings } = loadWorkerConfig({ backbone: 'Kinesis', 'kinesis.stream.prefix': 'p-', 'kinesis.stream.shards': '0' }, {});
    assert.equal(settings.backbone, 'kinesis');
    assert.equal(settings['kinesis.stream.shards'], 0);
    const b = await createBackbone(settings, raw, logs().logs);
    assert.equal(b.name, 'kinesis');
    assert.equal(await b.admin().clusterId(), 'kinesis:us-east-1');
    await b.close();
  });

  it('refuses a sync interval that would let held leases lapse', async () => {
    const { raw, settings } = loadWorkerConfig({ backbone: 'kinesis', 'kinesis.lease.duration.ms': '4000', 'kinesis.shard.sync.interval.ms': '3000' }, {});
    await assert.rejects(() => createBackbone(settings, raw, logs().logs), /kinesis.shard.sync.interval.ms must be at most half of kinesis.lease.duration.ms/);
  });

  it('refuses Kafka connection overrides instead of ignoring them', async () => {
    const { raw, settings } = loadWorkerConfig({ backbone: 'kinesis' }, {});
    const b = await createBackbone(settings, raw, logs().logs);
    assert.throws(() => b.producer({ clientId: 'x', connection: { brokers: ['h:1'] } as never }), /apply to backbone=kafka only/);
    await b.close();
  });

  it('keeps the secret key and the Redis password out of the logs', async () => {
    const l = logs();
    const { raw, settings } = loadWorkerConfig(
      { backbone: 'kinesis', 'kinesis.access.key.id': 'AKIDEXAMPLE', 'kinesis.secret.access.key': 'very-secret-key', 'kinesis.coordination.redis.url': 'redis://u:redis-pass-123@127.0.0.1:6379' },
      {},
    );
    const b = await createBackbone(settings, raw, l.logs);
    l.logs.get('test').info({ detail: 'very-secret-key and redis-pass-123' }, 'something printed a secret');
    await new Promise((r) => setImmediate(r));
    assert.match(l.text(), /something printed a secret/);
    assert.doesNotMatch(l.text(), /very-secret-key|redis-pass-123/);
    await b.close();
  });
});
