/**
 * The producer that source tasks share: leases, one request at a time, each
 * lease's own outcome, closed with the last lease. The producer is a
 * stand-in (pure bookkeeping); the broker side is test/shared-producer.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordMetadata } from '@ferry/core';
import type { BackboneProducer, OutMessage } from '../src/backbone/backbone.js';
import { SharedProducers } from '../src/runtime/shared-producers.js';

class StandIn implements BackboneProducer {
  connects = 0;
  disconnects = 0;
  inFlight = 0;
  maxInFlight = 0;
  sent: string[] = [];
  requests = 0;
  /** A retriable failure (the broker unreachable) for the next request. */
  down = false;
  async connect(): Promise<void> {
    this.connects++;
  }
  async send(messages: OutMessage[]): Promise<RecordMetadata[]> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    this.requests++;
    if (this.down) {
      this.down = false;
      throw Object.assign(new Error('broker unreachable'), { retriable: true });
    }
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

  it('sends waiting behind a request go out together as the next one', async () => {
    const p = new StandIn();
    const pool = new SharedProducers(() => p);
    const leases = Array.from({ length: 5 }, () => pool.lease(''));
    await Promise.all(leases.map((l, i) => l.send([msg(`m${i}`)])));
    assert.equal(p.requests, 2, 'the first alone, the four that waited in one request');
  });

  it('a request failing for one send fails only that send', async () => {
    const p = new StandIn();
    const pool = new SharedProducers(() => p);
    const [first, a, b] = [pool.lease(''), pool.lease(''), pool.lease('')];
    // 'poison' and 'fine' wait behind 'first' and go out together; the broker refuses the request.
    const [r0, ra, rb] = await Promise.allSettled([first.send([msg('first')]), a.send([msg('poison')]), b.send([msg('fine')])]);
    assert.equal(r0.status, 'fulfilled');
    assert.equal(ra.status, 'rejected');
    assert.match(String((ra as PromiseRejectedResult).reason), /RECORD_TOO_LARGE/);
    assert.equal(rb.status, 'fulfilled', 'the other send of the failed request is sent again alone');
    assert.equal(p.sent[(rb as PromiseFulfilledResult<Array<{ offset: number }>>).value[0]!.offset], 'fine');
    assert.equal(await a.send([msg('again')]).then((r) => r.length), 1, 'the failed lease can send again');
  });

  it('a retriable failure fails every send of the request, each retried by its task', async () => {
    const p = new StandIn();
    const pool = new SharedProducers(() => p);
    const [first, a, b] = [pool.lease(''), pool.lease(''), pool.lease('')];
    const r0 = first.send([msg('first')]);
    const rest = Promise.allSettled([a.send([msg('x')]), b.send([msg('y')])]);
    await r0;
    p.down = true;
    const [ra, rb] = await rest;
    // first went alone before the broker failed; x and y went together and failed together.
    assert.equal(ra.status, 'rejected');
    assert.equal(rb.status, 'rejected');
    assert.equal(p.requests, 2, 'not sent again one by one');
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

  it('a released lease writes nothing more: its waiting sends are dropped', async () => {
    const p = new StandIn();
    const pool = new SharedProducers(() => p);
    const [a, b] = [pool.lease(''), pool.lease('')];
    const first = a.send([msg('first')]);
    const waiting = b.send([msg('late')]).then(
      () => 'sent',
      (err: Error) => err.message,
    );
    await b.disconnect();
    await first;
    assert.match(await waiting, /released/);
    assert.deepEqual(p.sent, ['first']);
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
