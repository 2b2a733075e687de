import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ConnectError, hasErrorCode, type SinkRecord } from '@ferry/core';
import { S3Sink, S3Source } from '../../src/s3/index.js';
import { classifyS3Error, toConnectError } from '../../src/s3/connection.js';
import { baseConfig, consumed, createBucket, dropBucket, jsonLines, listAll, raw, rec, s3Up, startSink, uid } from './helpers.js';

const up = await s3Up();
// npm test starts the emulator: a missing server fails the run instead of hiding coverage
assert.ok(up, 'S3 emulator (s3rver) not reachable at 127.0.0.1:9000: node scripts/stack.mjs up s3');
const DOWN = 'http://127.0.0.1:9'; // nothing listens on the discard port

function stream(topic: string, partitions: number, per: number, from = 0): SinkRecord[] {
  const out: SinkRecord[] = [];
  for (let o = from; o < from + per; o++) for (let p = 0; p < partitions; p++) out.push(rec(topic, p, o, { p, o }));
  return out;
}

/** Every record id found in every object, with duplicates kept. */
async function allIds(bucket: string, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (const k of await listAll(bucket, prefix)) for (const l of (await jsonLines(bucket, k)) as Array<{ p: number; o: number }>) ids.push(`${l.p}:${l.o}`);
  return ids;
}

describe('S3Sink crash and replay', () => {
  let bucket: string;
  before(async () => {
    bucket = await createBucket('ferry-crash');
  });
  after(async () => {
    await dropBucket(bucket);
  });

  for (const scenario of ['after preCommit', 'without preCommit'] as const)
    for (const partitioner of ['default', 'field'] as const)
      test(`a new task replaying from the committed offset (${scenario}, ${partitioner} partitioner) leaves no duplicate and no gap`, async () => {
        const dir = `crash-${partitioner}-${scenario.replace(/ /g, '-')}`;
        const topic = 'pay';
        const extra: Record<string, string> = { 'topics.dir': dir, 'flush.size': '7' };
        if (partitioner === 'field') Object.assign(extra, { 'partitioner.class': 'field', 'partition.field.name': 'kind' });
        const value = (p: number, o: number) => ({ p, o, kind: ['a', 'b', 'c'][(o * 7 + p) % 3] });
        const all: SinkRecord[] = [];
        for (let o = 0; o < 60; o++) for (let p = 0; p < 2; p++) all.push(rec(topic, p, o, value(p, o)));
        const committed = new Map<number, number>([
          [0, 0],
          [1, 0],
        ]);
        // First life: takes records 0..39, maybe commits, then dies (never stopped).
        const first = await startSink(baseConfig(bucket, extra));
        const firstPart = all.filter((r) => r.kafkaOffset < 40);
        await first.put(firstPart.slice(0, 50));
        await first.put(firstPart.slice(50));
        if (scenario === 'after preCommit') for (const c of await first.preCommit(consumed(firstPart))) committed.set(c.partition, c.offset);
        else {
          // Uploads happened (files closed on flush.size) but no offset was committed.
          await (first as unknown as { preCommit(o: unknown[]): Promise<unknown> }).preCommit([]);
        }
        // Second life: the runtime replays from the committed offsets.
        const second = await startSink(baseConfig(bucket, extra));
        const replay = all.filter((r) => r.kafkaOffset >= committed.get(r.kafkaPartition)!);
        for (let i = 0; i < replay.length; i += 13) await second.put(replay.slice(i, i + 13));
        const final = await second.preCommit(consumed(all));
        await second.stop();
        const ids = await allIds(bucket, dir + '/');
        assert.equal(new Set(ids).size, ids.length, `duplicates: ${ids.length - new Set(ids).size}`);
        // Everything below the final committed offsets is in S3, nothing at or above it.
        for (const c of final) {
          const got = ids.filter((id) => id.startsWith(`${c.partition}:`)).map((id) => Number(id.split(':')[1])).sort((a, b) => a - b);
          assert.deepEqual(got, Array.from({ length: c.offset }, (_, i) => i), `partition ${c.partition}`);
        }
        assert.ok(final.every((c) => c.offset >= 49), JSON.stringify(final));
      });

  test('redelivery of a batch after a retriable failure is not buffered twice', async () => {
    const dir = 'redeliver';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '5' }));
    const records = stream('r', 1, 8);
    await task.put(records.slice(0, 6));
    await task.put(records.slice(0, 8)); // the runtime hands the whole batch again
    const [c] = await task.preCommit(consumed(records));
    assert.equal(c.offset, 5);
    assert.deepEqual(
      ((await jsonLines(bucket, `${dir}/r/partition=0/r+0+0000000000.json`)) as Array<{ o: number }>).map((l) => l.o),
      [0, 1, 2, 3, 4],
    );
    (task as unknown as { closeBatch(st: unknown, w: string): void }).closeBatch((task as unknown as { states: Map<string, unknown> }).states.get('r-0'), 'test');
    await task.preCommit(consumed(records));
    assert.deepEqual(
      ((await jsonLines(bucket, `${dir}/r/partition=0/r+0+0000000005.json`)) as Array<{ o: number }>).map((l) => l.o),
      [5, 6, 7],
    );
    await task.stop();
  });
});

