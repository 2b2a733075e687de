import type { RecordMetadata } from '@ferry/core';
import type { BackboneProducer, OutMessage } from '../backbone/backbone.js';
import { isRetriable } from './task-runner-base.js';

/** Keeps a combined request well under Kafka's default message.max.bytes (1 MiB), as the source runner does for its own. */
const MAX_REQUEST_BYTES = 768 * 1024;

function bytesOf(messages: OutMessage[]): number {
  let n = 0;
  for (const m of messages) {
    n += 70 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
    if (m.headers) for (const h of m.headers) n += h.key.length + (h.value?.length ?? 0) + 8;
  }
  return n;
}

interface Send {
  /** The lease that sent it. */
  lease: object;
  messages: OutMessage[];
  bytes: number;
  resolve(md: RecordMetadata[]): void;
  reject(err: unknown): void;
}

interface Entry {
  producer: BackboneProducer;
  /** Leases not yet released. */
  refs: number;
  connected: Promise<void> | undefined;
  queue: Send[];
  writing: boolean;
}

/**
 * One producer per distinct client configuration, leased to many source
 * tasks, so a worker running 50 tasks opens one producer's connections, not
 * 50. A lease behaves as a task's own producer:
 * - `send()` resolves with the positions of the caller's records only.
 *   Sends waiting while a request is in flight go out together as the next
 *   request (one request at a time: an idempotent producer's sequence numbers
 *   never interleave, which kafkajs cannot keep in order for concurrent
 *   sends), and each caller gets its own slice of the answer;
 * - a request that fails with a retriable error (the broker, the network)
 *   fails every send in it, and each task retries by its own policy; one that
 *   fails otherwise (a record too large, a topic a task may not write) is sent
 *   again send by send, so only the sends that fail alone fail. Records of a
 *   failed request may be written twice, as a task's own retry would;
 * - the task's offsets still follow its own acknowledged sends (the runner
 *   awaits its own `send()`s before it flushes);
 * - `disconnect()` releases the lease and drops its sends still waiting;
 *   the producer closes when the last lease is released, and a later lease
 *   opens a new one.
 * Tasks that need a producer of their own (exactly-once transactions,
 * `producer.override.*`) do not lease one.
 */
export class SharedProducers {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly create: (key: string) => BackboneProducer) {}

  /** Open producers (one per key with live leases). */
  get size(): number {
    return this.entries.size;
  }

  lease(key: string): BackboneProducer {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { producer: this.create(key), refs: 0, connected: undefined, queue: [], writing: false };
      this.entries.set(key, entry);
    }
    const e = entry;
    e.refs++;
    let released = false;
    const lease = {};
    const gone = () => Promise.reject(new Error('The shared producer lease was released'));
    return {
      connect: () => (released ? gone() : connect(e)),
      send: (messages: OutMessage[]): Promise<RecordMetadata[]> => {
        if (released) return gone();
        if (messages.length === 0) return Promise.resolve([]);
        return new Promise<RecordMetadata[]>((resolve, reject) => {
          e.queue.push({ lease, messages, bytes: bytesOf(messages), resolve, reject });
          void write(e);
        });
      },
      disconnect: async () => {
        if (released) return;
        released = true;
        // Its sends still waiting are dropped: a task that stopped (or was cancelled) writes nothing more.
        const dropped = e.queue.filter((q) => q.lease === lease);
        if (dropped.length) {
          e.queue = e.queue.filter((q) => q.lease !== lease);
          for (const q of dropped) q.reject(new Error('The shared producer lease was released'));
        }
        if (--e.refs > 0) return;
        if (this.entries.get(key) === e) this.entries.delete(key);
        if (e.connected) await e.producer.disconnect();
      },
    };
  }

  /** Closes every producer (the worker stops; leases still held fail their next send). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) if (e.connected) await e.producer.disconnect().catch(() => undefined);
  }
}

function connect(e: Entry): Promise<void> {
  return (e.connected ??= e.producer.connect().catch((err) => {
    e.connected = undefined;
    throw err;
  }));
}

/** Writes the queue, one request at a time, until it is empty. */
async function write(e: Entry): Promise<void> {
  if (e.writing) return;
  e.writing = true;
  try {
    while (e.queue.length) {
      const group = [e.queue.shift()!];
      let bytes = group[0]!.bytes;
      while (e.queue.length && bytes + e.queue[0]!.bytes <= MAX_REQUEST_BYTES) {
        bytes += e.queue[0]!.bytes;
        group.push(e.queue.shift()!);
      }
      await request(e, group);
    }
  } finally {
    e.writing = false;
  }
}

async function request(e: Entry, group: Send[]): Promise<void> {
  try {
    await connect(e);
  } catch (err) {
    for (const s of group) s.reject(err);
    return;
  }
  if (group.length === 1) return alone(e, group[0]!);
  let md: RecordMetadata[];
  try {
    md = await e.producer.send(group.flatMap((s) => s.messages));
  } catch (err) {
    if (isRetriable(err)) {
      for (const s of group) s.reject(err);
      return;
    }
    for (const s of group) await alone(e, s);
    return;
  }
  let i = 0;
  for (const s of group) {
    s.resolve(md.slice(i, i + s.messages.length));
    i += s.messages.length;
  }
}

async function alone(e: Entry, s: Send): Promise<void> {
  try {
    s.resolve(await e.producer.send(s.messages));
  } catch (err) {
    s.reject(err);
  }
}
