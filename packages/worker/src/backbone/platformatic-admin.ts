import { Admin } from '@platformatic/kafka';
import type { TopicPartition, TopicPartitionOffset } from '@ferry/core';
import type { BackboneAdmin, TopicSpec } from './backbone.js';
import { connectFailure } from './connect-failure.js';
import type { PlatformaticShared } from './platformatic-common.js';

export class PlatformaticAdmin implements BackboneAdmin {
  constructor(private readonly b: PlatformaticShared) {}

  private get a(): Admin {
    return this.b.adminConn();
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|connect/i.test(`${(err as Error).message} ${JSON.stringify((err as { errors?: unknown }).errors ?? '')}`)) {
        throw connectFailure(`The admin client (${this.b.opts.connections.admin.brokers.join(',')})`, err);
      }
      throw err;
    }
  }

  async clusterId(): Promise<string> {
    return this.call(async () => (await this.a.metadata({ topics: [] })).id);
  }

  async listTopics(): Promise<string[]> {
    return this.call(() => this.a.listTopics());
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    if (specs.length === 0) return;
    const existing = new Set(await this.listTopics());
    for (const s of specs) {
      if (existing.has(s.topic)) continue;
      try {
        await this.a.createTopics({
          topics: [s.topic],
          partitions: s.numPartitions ?? -1,
          replicas: s.replicationFactor ?? -1,
          configs: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (err) {
        if (!/already exists|TOPIC_ALREADY_EXISTS/i.test(`${(err as Error).message} ${JSON.stringify((err as { errors?: unknown[] }).errors?.map((e) => String(e)) ?? '')}`)) throw err;
      }
    }
  }

  async partitionCount(topic: string): Promise<number> {
    try {
      const md = await this.a.metadata({ topics: [topic], forceUpdate: true, autocreateTopics: false });
      return md.topics.get(topic)?.partitionsCount ?? 0;
    } catch (err) {
      if (/UNKNOWN_TOPIC|does not host|not exist/i.test(`${(err as Error).message} ${JSON.stringify((err as { errors?: unknown[] }).errors?.map((e) => String(e)) ?? '')}`)) return 0;
      throw err;
    }
  }

  async committedOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]> {
    const existing = new Set(await this.listTopics());
    const wanted = topics.filter((t) => existing.has(t));
    if (wanted.length === 0) return [];
    const md = await this.a.metadata({ topics: wanted });
    const res = await this.a.listConsumerGroupOffsets({
      groups: [{ groupId, topics: wanted.map((name) => ({ name, partitionIndexes: Array.from({ length: md.topics.get(name)?.partitionsCount ?? 0 }, (_, i) => i) })) }],
    });
    const out: TopicPartitionOffset[] = [];
    for (const g of res) for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset >= 0n) out.push({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) });
    return out;
  }

  async alterGroupOffsets(groupId: string, offsets: Array<TopicPartition & { offset: number | null }>): Promise<void> {
    const set = offsets.filter((o) => o.offset !== null);
    const reset = offsets.filter((o) => o.offset === null);
    if (set.length) {
      await this.a.alterConsumerGroupOffsets({
        groupId,
        topics: [...groupByTopic(set)].map(([name, ps]) => ({ name, partitionOffsets: ps.map((p) => ({ partition: p.partition, offset: BigInt(p.offset!) })) })),
      });
    }
    if (reset.length) {
      await this.a.deleteConsumerGroupOffsets({
        groupId,
        topics: [...groupByTopic(reset)].map(([name, ps]) => ({ name, partitionIndexes: ps.map((p) => p.partition) })),
      });
    }
  }

  async deleteGroup(groupId: string): Promise<void> {
    try {
      await this.a.deleteGroups({ groups: [groupId] });
    } catch (err) {
      const text = `${(err as Error).message} ${JSON.stringify((err as { errors?: unknown[] }).errors?.map((e) => `${String(e)} ${(e as { apiId?: string }).apiId ?? ''}`) ?? '')}`;
      if (!/GROUP_ID_NOT_FOUND|does not exist|not found/i.test(text)) throw err;
    }
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    const md = await this.a.metadata({ topics: [topic] });
    const n = md.topics.get(topic)?.partitionsCount ?? 0;
    const res = await this.a.listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: n }, (_, i) => ({ partitionIndex: i, timestamp: -1n })) }] });
    return res.flatMap((t) => t.partitions.map((p) => ({ topic, partition: p.partitionIndex, offset: Number(p.offset) })));
  }
}

function groupByTopic<T extends TopicPartition>(items: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    let a = m.get(i.topic);
    if (!a) m.set(i.topic, (a = []));
    a.push(i);
  }
  return m;
}
