import { emptyWorkSet, taskKey, type WorkSet } from './connect-protocol.js';

/**
 * The leader's incremental cooperative assignor (KIP-415): work stays where
 * it runs; only what must move moves, in two rounds (first revoked from its
 * owner, then assigned elsewhere once the owner has stopped it, so no item
 * ever runs twice); the work of a departed worker waits
 * `scheduled.rebalance.max.delay.ms` for it to come back before it is
 * reassigned. No member is given more than `maxTasksPerWorker` tasks (the
 * leader's `tasks.max.per.worker`); tasks no member can take are returned as
 * `capped` and stay unassigned until a member has room. Pure logic: the
 * group plumbing lives in group-member.ts.
 */

export interface MemberView {
  id: string;
  /** What the member runs now (its metadata's allocation). */
  owned: WorkSet;
}

export interface AssignorState {
  /** Owner of every item in the last assignment this leader computed. */
  owners: Map<string, string>;
  /** When each held item of a departed member was first seen lost. */
  lostSince: Map<string, number>;
}

export interface MemberAssignment {
  /** Everything the member should run after this round. */
  assigned: WorkSet;
  /** What it must stop now (handed to others in the next round). */
  revoked: WorkSet;
}

export interface AssignResult {
  assignments: Map<string, MemberAssignment>;
  /** Tasks no member can take without passing `maxTasksPerWorker`: they stay UNASSIGNED. */
  capped: WorkSet;
  /** ms until held work may be reassigned (0: nothing held). */
  delay: number;
  state: AssignorState;
}

export const newAssignorState = (): AssignorState => ({ owners: new Map(), lostSince: new Map() });

type Item = { kind: 'connector'; key: string; connector: string } | { kind: 'task'; key: string; connector: string; task: number };

function items(set: WorkSet): Item[] {
  return [
    ...set.connectors.map((c): Item => ({ kind: 'connector', key: `connector:${c}`, connector: c })),
    ...set.tasks.map((t): Item => ({ kind: 'task', key: `task:${taskKey(t)}`, connector: t.connector, task: t.task })),
  ];
}

function toWorkSet(list: Item[]): WorkSet {
  const set = emptyWorkSet();
  for (const i of list) {
    if (i.kind === 'connector') set.connectors.push(i.connector);
    else set.tasks.push({ connector: i.connector, task: i.task });
  }
  set.connectors.sort();
  set.tasks.sort((a, b) => (a.connector === b.connector ? a.task - b.task : a.connector < b.connector ? -1 : 1));
  return set;
}

/**
 * Computes the next assignment. `work` is every connector and task of the
 * config topic; `members` the workers in this generation with what they run.
 */
