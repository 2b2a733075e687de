import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configDiff, formatDiff, table } from '../../src/ferry/format.js';
import { exitCodeOfStatus, EXIT } from '../../src/ferry/client.js';

describe('ferry diff and output', () => {
  it('lists added, removed and changed options, sorted', () => {
    const d = configDiff({ a: '1', b: '2', name: 'x' }, { b: '3', c: '4' }, new Set());
    assert.deepEqual(d, [
      { key: 'a', kind: 'remove', from: '1' },
      { key: 'b', kind: 'change', from: '2', to: '3' },
      { key: 'c', kind: 'add', to: '4' },
    ]);
    assert.equal(formatDiff('x', false, d), '~ x\n    - a: 1\n    ~ b: 2 -> 3\n    + c: 4\n');
    assert.equal(formatDiff('x', false, []), '= x: unchanged\n');
  });

  it('never shows a secret, new or stored', () => {
    const secret = new Set(['db.password']);
    const created = formatDiff('x', true, configDiff(undefined, { 'db.password': 'p4ss', host: 'h' }, secret));
    assert.doesNotMatch(created, /p4ss/);
    assert.match(created, /\+ db\.password: \[hidden\]/);
    const changed = formatDiff('x', false, configDiff({ 'db.password': '[hidden]', token: '[hidden]' }, { 'db.password': 'n3w', token: 't0k' }, secret));
    assert.doesNotMatch(changed, /n3w|t0k/);
  });

  it('aligns tables', () => {
    assert.equal(table(['name', 'state'], [['a', 'RUNNING'], ['long-name', 'FAILED']]), 'NAME       STATE\na          RUNNING\nlong-name  FAILED\n');
  });

  it('maps statuses to exit codes', () => {
    assert.equal(exitCodeOfStatus(400), EXIT.INVALID);
    assert.equal(exitCodeOfStatus(401), EXIT.AUTH);
    assert.equal(exitCodeOfStatus(403), EXIT.AUTH);
    assert.equal(exitCodeOfStatus(404), EXIT.NOT_FOUND);
    assert.equal(exitCodeOfStatus(409), EXIT.CONFLICT);
    assert.equal(exitCodeOfStatus(500), EXIT.ERROR);
  });
});
