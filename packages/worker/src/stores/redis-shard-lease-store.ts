import { Redis } from 'ioredis';
import { NotConnectedError } from '@ferry/core';

/**
 * Shard leases, checkpoints and group members of the Kinesis backbone, in
 * Redis. Every state change is one Lua script, so it is atomic against every
 * other worker's, and it reads the time from the Redis server (one clock for
 * every worker). A lease carries a generation that grows with every
 * acquisition: a checkpoint is only stored by the owner of the current
 * generation while its lease is unexpired, so a worker that lost its lease
 * (stalled, partitioned, or replaced) can no longer move a checkpoint.
 *
 * Keys, per consumer group `g`:
 * - `ferry:kinesis:{g}:leases`  hash  stream/shard -> {"owner","gen","exp","want"?}
 * - `ferry:kinesis:{g}:ckpt`    hash  stream/shard -> {"seq","ord"} or {"end":true,"ord"}
 * - `ferry:kinesis:{g}:members` zset  member -> expiry (ms)
 * The `{g}` hash tag keeps a group's keys in one Redis Cluster slot.
 */
export interface ShardCheckpoint {
  /** Sequence number of the last record covered; absent with `end`. */
  seq?: string;
  /** Ordinal of the next record to read (the runtime's offset). */
  ord: number;
  /** The shard is closed and every record of it is checkpointed: its children may start. */
  end?: boolean;
}

export interface ShardLease {
  owner: string;
  gen: number;
  exp: number;
  want?: string;
}

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const ACQUIRE = `${NOW}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local l = raw and cjson.decode(raw) or nil
if l and l.owner ~= '' and l.owner ~= ARGV[2] and l.exp > now then return false end
local gen = (l and l.gen or 0) + 1
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({owner = ARGV[2], gen = gen, exp = now + tonumber(ARGV[3])}))
return cjson.encode({gen = gen, ckpt = redis.call('HGET', KEYS[2], ARGV[1]) or ''})`;

const RENEW = `${NOW}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local l = cjson.decode(raw)
if l.owner ~= ARGV[2] or l.gen ~= tonumber(ARGV[3]) then return false end
l.exp = now + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(l))
return l.want or ''`;

const CHECKPOINT = `${NOW}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local l = cjson.decode(raw)
if l.owner ~= ARGV[2] or l.gen ~= tonumber(ARGV[3]) or l.exp <= now then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return 1`;

const RELEASE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local l = cjson.decode(raw)
if l.owner ~= ARGV[2] or l.gen ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({owner = '', gen = l.gen, exp = 0}))
return 1`;

const WANT = `${NOW}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local l = cjson.decode(raw)
if l.owner == '' or l.owner == ARGV[2] or l.exp <= now then return 0 end
l.want = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(l))
return 1`;

const HEARTBEAT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return cjson.encode({now = now, members = redis.call('ZRANGE', KEYS[1], 0, -1)})`;

export class RedisShardLeaseStore {
  private readonly redis: Redis;
  private connecting: Promise<void> | undefined;

  constructor(private readonly url: string) {
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, connectionName: 'ferry-kinesis-leases' });
    this.redis.on('error', () => undefined); // surfaced by the failing commands
  }

  async connect(): Promise<void> {
    this.connecting ??= this.redis.connect().catch((err: unknown) => {
      this.connecting = undefined;
      // The URL may carry a password: name the store, not the URL.
      throw new NotConnectedError(`Cannot reach the Redis of kinesis.coordination.redis.url: ${(err as Error).message}`, { cause: err });
    });
    return this.connecting;
  }

  private keys(group: string) {
    const p = `ferry:kinesis:{${group}}`;
    return { leases: `${p}:leases`, ckpt: `${p}:ckpt`, members: `${p}:members` };
  }

  /** Takes a free or expired lease (or renews one's own): the new generation and the stored checkpoint, or null when another worker holds it. */
  async acquire(group: string, field: string, owner: string, durationMs: number): Promise<{ gen: number; checkpoint: ShardCheckpoint | null } | null> {
    await this.connect();
    const k = this.keys(group);
    const r = (await this.redis.eval(ACQUIRE, 2, k.leases, k.ckpt, field, owner, String(durationMs))) as string | null;
    if (!r) return null;
    const { gen, ckpt } = JSON.parse(r) as { gen: number; ckpt: string };
    return { gen, checkpoint: ckpt ? (JSON.parse(ckpt) as ShardCheckpoint) : null };
  }

  /** Extends a held lease: null when it was lost, else the worker asking for it ('' for none). */
  async renew(group: string, field: string, owner: string, gen: number, durationMs: number): Promise<string | null> {
    await this.connect();
    const k = this.keys(group);
    const r = (await this.redis.eval(RENEW, 1, k.leases, field, owner, String(gen), String(durationMs))) as string | null;
    return r === null ? null : r;
  }

  /** Stores a checkpoint if `owner` still holds generation `gen` of the lease; false when fenced off. */
  async checkpoint(group: string, field: string, owner: string, gen: number, cp: ShardCheckpoint): Promise<boolean> {
    await this.connect();
    const k = this.keys(group);
    return (await this.redis.eval(CHECKPOINT, 2, k.leases, k.ckpt, field, owner, String(gen), JSON.stringify(cp))) === 1;
  }

  async release(group: string, field: string, owner: string, gen: number): Promise<void> {
    await this.connect();
    await this.redis.eval(RELEASE, 1, this.keys(group).leases, field, owner, String(gen));
  }

  /** Asks the holder of a live lease to hand it over (it releases the lease after its in-flight batch). */
  async requestHandoff(group: string, field: string, requester: string): Promise<boolean> {
    await this.connect();
    return (await this.redis.eval(WANT, 1, this.keys(group).leases, field, requester)) === 1;
  }

  /** Registers `member` as alive for `ttlMs`; the server time and the live members. */
  async heartbeat(group: string, member: string, ttlMs: number): Promise<{ now: number; members: string[] }> {
    await this.connect();
    return JSON.parse((await this.redis.eval(HEARTBEAT, 1, this.keys(group).members, member, String(ttlMs))) as string) as { now: number; members: string[] };
  }

  async leave(group: string, member: string): Promise<void> {
    await this.connect();
    await this.redis.zrem(this.keys(group).members, member);
  }

  async leases(group: string): Promise<Map<string, ShardLease>> {
    await this.connect();
    const all = await this.redis.hgetall(this.keys(group).leases);
    return new Map(Object.entries(all).map(([f, v]) => [f, JSON.parse(v) as ShardLease]));
  }

  async checkpoints(group: string): Promise<Map<string, ShardCheckpoint>> {
    await this.connect();
    const all = await this.redis.hgetall(this.keys(group).ckpt);
    return new Map(Object.entries(all).map(([f, v]) => [f, JSON.parse(v) as ShardCheckpoint]));
  }

  /** Forgets checkpoints (the group then starts those shards afresh). Only for a group with no live member. */
  async deleteCheckpoints(group: string, fields: string[]): Promise<void> {
    await this.connect();
    if (fields.length) await this.redis.hdel(this.keys(group).ckpt, ...fields);
  }

  async deleteGroup(group: string): Promise<void> {
    await this.connect();
    const k = this.keys(group);
    await this.redis.del(k.leases, k.ckpt, k.members);
  }

  async liveMembers(group: string): Promise<number> {
    await this.connect();
    const t = await this.redis.time();
    return this.redis.zcount(this.keys(group).members, Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000), '+inf');
  }

  async close(): Promise<void> {
    this.connecting = undefined;
    this.redis.disconnect();
  }
}
