/**
 * Fault suite, disk: the worker's disk fills up under FileStreamSink and the
 * source offsets file (a small tmpfs, mounted for the test: needs root). The
 * status says so, nothing is lost or torn, and the pipeline catches up once
 * space returns.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { drained, readLines, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

/** Writes `path` until the file system has no byte left. */
function fillUp(path: string): number {
  const fd = openSync(path, 'a');
  let written = 0;
  try {
    for (const chunk of [1 << 20, 64 << 10, 4096, 512, 64, 1]) {
      const buf = Buffer.alloc(chunk, 0x78);
      for (;;) {
        try {
          const n = writeSync(fd, buf);
          written += n;
          if (n < chunk) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

describe('disk full under FileStreamSink and the offsets file', () => {
  let disk = '';
  let mounted = false;
  let w: WorkerHandle | undefined;
  before(async () => {
    await requireStack('kafka');
    disk = mkdtempSync(join(tmpdir(), 'ferry-disk-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      throw new Error(`this test mounts a small tmpfs to fill it up and needs root (mount failed: ${(err as Error).message.split('\n')[0]})`);
    }
  });
  after(async () => {
    await w?.stop().catch(() => undefined);
    if (mounted) execFileSync('umount', ['-l', disk]);
    rmSync(disk, { recursive: true, force: true });
  });

  it('the status names the full disk, nothing is lost or torn, and everything arrives once space returns', async () => {
    const total = 20000;
    const topic = uniqueName('diskfull');
    const dataDir = join(disk, 'data');
    mkdirSync(dataDir, { recursive: true });
    const out = join(disk, 'out.jsonl');
    const offsetsFile = join(dataDir, 'connect.offsets');
    w = await startWorker({ workerConfig: { 'offset.storage.file.filename': offsetsFile, 'value.converter.schemas.enable': 'false', 'offset.flush.interval.ms': 300 } });
    const src = `${topic}-src`;
    const sink = `${topic}-sink`;
    assert.equal(
      (await w.request('POST', '/connectors', { name: src, config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(total), 'max.interval': '1' } })).status,
      201,
    );
    assert.equal((await w.request('POST', '/connectors', { name: sink, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out } })).status, 201);
    await waitFor(() => readLines(out).length > 1000, { timeoutMs: 60_000, message: 'records flowing' });

    const filler = join(disk, 'filler');
    fillUp(filler);
    const atFull = readLines(out).length;
    assert.ok(atFull < total, `the disk filled mid-stream (${atFull} of ${total})`);
    const sinkMsg = await waitFor(
      async () => {
        const t = (await w!.request('GET', `/connectors/${sink}/status`)).body.tasks[0];
        return t?.state === 'RUNNING' && /no space left/i.test(t.message ?? '') ? t.message : null;
      },
      { timeoutMs: 60_000, message: 'the sink status naming the full disk' },
    );
    const srcMsg = await waitFor(
      async () => {
        const t = (await w!.request('GET', `/connectors/${src}/status`)).body.tasks[0];
        return /Offset flush failed.*ENOSPC/i.test(t?.message ?? '') ? t.message : null;
      },
      { timeoutMs: 60_000, message: 'the source status naming the failed offset flush' },
    );
    console.log(`disk full at ${atFull} lines: sink "${String(sinkMsg).slice(0, 140)}"; source "${String(srcMsg).slice(0, 140)}"`);
    // nothing torn while full: every line is whole
    for (const l of readLines(out)) JSON.parse(l);
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`ferry_offset_commit_failure_total\\{connector="${src}",task="0"\\} [1-9]`));

    rmSync(filler);
    await waitFor(() => new Set(readLines(out).map((l) => (JSON.parse(l) as { orderid: number }).orderid)).size >= total, {
      timeoutMs: 180_000,
      intervalMs: 500,
      message: `all ${total} records after space returned`,
    });
    await waitFor(() => drained(`connect-${sink}`, topic), { timeoutMs: 60_000, message: 'the sink committed the whole topic' });
    const lines = readLines(out);
    const ids = new Set(lines.map((l) => (JSON.parse(l) as { orderid: number }).orderid));
    for (let id = 0; id < total; id++) assert.ok(ids.has(id), `orderid ${id} present`);
    assert.equal(lines.length - ids.size, 0, 'no duplicate lines (failed batches were cut back before the retry)');
    // the offsets file caught up too, and the messages are gone
    await waitFor(
      () => {
        const stored = JSON.parse(readFileSync(offsetsFile, 'utf8')) as Record<string, Array<{ offset: { position: number } }>>;
        return stored[src]?.[0]?.offset.position === total;
      },
      { timeoutMs: 30_000, message: 'the offsets file at the end' },
    );
    await waitFor(async () => !(await w!.request('GET', `/connectors/${src}/status`)).body.tasks[0].message, { timeoutMs: 30_000, message: 'source message cleared' });
    await waitFor(async () => !(await w!.request('GET', `/connectors/${sink}/status`)).body.tasks[0].message, { timeoutMs: 30_000, message: 'sink message cleared' });
  });
});
