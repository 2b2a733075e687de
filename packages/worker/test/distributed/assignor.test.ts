import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assign, newAssignorState, type AssignorState, type MemberView } from '../../src/distributed/assignor.js';
import { decodeAssignment, decodeMetadata, emptyWorkSet, encodeAssignment, encodeMetadata, type WorkSet } from '../../src/distributed/connect-protocol.js';

function work(connectors: Record<string, number>): WorkSet {
  const w = emptyWorkSet();
  for (const [c, n] of Object.entries(connectors)) {
    w.connectors.push(c);
    for (let t = 0; t < n; t++) w.tasks.push({ connector: c, task: t });
  }
  return w;
}

const count = (w: WorkSet) => w.connectors.length + w.tasks.length;

/** Runs rounds like the group does: members report what they run, revocations trigger another round. */
function settle(all: WorkSet, ids: string[], owned: Map<string, WorkSet>, state: AssignorState, now = 0, delay = 0) {
  let rounds = 0;
  let revokedTotal = 0;
  for (;;) {
    rounds++;
    const members: MemberView[] = ids.map((id) => ({ id, owned: owned.get(id) ?? emptyWorkSet() }));
    const res = assign(all, members, state, now, delay);
    state = res.state;
    let revoked = 0;
    for (const [id, a] of res.assignments) {
      owned.set(id, a.assigned);
      revoked += count(a.revoked);
    }
    revokedTotal += revoked;
    if (revoked === 0 || rounds > 5) return { state, rounds, revokedTotal, delay: res.delay };
  }
}

describe('incremental cooperative assignor', () => {
  it('spreads connectors and tasks evenly over the members', () => {
    const owned = new Map<string, WorkSet>();
    settle(work({ a: 3, b: 3 }), ['m1', 'm2', 'm3'], owned, newAssignorState());
    for (const id of ['m1', 'm2', 'm3']) {
      assert.equal(owned.get(id)!.tasks.length, 2);
      assert.ok(owned.get(id)!.connectors.length <= 1);
    }
  });

  it('a joining member gets work through a revocation round; nothing else moves', () => {
    const owned = new Map<string, WorkSet>();
    let state = settle(work({ a: 3, b: 3 }), ['m1', 'm2'], owned, newAssignorState()).state;
    const before = new Map([...owned].map(([k, v]) => [k, new Set(v.tasks.map((t) => `${t.connector}-${t.task}`))]));
    const r = settle(work({ a: 3, b: 3 }), ['m1', 'm2', 'm3'], owned, state);
    state = r.state;
    assert.equal(r.rounds, 2, 'one round revokes, the next assigns');
    assert.equal(owned.get('m3')!.tasks.length, 2);
    // Members kept a subset of what they ran: no task moved between the old members.
    for (const id of ['m1', 'm2']) for (const t of owned.get(id)!.tasks) assert.ok(before.get(id)!.has(`${t.connector}-${t.task}`));
    assert.equal(r.revokedTotal, 2, 'only the two tasks the new member takes were revoked');
  });

  it("holds a departed member's work for the delay, then reassigns it", () => {
    const owned = new Map<string, WorkSet>();
    const all = work({ a: 3 });
    let state = settle(all, ['m1', 'm2', 'm3'], owned, newAssignorState(), 0, 1000).state;
    const lost = owned.get('m3')!;
    owned.delete('m3');
    let r = settle(all, ['m1', 'm2'], owned, state, 100, 1000);
    assert.equal(r.delay, 1000);
    for (const t of lost.tasks) assert.ok(![...owned.values()].some((w) => w.tasks.some((x) => x.connector === t.connector && x.task === t.task)), 'held');
    r = settle(all, ['m1', 'm2'], owned, r.state, 700, 1000);
    assert.equal(r.delay, 400, 'the delay counts from when the work was first seen lost');
    r = settle(all, ['m1', 'm2'], owned, r.state, 1100, 1000);
    assert.equal(r.delay, 0);
    const total = [...owned.values()].reduce((n, w) => n + count(w), 0);
    assert.equal(total, count(all), 'everything assigned after the delay');
    state = r.state;
    assert.equal(state.lostSince.size, 0);
  });

  it('a new leader without history assigns unowned work at once', () => {
    const owned = new Map<string, WorkSet>([['m1', work({ a: 1 })]]);
    const r = settle(work({ a: 3 }), ['m1', 'm2'], owned, newAssignorState(), 0, 60000);
    assert.equal(r.delay, 0);
    assert.equal(count(owned.get('m1')!) + count(owned.get('m2')!), 4);
  });

  it('drops deleted connectors and resolves double claims', () => {
    const owned = new Map<string, WorkSet>([
      ['m1', work({ a: 2, gone: 1 })],
      ['m2', work({ a: 1 })],
    ]);
    const res = assign(work({ a: 2 }), [...owned].map(([id, w]) => ({ id, owned: w })), newAssignorState(), 0, 0);
    const all = [...res.assignments.values()].flatMap((a) => a.assigned.tasks.map((t) => `${t.connector}-${t.task}`));
    assert.equal(new Set(all).size, all.length, 'no task assigned twice');
    assert.ok(!all.some((t) => t.startsWith('gone')));
  });
});

