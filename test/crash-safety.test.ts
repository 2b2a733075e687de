import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { committedTotal, consume, drained, killAllWorkers, readLines, requireStack, startWorker, topicSize, uniqueName, waitFor } from './harness/index.js';

/** Datagen orders carry a unique orderid: count distinct ones and duplicates. */
function tally(lines: string[]): { unique: number; duplicates: number; ids: Set<number> } {
  const ids = new Set<number>();
  for (const l of lines) ids.add((JSON.parse(l) as { orderid: number }).orderid);
  return { unique: ids.size, duplicates: lines.length - ids.size, ids };
}

function pipeline(topic: string, out: string, total: number) {
  return [
    {
      name: `${topic}-src`,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(total), 'max.interval': '0', 'batch.size': '50' },
    },
    { name: `${topic}-sink`, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out } },
  ];
}

/** The source offset (records emitted) stored for a Datagen connector's task 0. */
function sourcePosition(dir: string, connector: string): number {
  try {
    const stored = JSON.parse(readFileSync(join(dir, 'data/connect.offsets'), 'utf8')) as Record<string, Array<{ offset: { position: number } }>>;
    return stored[connector]?.[0]?.offset.position ?? 0;
  } catch {
    return 0;
  }
}

const workerConfig = { 'value.converter.schemas.enable': 'false', 'offset.flush.interval.ms': 500 };

describe('Crash safety', () => {
  before(async () => requireStack('kafka'));
  after(killAllWorkers);

  it('kill -9 mid-stream: every record arrives, duplicates bounded by one uncommitted interval', async () => {
    // Large enough that the kill lands mid-stream after the sink's first commits even with a fast client.
    const total = 200000;
    const topic = uniqueName('crash');
    let w = await startWorker({ workerConfig });
    const out = join(w.dir, 'out.jsonl');
    for (const c of pipeline(topic, out, total)) assert.equal((await w.request('POST', '/connectors', c)).status, 201);
    await waitFor(async () => readLines(out).length > total / 4 && (await committedTotal(`connect-${topic}-sink`, topic)) > 0, {
      timeoutMs: 60000,
      message: 'a quarter delivered and a sink commit made',
    });
    // What is durable right before the kill: the sink's committed offset and the source's flushed position.
    // Both can only grow until the kill, which can only shrink the replays measured against them.
    const committed = await committedTotal(`connect-${topic}-sink`, topic);
    const flushed = sourcePosition(w.dir, `${topic}-src`);
    await w.kill();
    const before = readLines(out).length;
    const producedBefore = await topicSize(topic);
    assert.ok(before < total, `killed mid-stream (${before} of ${total} written)`);

    w = await startWorker({ dir: w.dir, workerConfig });
    await waitFor(() => tally(readLines(out)).unique >= total, { timeoutMs: 120000, message: `all ${total} records in the file` });
    // the sink has committed everything produced: no late duplicate can still arrive
    await waitFor(() => drained(`connect-${topic}-sink`, topic), { timeoutMs: 60000, message: 'the sink committed the whole topic' });
    await w.stop();
    const t = tally(readLines(out));
    assert.equal(t.unique, total, 'nothing lost');
    for (let id = 0; id < total; id++) assert.ok(t.ids.has(id), `orderid ${id} present`);
    const produced = await topicSize(topic);
    // Replays are bounded by exactly what was not yet durable at the kill: records produced past the
    // flushed source offset, and lines written past the committed sink offset.
    const sourceDuplicates = produced - total;
    const sourceBound = producedBefore - flushed;
    const sinkBound = before - committed;
    assert.ok(sourceDuplicates >= 0 && sourceDuplicates <= sourceBound, `source replays ${sourceDuplicates} > ${sourceBound} unflushed at the kill`);
    assert.ok(t.duplicates <= sinkBound + sourceDuplicates, `file duplicates ${t.duplicates} > ${sinkBound} uncommitted + ${sourceDuplicates} replayed`);
    assert.ok(t.duplicates < total, 'not a full replay');
    console.log(
      `kill -9: ${producedBefore} produced (${flushed} flushed) and ${before} written (${committed} committed) at the kill; ` +
        `source re-produced ${sourceDuplicates}, file duplicates ${t.duplicates}`,
    );
  });

  it('a clean stop (SIGTERM) mid-stream loses and duplicates nothing', async () => {
    const total = 40000;
    const topic = uniqueName('clean');
    let w = await startWorker({ workerConfig });
    const out = join(w.dir, 'out.jsonl');
    for (const c of pipeline(topic, out, total)) assert.equal((await w.request('POST', '/connectors', c)).status, 201);
    await waitFor(() => readLines(out).length > total / 4, { timeoutMs: 60000, message: 'a quarter delivered' });
    await w.stop();
    assert.ok(readLines(out).length < total, 'stopped mid-stream');
    w = await startWorker({ dir: w.dir, workerConfig });
    await waitFor(() => readLines(out).length >= total, { timeoutMs: 120000, message: `all ${total} lines` });
    await waitFor(() => drained(`connect-${topic}-sink`, topic), { timeoutMs: 60000, message: 'the sink committed the whole topic' });
    await w.stop();
    const lines = readLines(out);
    assert.equal(lines.length, total, 'no duplicate lines');
    assert.equal(tally(lines).unique, total);
    assert.equal(await topicSize(topic), total, 'no record produced twice');
    const msgs = await consume(topic, { count: total });
    assert.equal(msgs.length, total);
  });
});
