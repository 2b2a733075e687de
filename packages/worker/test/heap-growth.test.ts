import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { boundHeapGrowth, HEAP_GROWING_PERCENT } from '../src/heap-growth.js';

const run = promisify(execFile);
const FIXTURE = join(import.meta.dirname, 'fixtures/heap-growth-load.ts');

/** Peak old space of a child that sets the heap growth factor (percent) after start, under the same load. */
async function peakOldSpace(percent: number): Promise<number> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--conditions=development', FIXTURE, String(percent)], { env: { ...process.env, NODE_OPTIONS: '' } });
  return (JSON.parse(stdout) as { peakOldBytes: number }).peakOldBytes;
}

describe('heap growth', () => {
  it("sets the worker's factor, unless the command line or NODE_OPTIONS set one", () => {
    const set: string[] = [];
    const apply = (argv: string[], opts: string) => boundHeapGrowth(argv, opts, HEAP_GROWING_PERCENT, (f) => set.push(f));
    assert.equal(apply(['--heap-growing-percent=300'], ''), false);
    assert.equal(apply(['--heap_growing_percent=300'], ''), false);
    assert.equal(apply([], '--max-semi-space-size=8 --heap-growing-percent=50'), false);
    assert.deepEqual(set, []);
    assert.equal(apply(['--heap-growing-percentage-typo'], ''), true);
    assert.equal(apply([], '--max-semi-space-size=8'), true);
    assert.deepEqual(set, ['--heap-growing-percent=100', '--heap-growing-percent=100']);
  });

  it('a factor set after start bounds old space: 2x stays below 5x under the same load, run after run', async () => {
    // If V8 ignored a factor set after start, both would grow by its own heuristics and the order would be a coin toss.
    for (let i = 0; i < 2; i++) {
      const two = await peakOldSpace(100);
      const five = await peakOldSpace(400);
      assert.ok(two < five, `peak old space ${(two / 2 ** 20).toFixed(0)} MiB at 2x, ${(five / 2 ** 20).toFixed(0)} MiB at 5x`);
    }
  });
});
