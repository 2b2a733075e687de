import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consume, killAllWorkers, readLines, requireStack, startWorker, topicSize, uniqueName, waitFor } from './harness/index.js';

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

const workerConfig = { 'value.converter.schemas.enable': 'false', 'offset.flush.interval.ms': 500 };

describe('Crash safety', () => {
  before(async () => requireStack('kafka'));
  after(killAllWorkers);

  it('kill -9 mid-stream: every record arrives, duplicates bounded by one uncommitted interval', async () => {
    const total = 60000;
    const topic = uniqueName('crash');
    let w = await startWorker({ workerConfig });
    const out = join(w.dir, 'out.jsonl');
    for (const c of pipeline(topic, out, total)) assert.equal((await w.request('POST', '/connectors', c)).status, 201);
    await waitFor(() => readLines(out).length > total / 4, { timeoutMs: 60000, message: 'a quarter delivered' });
    const before = readLines(out).length;
    const producedBefore = await topicSize(topic);
    await w.kill();
    assert.ok(before < total, `killed mid-stream (${before} of ${total} written)`);

    w = await startWorker({ dir: w.dir, workerConfig });
    await waitFor(() => tally(readLines(out)).unique >= total, { timeoutMs: 120000, message: `all ${total} records in the file` });
    await new Promise((r) => setTimeout(r, 1500));
    await w.stop();
    const t = tally(readLines(out));
    assert.equal(t.unique, total, 'nothing lost');
    for (let id = 0; id < total; id++) assert.ok(t.ids.has(id), `orderid ${id} present`);
    const produced = await topicSize(topic);
    // Replays are bounded by what was in flight since the last flush/commit (0.5 s apart), far below the stream size.
    const sourceDuplicates = produced - total;
    assert.ok(sourceDuplicates >= 0 && sourceDuplicates < total / 3, `source replays ${sourceDuplicates}`);
    assert.ok(t.duplicates < total / 3, `sink duplicates ${t.duplicates}`);
    console.log(`kill -9: ${producedBefore} produced and ${before} written before the kill; source re-produced ${sourceDuplicates}, file duplicates ${t.duplicates}`);
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
    await new Promise((r) => setTimeout(r, 1500));
    await w.stop();
    const lines = readLines(out);
    assert.equal(lines.length, total, 'no duplicate lines');
    assert.equal(tally(lines).unique, total);
    assert.equal(await topicSize(topic), total, 'no record produced twice');
    const msgs = await consume(topic, { count: total });
    assert.equal(msgs.length, total);
  });
});