describe('connect protocol codec', () => {
  it('round-trips member metadata and assignments (connectors as task -1)', () => {
    const a = { version: 2, error: 0, leader: 'm1', leaderUrl: 'http://h:8083', configOffset: 42n, assigned: work({ a: 2 }), revoked: { connectors: [], tasks: [{ connector: 'b', task: 1 }] }, delay: 300 };
    assert.deepEqual(decodeAssignment(encodeAssignment(a)), a);
    const m = { version: 2, url: 'http://h:8083', configOffset: 7n, allocation: a };
    assert.deepEqual(decodeMetadata(encodeMetadata(m)), m);
    assert.deepEqual(decodeMetadata(encodeMetadata({ ...m, allocation: null })), { ...m, allocation: null });
    // Kafka Connect's layout: version, error, leader, leader url, config offset, then [connector, [task ids]].
    const buf = encodeAssignment({ ...a, assigned: { connectors: ['x'], tasks: [] }, revoked: emptyWorkSet(), delay: 0 });
    assert.equal(buf.readInt16BE(0), 2);
    assert.equal(buf.readInt32BE(buf.length - 4), 0);
  });
});

describe('tasks.max.per.worker in the assignor', () => {
  /** Like settle(), with a task limit, returning what the last round left unassigned. */
  function settleCapped(all: WorkSet, ids: string[], owned: Map<string, WorkSet>, state: AssignorState, limit: number) {
    for (let rounds = 1; ; rounds++) {
      const members: MemberView[] = ids.map((id) => ({ id, owned: owned.get(id) ?? emptyWorkSet() }));
      const res = assign(all, members, state, 0, 0, limit);
      state = res.state;
      let revoked = 0;
      for (const [id, a] of res.assignments) {
        owned.set(id, a.assigned);
        revoked += count(a.revoked);
        // Never more than the limit, not even for one round.
        assert.ok(a.assigned.tasks.length <= limit, `${id} got ${a.assigned.tasks.length} tasks above the limit ${limit}`);
      }
      if (revoked === 0 || rounds > 5) return { state, capped: res.capped, rounds };
    }
  }

  it('never gives one member more tasks than the limit; the rest stay unassigned', () => {
    const owned = new Map<string, WorkSet>();
    const r = settleCapped(work({ a: 3, b: 3 }), ['m1', 'm2'], owned, newAssignorState(), 2);
    for (const id of ['m1', 'm2']) assert.equal(owned.get(id)!.tasks.length, 2);
    assert.equal(r.capped.tasks.length, 2);
    assert.equal(r.capped.connectors.length, 0, 'connectors are not counted against the limit');
    const placed = new Set([...owned.values()].flatMap((w) => w.tasks.map((t) => `${t.connector}-${t.task}`)));
    for (const t of r.capped.tasks) assert.ok(!placed.has(`${t.connector}-${t.task}`), 'a capped task is not also assigned');
    assert.equal(placed.size + r.capped.tasks.length, 6);
  });

  it('places capped tasks when a member joins', () => {
    const owned = new Map<string, WorkSet>();
    let r = settleCapped(work({ a: 4 }), ['m1'], owned, newAssignorState(), 3);
    assert.equal(r.capped.tasks.length, 1);
    r = settleCapped(work({ a: 4 }), ['m1', 'm2'], owned, r.state, 3);
    assert.equal(r.capped.tasks.length, 0);
    assert.equal(owned.get('m1')!.tasks.length + owned.get('m2')!.tasks.length, 4);
  });

  it('a lowered limit makes a member give back its surplus, placed only after it stopped it', () => {
    const owned = new Map<string, WorkSet>();
    let state = settleCapped(work({ a: 4 }), ['m1'], owned, newAssignorState(), 10).state;
    assert.equal(owned.get('m1')!.tasks.length, 4);
    // Limit lowered to 2 with a second member present: the first round revokes 2 and assigns them to nobody.
    const res = assign(work({ a: 4 }), [{ id: 'm1', owned: owned.get('m1')! }, { id: 'm2', owned: emptyWorkSet() }], state, 0, 0, 2);
    assert.equal(res.assignments.get('m1')!.assigned.tasks.length, 2);
    assert.equal(res.assignments.get('m1')!.revoked.tasks.length, 2);
    assert.equal(res.assignments.get('m2')!.assigned.tasks.length, 0, 'revoked tasks never run twice');
    for (const [id, a] of res.assignments) owned.set(id, a.assigned);
    state = res.state;
    const r = settleCapped(work({ a: 4 }), ['m1', 'm2'], owned, state, 2);
    assert.equal(owned.get('m2')!.tasks.length, 2);
    assert.equal(r.capped.tasks.length, 0);
  });

  it('without a limit nothing is capped', () => {
    const res = assign(work({ a: 100 }), [{ id: 'm1', owned: emptyWorkSet() }], newAssignorState(), 0, 0);
    assert.equal(res.assignments.get('m1')!.assigned.tasks.length, 100);
    assert.equal(res.capped.tasks.length, 0);
  });
});
