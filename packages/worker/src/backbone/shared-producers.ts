import type { BackboneProducer, OutMessage } from './backbone.js';
import type { RecordMetadata } from '@ferry/core';

interface Entry {
  producer: BackboneProducer;
  /** Leases not yet released. */
  refs: number;
  connected: Promise<void> | undefined;
  /** The end of the send queue: sends go one after the other. */
  tail: Promise<unknown>;
}

/**
 * One producer per distinct client configuration, leased to many source
 * tasks, so a worker running 50 tasks opens one producer's connections, not
 * 50. A lease behaves as a task's own producer:
 * - `send()` resolves with the positions of the caller's records only, or
 *   rejects with the error of the caller's request only: sends of the leases
 *   are queued and written one request at a time, so a request that fails
 *   (a record too large, a topic it may not write) fails no other task's
 *   request, and an idempotent producer's sequence numbers never interleave
 *   across tasks (kafkajs cannot keep them in order for concurrent sends);
 * - the task's offsets still follow its own acknowledged sends (the runner
 *   awaits its own `send()`s before it flushes);
 * - `disconnect()` releases the lease; the producer closes when the last
 *   lease is released, and a later lease opens a new one.
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
      entry = { producer: this.create(key), refs: 0, connected: undefined, tail: Promise.resolve() };
      this.entries.set(key, entry);
    }
    const e = entry;
    e.refs++;
    let released = false;
    const connect = (): Promise<void> =>
      (e.connected ??= e.producer.connect().catch((err) => {
        e.connected = undefined;
        throw err;
      }));
    return {
      connect: () => {
        if (released) return Promise.reject(new Error('The shared producer lease was released'));
        return connect();
      },
      send: (messages: OutMessage[]): Promise<RecordMetadata[]> => {
        if (released) return Promise.reject(new Error('The shared producer lease was released'));
        const run = e.tail.then(async () => {
          await connect();
          return e.producer.send(messages);
        });
        e.tail = run.catch(() => undefined);
        return run;
      },
      disconnect: async () => {
        if (released) return;
        released = true;
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
