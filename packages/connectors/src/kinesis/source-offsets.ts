import type { OffsetStorageReader, SourceOffset, SourcePartition } from '@ferry/core';

/**
 * A shard's checkpoint: the sequence number of the last record stored, and
 * `end` once that record was the shard's last (its SHARD_END was reached).
 */
export interface ShardOffset {
  seq?: string;
  end?: boolean;
}

export function shardPartition(stream: string, shard: string): SourcePartition {
  return { stream, shard };
}

export function toShardOffset(o: SourceOffset | null | undefined): ShardOffset | undefined {
  if (!o || typeof o !== 'object') return undefined;
  const out: ShardOffset = {};
  if (typeof o.seq === 'string' && /^\d+$/.test(o.seq)) out.seq = o.seq;
  if (o.end === true) out.end = true;
  return out.seq === undefined && !out.end ? undefined : out;
}

/** The later of two checkpoints of the same shard. */
export function laterOffset(a: ShardOffset | undefined, b: ShardOffset | undefined): ShardOffset | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.end) return a;
  if (b.end) return b;
  if (a.seq === undefined) return b;
  if (b.seq === undefined) return a;
  return BigInt(a.seq) >= BigInt(b.seq) ? a : b;
}

/**
 * Stored checkpoints of `shards`, by shard id. The reader's map is matched by
 * content, not by key identity, so any offset store implementation works.
 */
export async function readShardOffsets(
  reader: OffsetStorageReader,
  stream: string,
  shards: string[],
): Promise<Map<string, ShardOffset>> {
  const out = new Map<string, ShardOffset>();
  if (shards.length === 0) return out;
  const wanted = new Set(shards);
  const stored = await reader.offsets(shards.map((s) => shardPartition(stream, s)));
  for (const [p, o] of stored) {
    if (p?.stream !== stream || typeof p.shard !== 'string' || !wanted.has(p.shard)) continue;
    const off = toShardOffset(o);
    if (off) out.set(p.shard, off);
  }
  return out;
}
