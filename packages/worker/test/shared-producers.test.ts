/**
 * The producer that source tasks share: leases, one request at a time, each
 * lease's own outcome, closed with the last lease. The producer is a
 * stand-in (pure bookkeeping); the broker side is test/shared-producer.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordMetadata } from '@ferry/core';
import type { BackboneProducer, OutMessage } from '../src/backbone/backbone.js';
import { SharedProducers } from '../src/backbone/shared-producers.js';

class StandIn implements BackboneProducer {
  connects = 0;
  disconnects = 0;
  inFlight = 0;
  maxInFlight = 0;
  sent: string[] = [];
  async connect(): Promise<void> {
    this.connects++;
  }
  async send(messages: OutMessage[]): Promise<RecordMetadata[]> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    if (messages.some((m) => m.value?.toString() === 'poison')) throw new Error('RECORD_TOO_LARGE');
    const base = this.sent.length;
    return messages.map((m, i) => {
      this.sent.push(m.value!.toString());
      return { topic: m.topic, partition: 0, offset: base + i };
    });
  }
  async disconnect(): Promise<void> {
    this.disconnects++;
  }
}

const msg = (v: string): OutMessage => ({ topic: 't', key: null, value: Buffer.from(v) });

describe('SharedProducers', () => {
  it('gives every lease the same producer, connected once, sending one request at a time', async () => {
    const made: StandIn[] = [];
    const pool = new SharedProducers(() => {
      const p = new StandIn();
      made.push(p);
      return p;
    });
    const leases = Array.from({ length: 10 }, () => pool.lease(''));
    const results = await Promise.all(leases.map((l, i) => l.send([msg(`a${i}`), msg(`b${i}`)])));
    assert.equal(made.length, 1);
    assert.equal(pool.size, 1);
    assert.equal(made[0]!.connects, 1);
    assert.equal(made[0]!.maxInFlight, 1, 'sends of different leases never overlap');
    for (let i = 0; i < 10; i++) {
      assert.equal(results[i]!.length, 2, 'each lease gets the positions of its own records only');
      assert.equal(made[0]!.sent[results[i]![0]!.offset], `a${i}`);
      assert.equal(made[0]!.sent[results[i]![1]!.offset], `b${i}`);
    }
  });

  it('fails only the send whose request failed', async () => {
    const pool = new SharedProducers(() => new StandIn());
    const a = pool.lease('');
    const b = pool.lease('');
    const [ra, rb] = await Promise.allSettled([a.send([msg('poison')]), b.send([msg('fine')])]);
    assert.equal(ra.status, 'rejected');
    assert.match(String((ra as PromiseRejectedResult).reason), /RECORD_TOO_LARGE/);
    assert.equal(rb.status, 'fulfilled');
    assert.equal(await a.send([msg('again')]).then((r) => r.length), 1, 'the failed lease can send again');
  });

  it('closes the producer when the last lease is released, and opens a new one after', async () => {
    const made: StandIn[] = [];
    const pool = new SharedProducers(() => {
      const p = new StandIn();
      made.push(p);
      return p;
    });
    const a = pool.lease('');
    const b = pool.lease('');
    await a.send([msg('x')]);
    await a.disconnect();
    await a.disconnect();
    assert.equal(made[0]!.disconnects, 0, 'another lease still uses it');
    await b.send([msg('y')]);
    await assert.rejects(a.send([msg('z')]), /released/);
    await b.disconnect();
    assert.equal(made[0]!.disconnects, 1);
    assert.equal(pool.size, 0);
    const c = pool.lease('');
    await c.send([msg('w')]);
    assert.equal(made.length, 2);
    await pool.close();
    assert.equal(made[1]!.disconnects, 1);
  });

  it('keeps one producer per key', async () => {
    const keys: string[] = [];
    const pool = new SharedProducers((k) => {
      keys.push(k);
      return new StandIn();
    });
    pool.lease('');
    pool.lease('');
    pool.lease('other');
    assert.deepEqual(keys, ['', 'other']);
    assert.equal(pool.size, 2);
  });
});
