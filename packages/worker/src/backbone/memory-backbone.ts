import type { RecordMetadata, TopicPartition, TopicPartitionOffset } from '@ferry/core';
import type { Backbone, BackboneAdmin, BackboneConsumer, BackboneProducer, ConsumerHandlers, InMessage, OutMessage, TopicSpec } from './backbone.js';

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

/**
 * A backbone held in memory: topics of partitions with offsets, consumer
 * groups with committed offsets. It lets the real herder and task runners
 * run with no server (`ferry test`); one consumer per group is assumed.
 */
export class MemoryBackbone implements Backbone {
  readonly name = 'memory';
  private readonly topics = new Map<string, InMessage[][]>();
  private readonly groups = new Map<string, Map<string, number>>();
  private readonly listeners = new Set<() => void>();
  private readonly handled = new Map<string, number>();

  constructor(private readonly defaultPartitions = 1) {}

  /** Appends messages as a producer would; returns their positions. */
  append(messages: OutMessage[]): RecordMetadata[] {
    const out: RecordMetadata[] = [];
    for (const m of messages) {
      const parts = this.topic(m.topic);
      const partition = m.partition ?? (m.key ? hash(m.key) % parts.length : 0);
      while (parts.length <= partition) parts.push([]);
      const log = parts[partition]!;
      const offset = log.length;
      log.push({
        topic: m.topic,
        partition,
        offset,
        key: m.key,
        value: m.value,
        headers: m.headers ?? [],
        timestamp: m.timestamp ?? Date.now(),
        timestampType: 'CreateTime',
      });
      out.push({ topic: m.topic, partition, offset } as RecordMetadata);
    }
    for (const l of this.listeners) l();
    return out;
  }

  /** Every message of a topic, partition by partition. */
  messages(topic: string): InMessage[] {
    return (this.topics.get(topic) ?? []).flat();
  }

  /** How many messages a group's consumer has handed over and seen handled (its onBatch resolved). */
  delivered(groupId: string): number {
    return this.handled.get(groupId) ?? 0;
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  private topic(name: string, partitions = this.defaultPartitions): InMessage[][] {
    let t = this.topics.get(name);
    if (!t) this.topics.set(name, (t = Array.from({ length: Math.max(1, partitions) }, () => [])));
    return t;
  }

  private group(id: string): Map<string, number> {
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = new Map()));
    return g;
  }

  producer(): BackboneProducer {
    return { connect: async () => {}, send: async (m) => this.append(m), disconnect: async () => {} };
  }

  consumer(opts: { groupId: string }): BackboneConsumer {
    const backbone = this;
    const committed = this.group(opts.groupId);
    const position = new Map<string, number>();
    const paused = new Set<string>();
    let spec: { topics?: string[]; pattern?: RegExp } = {};
    let running = false;
    let wake: (() => void) | undefined;
    const nudge = () => wake?.();
    const assignment = (): TopicPartition[] => {
      const names = [...new Set([...(spec.topics ?? []), ...(spec.pattern ? backbone.topicNames().filter((t) => spec.pattern!.test(t)) : [])])];
      return names.flatMap((t) => backbone.topic(t).map((_p, partition) => ({ topic: t, partition })));
    };
    return {
      connect: async () => {},
      subscribe: async (s) => {
        spec = s;
      },
      run: async (handlers: ConsumerHandlers) => {
        const tps = assignment();
        for (const tp of tps) position.set(key(tp), committed.get(key(tp)) ?? 0);
        await handlers.onAssignment(tps);
        running = true;
        backbone.listeners.add(nudge);
        void (async () => {
          while (running) {
            let delivered = false;
            for (const tp of tps) {
              const k = key(tp);
              if (paused.has(k)) continue;
              const log = backbone.topic(tp.topic)[tp.partition] ?? [];
              const from = position.get(k) ?? 0;
              if (from >= log.length) continue;
              const batch = log.slice(from, from + 500);
              position.set(k, from + batch.length);
              delivered = true;
              await handlers.onBatch(batch, tp);
              backbone.handled.set(opts.groupId, backbone.delivered(opts.groupId) + batch.length);
              if (!running) return;
            }
            if (!delivered) await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 50).unref();
            });
          }
        })();
      },
      commit: async (offsets: TopicPartitionOffset[]) => {
        for (const o of offsets) committed.set(key(o), o.offset);
      },
      seek: (o) => {
        position.set(key(o), o.offset);
        nudge();
      },
      pause: (tps) => tps.forEach((tp) => paused.add(key(tp))),
      resume: (tps) => {
        tps.forEach((tp) => paused.delete(key(tp)));
        nudge();
      },
      disconnect: async () => {
        running = false;
        backbone.listeners.delete(nudge);
        nudge();
      },
    };
  }

  admin(): BackboneAdmin {
    return {
      clusterId: async () => 'memory',
      listTopics: async () => this.topicNames(),
      ensureTopics: async (specs: TopicSpec[]) => specs.forEach((s) => this.topic(s.topic, s.numPartitions)),
      partitionCount: async (t) => this.topic(t).length,
      committedOffsets: async (groupId, topics) =>
        [...this.group(groupId).entries()]
          .map(([k, offset]) => {
            const [topic, p] = k.split('\u0000');
            return { topic: topic!, partition: Number(p), offset };
          })
          .filter((o) => topics.includes(o.topic)),
      alterGroupOffsets: async (groupId, offsets) => {
        const g = this.group(groupId);
        for (const o of offsets) (o.offset === null ? g.delete(key(o)) : g.set(key(o), o.offset));
      },
      deleteGroup: async (groupId) => void this.groups.delete(groupId),
      endOffsets: async (t) => this.topic(t).map((log, partition) => ({ topic: t, partition, offset: log.length })),
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

function hash(b: Buffer): number {
  let h = 0;
  for (const x of b) h = (h * 31 + x) | 0;
  return Math.abs(h);
}
