import type { TopicPartition, TopicPartitionOffset } from '@ferry/core';

/** A record accepted by the task, acknowledged once the server stored it (or it was skipped). */
export interface Slot {
  readonly offset: number;
  done: boolean;
}

class PartitionState {
  /** Slots in arrival order; `head` is the first one not yet known done. */
  slots: Slot[] = [];
  head = 0;
  /** Highest offset accepted by put(), -1 when none. */
  lastAccepted = -1;

  firstPending(): Slot | undefined {
    while (this.head < this.slots.length && this.slots[this.head]!.done) this.head++;
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    return this.slots[this.head];
  }
}

const keyOf = (tp: TopicPartition) => `${tp.partition}:${tp.topic}`;

/**
 * Tracks which consumed offsets are safe to commit: per partition, every
 * offset before the first record the server has not acknowledged yet. Bulk
 * requests finish out of order, so a later batch's success never moves the
 * commit point past an earlier batch still in flight.
 */
export class OffsetTracker {
  private readonly parts = new Map<string, PartitionState>();

  private state(tp: TopicPartition): PartitionState {
    const k = keyOf(tp);
    let s = this.parts.get(k);
    if (!s) this.parts.set(k, (s = new PartitionState()));
    return s;
  }

  /**
   * True when this offset was already accepted (the runtime redelivers a
   * batch after put() threw): the record is already on its way.
   */
  seen(tp: TopicPartition, offset: number): boolean {
    const s = this.parts.get(keyOf(tp));
    return s !== undefined && offset <= s.lastAccepted;
  }

  /** Accepts a record; the returned slot is marked done on acknowledgement. */
  accept(tp: TopicPartition, offset: number): Slot {
    const s = this.state(tp);
    if (offset > s.lastAccepted) s.lastAccepted = offset;
    const slot: Slot = { offset, done: false };
    // Drop acknowledged slots now and then, not only when offsets are asked for.
    if ((s.slots.push(slot) & 1023) === 0) s.firstPending();
    return slot;
  }

  /** Accepts a record that needs no write (skipped tombstone, reported record). */
  acceptDone(tp: TopicPartition, offset: number): void {
    const s = this.state(tp);
    if (offset > s.lastAccepted) s.lastAccepted = offset;
    if (s.head < s.slots.length) s.slots.push({ offset, done: true });
  }

  /**
   * The offsets safe to commit among `consumed` (next offsets to read, as
   * the runtime passes them). Partitions this task accepted nothing from are
   * left out: nothing of theirs is known to be written.
   */
  safeOffsets(consumed: TopicPartitionOffset[]): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const c of consumed) {
      const s = this.parts.get(keyOf(c));
      if (!s || s.lastAccepted < 0) continue;
      const pending = s.firstPending();
      const offset = pending ? Math.min(pending.offset, c.offset) : Math.min(c.offset, s.lastAccepted + 1);
      out.push({ topic: c.topic, partition: c.partition, offset });
    }
    return out;
  }

  /** Number of accepted records not yet acknowledged, all partitions. */
  pendingCount(): number {
    let n = 0;
    for (const s of this.parts.values()) {
      s.firstPending();
      for (let i = s.head; i < s.slots.length; i++) if (!s.slots[i]!.done) n++;
    }
    return n;
  }

  forget(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.parts.delete(keyOf(tp));
  }

  clear(): void {
    this.parts.clear();
  }
}