export function assign(work: WorkSet, members: MemberView[], prev: AssignorState, now: number, delayMs: number, maxTasksPerWorker = Infinity): AssignResult {
  const valid = new Map(items(work).map((i) => [i.key, i]));
  const memberIds = new Set(members.map((m) => m.id));
  const kept = new Map<string, Item[]>(members.map((m) => [m.id, []]));
  const revoked = new Map<string, Item[]>(members.map((m) => [m.id, []]));
  const owner = new Map<string, string>();

  // Keep what each member runs (first claim wins when two claim the same item).
  for (const m of [...members].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const i of items(m.owned)) {
      if (!valid.has(i.key)) continue;
      if (owner.has(i.key)) {
        revoked.get(m.id)!.push(i);
        continue;
      }
      owner.set(i.key, m.id);
      kept.get(m.id)!.push(i);
    }
  }

  // A member above the task limit (the limit was lowered) gives back its surplus
  // now; it is placed in the next round, once its owner has stopped it.
  const givenBack = new Set<string>();
  for (const m of members) {
    const tasks = kept.get(m.id)!.filter((i) => i.kind === 'task');
    for (const victim of tasks.slice(Math.max(0, maxTasksPerWorker))) {
      revoked.get(m.id)!.push(victim);
      kept.set(m.id, kept.get(m.id)!.filter((i) => i !== victim));
      owner.delete(victim.key);
      givenBack.add(victim.key);
    }
  }

  // Unowned work: new (assign now) or lost with a departed member (hold for the delay).
  const lostSince = new Map<string, number>();
  const free: Item[] = [];
  let delay = 0;
  for (const [key, i] of valid) {
    if (owner.has(key) || givenBack.has(key)) continue;
    const prevOwner = prev.owners.get(key);
    if (prevOwner !== undefined && !memberIds.has(prevOwner) && delayMs > 0) {
      const since = prev.lostSince.get(key) ?? now;
      const left = since + delayMs - now;
      if (left > 0) {
        lostSince.set(key, since);
        delay = delay === 0 ? left : Math.min(delay, left);
        continue;
      }
    }
    free.push(i);
  }

  const assignedNow = new Map<string, Item[]>(members.map((m) => [m.id, []]));
  const load = (id: string, kind: Item['kind']) =>
    kept.get(id)!.filter((i) => i.kind === kind).length + assignedNow.get(id)!.filter((i) => i.kind === kind).length;
  const ids = members.map((m) => m.id).sort();
  const capped: Item[] = [];

  for (const kind of ['connector', 'task'] as const) {
    // Free work goes to the least loaded members.
    for (const i of free.filter((f) => f.kind === kind)) {
      if (ids.length === 0) break;
      // Tasks only go to members below the limit (connectors are not counted against it).
      const open = kind === 'task' ? ids.filter((id) => load(id, kind) < maxTasksPerWorker) : ids;
      if (open.length === 0) {
        capped.push(i);
        continue;
      }
      const target = open.reduce((best, id) => (load(id, kind) < load(best, kind) ? id : best), open[0]!);
      assignedNow.get(target)!.push(i);
      owner.set(i.key, target);
    }
    // Still uneven (a member joined): revoke the surplus; it moves next round.
    if (ids.length < 2) continue;
    const plannedRevocations = new Map<string, number>(ids.map((id) => [id, 0]));
    const effective = (id: string) => load(id, kind) - plannedRevocations.get(id)!;
    // Work given back for the limit goes to the least loaded members next round: count it there.
    const minOf = () => ids.reduce((b, id) => (effective(id) < effective(b) ? id : b), ids[0]!);
    for (const key of givenBack) if (key.startsWith(`${kind}:`)) plannedRevocations.set(minOf(), plannedRevocations.get(minOf())! - 1);
    for (;;) {
      const max = ids.reduce((b, id) => (effective(id) > effective(b) ? id : b), ids[0]!);
      const min = ids.reduce((b, id) => (effective(id) < effective(b) ? id : b), ids[0]!);
      if (effective(max) - effective(min) <= 1) break;
      // A member only gives up work it already ran (never what it gets in this round).
      const candidates = kept.get(max)!.filter((i) => i.kind === kind && !revoked.get(max)!.includes(i));
      const victim = candidates[candidates.length - 1];
      if (!victim) break;
      revoked.get(max)!.push(victim);
      kept.set(max, kept.get(max)!.filter((i) => i !== victim));
      owner.delete(victim.key);
      // The freed item is counted as going to the least loaded member next round.
      plannedRevocations.set(min, plannedRevocations.get(min)! - 1);
    }
  }

  const assignments = new Map<string, MemberAssignment>();
  for (const id of ids) {
    assignments.set(id, { assigned: toWorkSet([...kept.get(id)!, ...assignedNow.get(id)!]), revoked: toWorkSet(revoked.get(id)!) });
  }
  // Held items keep their departed owner in the state so the delay keeps running.
  const owners = new Map(owner);
  for (const key of lostSince.keys()) owners.set(key, prev.owners.get(key)!);
  return { assignments, capped: toWorkSet(capped), delay, state: { owners, lostSince } };
}
