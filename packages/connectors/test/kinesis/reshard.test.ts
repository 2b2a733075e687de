import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MergeShardsCommand, SplitShardCommand, UpdateShardCountCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import {
  MemoryOffsets,
  RecordGen,
  SourceRunner,
  baseConfig,
  checkPerKey,
  createStream,
  deleteStream,
  kinesis,
  requireKinesis,
  listShards,
  putTestRecords,
  uniqueName,
  waitActive,
  waitFor,
} from './helpers.js';

const isOpen = (s: Shard): boolean => !s.SequenceNumberRange?.EndingSequenceNumber;
const startKey = (s: Shard): bigint => BigInt(s.HashKeyRange!.StartingHashKey!);

/** Writes records of 40 keys in order until stopped. */
function producer(client: KinesisClient, stream: string, gen: RecordGen): { stop: () => Promise<void>; written: () => number } {
  let stopped = false;
  let written = 0;
  const loop = (async () => {
    while (!stopped) {
      const batch = gen.make(120, 40);
      await putTestRecords(client, stream, batch);
      written += batch.length;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
    written: () => written,
  };
}

describe('KinesisSource while the stream is resharded (emulator)', () => {
  let client: KinesisClient;
  const streams: string[] = [];
  before(async () => {
    await requireKinesis();
    client = kinesis();
  });
  after(async () => {
    for (const s of streams) await deleteStream(client, s);
    client.destroy();
  });

  for (const position of ['TRIM_HORIZON', 'LATEST'] as const) {
    test(`split, merge and UpdateShardCount while reading (${position}): every record once, parents before children per key`, async () => {
      const stream = uniqueName('reshard');
      streams.push(stream);
      await createStream(client, stream, 2);
      const gen = new RecordGen();
      if (position === 'TRIM_HORIZON') await putTestRecords(client, stream, gen.make(400, 40));

      const runner = new SourceRunner(
        {
          ...baseConfig(stream),
          'kafka.topic': 'reshard',
          'kinesis.position': position,
          'kinesis.empty.records.backoff.ms': '100',
          'kinesis.throughput.exceeded.backoff.ms': '100',
          'kinesis.shard.discovery.interval.ms': '300',
          'kinesis.record.limit': '100',
        },
        new MemoryOffsets(),
        { maxTasks: 2 },
      );
      await runner.start();
      const prod = producer(client, stream, gen);
      try {
        await waitFor('reading', () => runner.output.length >= 200);

        // Split the first shard in two.
        const [s0] = (await listShards(client, stream)).filter(isOpen).sort((a, b) => (startKey(a) < startKey(b) ? -1 : 1));
        const mid = (startKey(s0) + BigInt(s0.HashKeyRange!.EndingHashKey!)) / 2n;
        await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: s0.ShardId!, NewStartingHashKey: mid.toString() }));
        await waitActive(client, stream);
        await waitFor('reconfigured after split', () => runner.reconfigurations >= 1, 20_000);
        const afterSplit = prod.written();
        await waitFor('progress after split', () => prod.written() >= afterSplit + 480, 30_000);

        // Merge the two children back.
        const open = (await listShards(client, stream)).filter(isOpen).sort((a, b) => (startKey(a) < startKey(b) ? -1 : 1));
        await client.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: open[0].ShardId!, AdjacentShardToMerge: open[1].ShardId! }));
        await waitActive(client, stream);
        await waitFor('reconfigured after merge', () => runner.reconfigurations >= 2, 20_000);
        const afterMerge = prod.written();
        await waitFor('progress after merge', () => prod.written() >= afterMerge + 480, 30_000);

        // Uniform scaling to 3 shards (splits and merges under the hood).
        await client.send(new UpdateShardCountCommand({ StreamName: stream, TargetShardCount: 3, ScalingType: 'UNIFORM_SCALING' }));
        await waitActive(client, stream);
        await waitFor('reconfigured after scaling', () => runner.reconfigurations >= 3, 20_000);
        const afterScale = prod.written();
        await waitFor('progress after scaling', () => prod.written() >= afterScale + 480, 30_000);
        await prod.stop();

        const expected = gen.counts();
        const total = [...expected.values()].reduce((a, b) => a + b, 0);
        await waitFor(`all ${total} records`, () => runner.output.length >= total, 60_000);
        await new Promise((r) => setTimeout(r, 500));
        checkPerKey(runner.delivered(), expected);
        assert.equal(runner.output.length, total, 'no duplicates');

        // Records came from parents and from children, and closed shards were checkpointed as finished.
        const shards = await listShards(client, stream);
        const readFrom = new Set(runner.output.map((r) => (r.sourcePartition as { shard: string }).shard));
        assert.ok(shards.filter((s) => s.ParentShardId && readFrom.has(s.ShardId!)).length >= 3, 'children read');
        const closedParents = shards.filter((s) => !isOpen(s) && readFrom.has(s.ShardId!));
        assert.ok(closedParents.length >= 3);
        assert.equal(runner.errors.length, 0, runner.errors.map((e) => e.message).join('; '));
      } finally {
        await prod.stop();
        await runner.stop();
      }
    });
  }

  test('a child shard waits while its parent, read by another task, is not finished', async () => {
    const stream = uniqueName('reshard-wait');
    streams.push(stream);
    await createStream(client, stream, 1);
    const gen = new RecordGen();
    await putTestRecords(client, stream, gen.make(300, 10));
    const [parent] = await listShards(client, stream);
    const mid = (startKey(parent) + BigInt(parent.HashKeyRange!.EndingHashKey!)) / 2n;
    await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: parent.ShardId!, NewStartingHashKey: mid.toString() }));
    await waitActive(client, stream);
    await putTestRecords(client, stream, gen.make(300, 10));

    // Three shards over three tasks: the parent in one task, each child in another.
    const offsets = new MemoryOffsets();
    const runner = new SourceRunner(
      {
        ...baseConfig(stream),
        'kafka.topic': 'wait',
        'kinesis.empty.records.backoff.ms': '100',
        'kinesis.record.limit': '25',
      },
      offsets,
      { maxTasks: 3, flushEveryPolls: 3 },
    );
    await runner.start();
    try {
      assert.equal(runner.tasks.length, 3);
      await waitFor('all', () => runner.output.length >= 600, 30_000);
      checkPerKey(runner.delivered(), gen.counts());
      // Every record of the parent precedes every record of its children.
      const shardOf = (i: number) => (runner.output[i].sourcePartition as { shard: string }).shard;
      const lastParent = Math.max(...runner.output.map((_, i) => i).filter((i) => shardOf(i) === parent.ShardId));
      const firstChild = Math.min(...runner.output.map((_, i) => i).filter((i) => shardOf(i) !== parent.ShardId));
      assert.ok(lastParent < firstChild, `parent record at ${lastParent} after child record at ${firstChild}`);
    } finally {
      await runner.stop();
    }
    const stored = await offsets.offset({ stream, shard: parent.ShardId! });
    assert.ok(stored?.seq, 'parent checkpointed');
  });
});
