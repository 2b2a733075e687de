import type { ConnectorConfig, ConnectorPlugin, SourceConnector } from '@ferry/core';
import type { OffsetStore } from '../stores/contracts.js';
import type { Backbone } from '../backbone/backbone.js';
import { badRequest } from '../herder/errors.js';
import type { OffsetEntry } from '../herder/herder.js';

/** What the offsets API of a cluster works with: the offsets topic (unfenced: only the leader calls it) and the backbone. */
export interface OffsetsApiDeps {
  offsets: OffsetStore;
  backbone: Backbone;
}

/** `GET /connectors/<name>/offsets`: source offsets from the offsets topic, sink offsets from the consumer group. */
export async function readConnectorOffsets(deps: OffsetsApiDeps, name: string, type: 'source' | 'sink', config: ConnectorConfig): Promise<{ offsets: OffsetEntry[] }> {
  if (type === 'source') {
    const list = await deps.offsets.list(name);
    return { offsets: list.map((e) => ({ partition: e.partition, offset: e.offset })) };
  }
  const listed = (config.topics ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  const regex = config['topics.regex'];
  const topics = regex ? (await deps.backbone.admin().listTopics()).filter((t) => new RegExp(`^(?:${regex})$`).test(t)) : listed;
  const committed = await deps.backbone.admin().committedOffsets(`connect-${name}`, topics);
  return { offsets: committed.map((o) => ({ partition: { kafka_topic: o.topic, kafka_partition: o.partition }, offset: { kafka_offset: o.offset } })) };
}

/** `PATCH /connectors/<name>/offsets` of a STOPPED connector. */
export async function alterConnectorOffsets(deps: OffsetsApiDeps, name: string, plugin: ConnectorPlugin<any>, config: ConnectorConfig, offsets: OffsetEntry[]): Promise<{ message: string }> {
  if (!Array.isArray(offsets) || offsets.length === 0) throw badRequest('The offsets to be altered may not be null or empty');
  if (plugin.type === 'source') {
    for (const o of offsets) {
      if (!o || typeof o.partition !== 'object' || o.partition === null) throw badRequest('Source partitions may not be null');
      if (o.offset !== null && typeof o.offset !== 'object') throw badRequest('Source offsets must be objects or null');
    }
    const instance = (await plugin.create()) as SourceConnector;
    try {
      await instance.alterOffsets?.(config, offsets);
    } catch (err) {
      throw badRequest(`Failed to alter offsets: ${(err as Error).message}`);
    }
    await deps.offsets.set(name, offsets.map((o) => ({ partition: o.partition, offset: o.offset })));
  } else {
    const parsed = offsets.map((o) => {
      const topic = o.partition?.kafka_topic;
      const partition = Number(o.partition?.kafka_partition);
      if (typeof topic !== 'string' || !Number.isInteger(partition)) throw badRequest('Sink connector offsets need partitions of the form {"kafka_topic": string, "kafka_partition": int}');
      const off = o.offset === null ? null : Number((o.offset as Record<string, unknown>).kafka_offset);
      if (off !== null && (!Number.isInteger(off) || off < 0)) throw badRequest('kafka_offset must be a non-negative integer');
      return { topic, partition, offset: off };
    });
    await deps.backbone.admin().alterGroupOffsets(`connect-${name}`, parsed);
  }
  return { message: 'The offsets for this connector have been altered successfully' };
}

/** `DELETE /connectors/<name>/offsets` of a STOPPED connector. */
export async function resetConnectorOffsets(deps: OffsetsApiDeps, name: string, type: 'source' | 'sink'): Promise<{ message: string }> {
  if (type === 'source') await deps.offsets.clear(name);
  else await deps.backbone.admin().deleteGroup(`connect-${name}`);
  return { message: 'The offsets for this connector have been reset successfully' };
}