describe('S3 unreachable, missing bucket, bad credentials', () => {
  test('missing bucket: put throws NotConnectedError naming s3.bucket.name; creating the bucket recovers', async () => {
    const bucket = `ferry-missing-${uid()}`;
    const task = await startSink(baseConfig(bucket, { 'flush.size': '2' }));
    const records = stream('m', 1, 4);
    await task.put(records.slice(0, 2)); // closes a file; its upload fails in the background
    const [c] = await task.preCommit(consumed(records));
    assert.equal(c.offset, 0, 'nothing is committed while uploads fail');
    const err = await task.put(records.slice(2)).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'put should fail while the bucket is missing');
    assert.ok(hasErrorCode(err, 'NOT_CONNECTED'), `${err.name}: ${err.message}`);
    assert.match(err.message, /s3\.bucket\.name/);
    await raw.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      await task.put(records.slice(2)); // the runtime retries the same batch
      const [c2] = await task.preCommit(consumed(records));
      assert.equal(c2.offset, 4);
      assert.equal((await listAll(bucket)).length, 2);
    } finally {
      await task.stop();
      await dropBucket(bucket);
    }
  });

  test('endpoint down: NotConnectedError naming store.url', async () => {
    const task = await startSink({ ...baseConfig('ferry-nowhere', { 'flush.size': '1', 's3.part.retries': '0' }), 'store.url': DOWN });
    await task.put([rec('d', 0, 0, { x: 1 })]);
    assert.deepEqual(await task.preCommit([{ topic: 'd', partition: 0, offset: 1 }]), [{ topic: 'd', partition: 0, offset: 0 }]);
    const err = await task.put([rec('d', 0, 1, { x: 1 })]).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err && hasErrorCode(err, 'NOT_CONNECTED'), String(err));
    assert.match(err!.message, /store\.url/);
    await task.stop();
  });

  test('validate() reports the field at fault', async () => {
    const missing = await (await S3Sink.create()).validate!(baseConfig(`ferry-missing-${uid()}`));
    assert.ok(missing['s3.bucket.name']?.[0]?.includes('does not exist'), JSON.stringify(missing));
    const down = await (await S3Source.create()).validate!({ ...baseConfig('ferry-nowhere'), 'store.url': DOWN });
    assert.ok(down['store.url']?.length, JSON.stringify(down));
    const bucket = await createBucket('ferry-valid');
    try {
      assert.deepEqual(await (await S3Sink.create()).validate!(baseConfig(bucket)), {});
    } finally {
      await dropBucket(bucket);
    }
  });
});

describe('S3 error mapping', () => {
  // The emulator accepts any credentials, so the answers AWS gives are built here.
  const cfg = { 's3.bucket.name': 'b', 'store.url': 'http://s3.example' };
  const awsError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  test('credentials rejected -> NotConnectedError naming the credential options', () => {
    for (const name of ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied']) {
      const e = toConnectError(awsError(name, 403), 'uploading x', cfg);
      assert.ok(hasErrorCode(e, 'NOT_CONNECTED'));
      assert.match(e.message, /aws\.access\.key\.id/);
    }
  });
  test('throttling and 5xx are retriable; network failures are not-connected; others fail', () => {
    assert.ok(hasErrorCode(toConnectError(awsError('SlowDown', 503), 'x', cfg), 'RETRIABLE'));
    assert.ok(hasErrorCode(toConnectError(awsError('InternalError', 500), 'x', cfg), 'RETRIABLE'));
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(classifyS3Error(refused), 'network');
    const other = toConnectError(awsError('InvalidArgument', 400), 'x', cfg);
    assert.ok(other instanceof ConnectError && !hasErrorCode(other, 'RETRIABLE') && !hasErrorCode(other, 'NOT_CONNECTED'));
  });
});
