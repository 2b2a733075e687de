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

  it('a factor set after start bounds old space: 2x stays below 5x under the same load, in the median of five runs', async () => {
    // If V8 ignored a factor set after start, both would grow by its own heuristics and the order would be a coin toss.
    // One run's peak varies with when concurrent marking finishes (2x: 136-190 MiB, 5x: 170-350 MiB on a busy
    // machine), so single pairs can cross; the medians of five interleaved runs of each do not.
    const two: number[] = [];
    const five: number[] = [];
    for (let i = 0; i < 5; i++) {
      two.push(await peakOldSpace(100));
      five.push(await peakOldSpace(400));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const mib = (xs: number[]) => xs.map((x) => (x / 2 ** 20).toFixed(0)).join(', ');
    assert.ok(median(two) < median(five), `peak old space in MiB at 2x: ${mib(two)}; at 5x: ${mib(five)}`);
  });
});
