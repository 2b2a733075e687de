import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finishedAt, retentionSweepMs, summarize, safeId } from '../src/jobs/jobs-facility.js';

const plan = [{ chunk: {}, estimatedRows: 1000 }, { chunk: {}, estimatedRows: 1000 }];

describe('job status summary', () => {
  it('counts chunks and rows, rate since the first start, ETA from the estimates', () => {
    const s = summarize('j', 'snapshot', plan, [
      { state: 'completed', rows: 1000, startedAt: 0, finishedAt: 5000 },
      { state: 'running', rows: 500, startedAt: 1000 },
    ], 'running', 10000);
    assert.equal(s.state, 'running');
    assert.deepEqual(s.chunks, { total: 2, done: 1, running: 1, failed: 0 });
    assert.equal(s.rows, 1500);
    assert.equal(s.rowsPerSecond, 150);
    assert.equal(s.etaSeconds, Math.round(500 / 150));
  });

  it('completed jobs: rate over their own duration, ETA 0', () => {
    const s = summarize('j', 'snapshot', plan, [
      { state: 'completed', rows: 1000, startedAt: 0, finishedAt: 2000 },
      { state: 'completed', rows: 1000, startedAt: 0, finishedAt: 4000 },
    ], 'running', 60000);
    assert.equal(s.state, 'completed');
    assert.equal(s.rowsPerSecond, 500);
    assert.equal(s.etaSeconds, 0);
  });

  it('failed beats paused, cancelled beats everything; the error is shown', () => {
    const chunks = [{ state: 'failed' as const, rows: 10, startedAt: 0, error: 'boom' }, { state: 'waiting' as const, rows: 0 }];
    assert.equal(summarize('j', 'w', plan, chunks, 'paused', 1000).state, 'failed');
    assert.equal(summarize('j', 'w', plan, chunks, 'paused', 1000).error, 'boom');
    assert.equal(summarize('j', 'w', plan, chunks, 'cancelled', 1000).state, 'cancelled');
    assert.equal(summarize('j', 'w', plan, [{ state: 'waiting', rows: 0 }, { state: 'waiting', rows: 0 }], 'paused', 1000).state, 'paused');
  });

  it('no ETA without estimates or before any progress', () => {
    assert.equal(summarize('j', 'w', [{ chunk: {} }], [{ state: 'running', rows: 5, startedAt: 0 }], 'running', 1000).etaSeconds, null);
    assert.equal(summarize('j', 'w', plan, [{ state: 'waiting', rows: 0 }, { state: 'waiting', rows: 0 }], 'running', 1000).etaSeconds, null);
  });

  it('ids keep only letters, digits, dot, underscore and dash', () => {
    assert.equal(safeId('snap:shot/1 2'), 'snap_shot_1_2');
  });

  it('finished jobs end with their last chunk (or the cancel); running ones have no end', () => {
    assert.equal(finishedAt('running', [{ state: 'completed', rows: 1, finishedAt: 10 }, { state: 'running', rows: 0 }], undefined), undefined);
    assert.equal(finishedAt('paused', [{ state: 'completed', rows: 1, finishedAt: 10 }], 20), undefined);
    assert.equal(finishedAt('completed', [{ state: 'completed', rows: 1, finishedAt: 10 }, { state: 'completed', rows: 1, finishedAt: 30 }], undefined), 30);
    assert.equal(finishedAt('failed', [{ state: 'failed', rows: 0, finishedAt: 40 }, { state: 'waiting', rows: 0 }], undefined), 40);
    assert.equal(finishedAt('cancelled', [{ state: 'completed', rows: 1, finishedAt: 10 }], 50), 50);
  });

  it('sweeps for expired jobs every half retention, between 1 s and 10 min', () => {
    assert.equal(retentionSweepMs(1000), 1000);
    assert.equal(retentionSweepMs(4000), 2000);
    assert.equal(retentionSweepMs(7 * 24 * 3600 * 1000), 600000);
  });
});
