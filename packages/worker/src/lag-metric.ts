import { Gauge } from 'prom-client';
import type { Backbone } from './backbone/backbone.js';
import type { Herder } from './herder/herder.js';
import type { WorkerMetrics } from './metrics.js';

/**
 * `ferry_sink_consumer_lag{connector, topic}`: for each sink connector, the
 * records of its topics not yet committed (end offsets minus the group's
 * committed offsets), read from the backbone when /metrics is scraped.
 */
export function registerLagMetric(metrics: WorkerMetrics, herder: Herder, backbone: Backbone, timeoutMs = 2000): Gauge<'connector' | 'topic'> {
  const gauge: Gauge<'connector' | 'topic'> = new Gauge({
    name: 'ferry_sink_consumer_lag',
    help: 'Sink connectors: records in their topics past the committed offsets (consumer group lag), per topic.',
    labelNames: ['connector', 'topic'],
    registers: [metrics.registry],
    async collect() {
      const work = (async () => {
        const values: Array<[string, string, number]> = [];
        const admin = backbone.admin();
        for (const name of herder.names()) {
          let info;
          try {
            info = herder.info(name);
          } catch {
            continue;
          }
          if (info.type !== 'sink') continue;
          const committed = (await herder.offsets(name)).offsets;
          const byTp = new Map(committed.map((o) => [`${o.partition.kafka_topic}\u0000${o.partition.kafka_partition}`, Number(o.offset?.kafka_offset ?? 0)]));
          const topics = new Set([...committed.map((o) => String(o.partition.kafka_topic)), ...(info.config.topics ?? '').split(',').map((t) => t.trim()).filter(Boolean)]);
          const existing = new Set(await admin.listTopics());
          for (const topic of topics) {
            if (!existing.has(topic)) continue;
            let lag = 0;
            for (const end of await admin.endOffsets(topic)) lag += Math.max(0, end.offset - (byTp.get(`${topic}\u0000${end.partition}`) ?? 0));
            values.push([name, topic, lag]);
          }
        }
        return values;
      })();
      const values = await Promise.race([work, new Promise<null>((r) => setTimeout(() => r(null), timeoutMs).unref())]).catch(() => null);
      if (!values) return; // the backbone is slow or unreachable: keep the last values
      gauge.reset();
      for (const [connector, topic, lag] of values) gauge.set({ connector, topic }, lag);
    },
  });
  return gauge;
}
