/**
 * Reads a committed consumer-group offset with KIP-447's `require_stable`
 * (OffsetFetch v7+): while a transaction holding an offset commit for the
 * partition is still open (or its abort/commit markers are not written yet),
 * the group coordinator answers UNSTABLE_OFFSET_COMMIT (88) instead of the
 * last stable value, and the read is retried until the transaction ends.
 * Without it, a read right after fencing a producer can return the position
 * before the fenced producer's last committed transaction.
 *
 * kafkajs' OffsetFetch has no require_stable; @platformatic/kafka's admin
 * sends it (and retries error 88 a few times itself) under both clients.
 */
import { abortableSleep, NotConnectedError } from '@ferry/core';
import { Admin, findErrorBy } from '@platformatic/kafka';
import type { KafkaConnection } from './kafka-connection.js';
import { clientOptions } from './platformatic-common.js';

export interface StableMarker {
  offset: number;
  metadata: string | null;
}

export interface StableReadOptions {
  /** Called each time the broker reports a pending transactional commit (the read waits for it). */
  onPending?: () => void;
  /** Gives up (throws) after this long of pending answers; default 120 s (above a transaction's timeout). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** True when a client error (or any error it wraps) is UNSTABLE_OFFSET_COMMIT. */
export function isUnstableOffsetCommit(err: unknown): boolean {
  return !!findErrorBy(err as Error, 'apiId', 'UNSTABLE_OFFSET_COMMIT');
}

/**
 * The committed offset (and its metadata) of `groupId` on partition 0 of
 * `topic`, or null when there is none; waits out pending transactional
 * commits (error 88) with a backoff.
 */
export async function readStableMarker(admin: Admin, groupId: string, topic: string, o: StableReadOptions = {}): Promise<StableMarker | null> {
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  let delay = 50;
  for (;;) {
    try {
      const groups = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: [0] }] }], requireStable: true });
      const p = groups.find((g) => g.groupId === groupId)?.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === 0);
      if (!p || p.committedOffset < 0n) return null;
      return { offset: Number(p.committedOffset), metadata: p.metadata ?? null };
    } catch (err) {
      if (!isUnstableOffsetCommit(err)) throw err;
      o.onPending?.();
      if (Date.now() >= deadline) {
        throw new NotConnectedError(`The committed offset of group ${groupId} stayed pending (an open transaction) for ${o.timeoutMs ?? 120_000} ms`, { cause: err });
      }
      await abortableSleep(delay, o.signal);
      if (o.signal?.aborted) throw new NotConnectedError(`Reading the committed offset of group ${groupId}: stopped`);
      delay = Math.min(delay * 2, 1000);
    }
  }
}

/** A @platformatic/kafka admin client for stable offset reads, on `conn`. */
export function stableOffsetAdmin(conn: KafkaConnection, clientId: string): Admin {
  // Its own retries of error 88 stay short: the loop above backs off and reports each pending answer.
  return new Admin({ ...clientOptions(conn, clientId), retries: 1, retryDelay: 100 });
}
