import { Config, DataError, defineConfig, type ConnectRecord, type Transformation } from '@ferry/core';
import { transformPlugin } from './plugin.js';
import { compileDateFormat, dateFormatError, type DateFormat } from './simple-date-format.js';
import { withTopic } from './util.js';

export const TimestampRouterConfig = defineConfig({
  'topic.format': Config.string({
    doc: 'Format string which can contain `${topic}` and `${timestamp}` as placeholders for the topic and timestamp, respectively.',
    default: '${topic}-${timestamp}',
    importance: 'HIGH',
  }),
  'timestamp.format': Config.string({
    doc: 'Format string for the timestamp that is compatible with `java.text.SimpleDateFormat` (in UTC).',
    default: 'yyyyMMdd',
    importance: 'HIGH',
  }),
}).check((cfg) => {
  const err = dateFormatError(cfg['timestamp.format']);
  return err ? { 'timestamp.format': [err] } : undefined;
});

/** The coarsest time unit the pattern shows, so records within one unit share a topic. */
function granularityMs(pattern: string): number {
  const letters = pattern.replace(/'[^']*'/g, '');
  if (/S/.test(letters)) return 1;
  if (/s/.test(letters)) return 1_000;
  if (/m/.test(letters)) return 60_000;
  if (/[HkKha]/.test(letters)) return 3_600_000;
  return 86_400_000;
}

/**
 * Routes a record to a topic named from its original topic and its
 * timestamp, e.g. `orders-20240131`. The last answer is remembered: records
 * of one topic within one day (or hour...) cost a comparison.
 */
class TimestampRouter implements Transformation {
  private topicFormat = '';
  private format!: DateFormat;
  private unit = 1;
  private lastTopic: string | undefined;
  private lastBucket = NaN;
  private lastResult = '';

  configure(config: Record<string, string>): void {
    const cfg = TimestampRouterConfig.parse(config);
    this.topicFormat = cfg['topic.format'];
    this.format = compileDateFormat(cfg['timestamp.format']);
    this.unit = granularityMs(cfg['timestamp.format']);
  }

  apply(record: ConnectRecord): ConnectRecord {
    const ts = record.timestamp;
    if (ts === null || ts === undefined) throw new DataError(`Timestamp missing on record: topic=${record.topic}`);
    const bucket = Math.floor(ts / this.unit);
    if (record.topic !== this.lastTopic || bucket !== this.lastBucket) {
      this.lastResult = this.topicFormat.replaceAll('${topic}', record.topic).replaceAll('${timestamp}', this.format.format(ts));
      this.lastTopic = record.topic;
      this.lastBucket = bucket;
    }
    return withTopic(record, this.lastResult);
  }
}

export const timestampRouterPlugin = transformPlugin({
  name: 'TimestampRouter',
  description:
    'Updates the record topic as a function of the original topic value and the record timestamp, e.g. for time-based indices or tables.',
  config: TimestampRouterConfig,
  create: () => new TimestampRouter(),
});
