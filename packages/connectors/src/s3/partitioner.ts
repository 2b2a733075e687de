/**
 * Partitioners turn a record into the folder ("encoded partition") of its
 * file, and timestamp extractors give a record its time, as Kafka Connect's
 * storage partitioners do.
 */
import { DataError, type SinkRecord } from '@ferry/core';
import { PathFormat } from './path-format.js';
import { resolveExtractor, resolvePartitioner, type SinkSettings } from './sink-config.js';

export type TimestampExtractor = (r: SinkRecord) => number;

function where(r: SinkRecord): string {
  return `${r.topic}/${r.kafkaPartition}/${r.kafkaOffset}`;
}

function lookup(value: unknown, path: string): unknown {
  let cur = value;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = cur instanceof Map ? cur.get(part) : (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function toEpochMs(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    if (/^-?\d+$/.test(v)) return Number(v);
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

export function createExtractor(cfg: SinkSettings): { extract: TimestampExtractor; deterministic: boolean } {
  const kind = resolveExtractor(cfg['timestamp.extractor']) ?? 'Record';
  if (kind === 'Wallclock') return { extract: () => Date.now(), deterministic: false };
  if (kind === 'Record')
    return {
      deterministic: true,
      extract(r) {
        if (r.timestamp === null || r.timestamp === undefined)
          throw new DataError(`record ${where(r)} has no timestamp (timestamp.extractor=Record)`);
        return r.timestamp;
      },
    };
  const field = cfg['timestamp.field'];
  return {
    deterministic: true,
    extract(r) {
      const t = toEpochMs(lookup(r.value, field));
      if (t === undefined) throw new DataError(`record ${where(r)} has no usable time in field "${field}" (timestamp.field)`);
      return t;
    },
  };
}

export interface Partitioner {
  /** Whether encode() needs the record time. */
  readonly usesTime: boolean;
  encode(r: SinkRecord, ts: number | undefined): string;
}

function fieldValueText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v).replace(/\//g, '%2F');
  if (v instanceof Date) return String(v.getTime());
  return undefined;
}

export function createPartitioner(cfg: SinkSettings): Partitioner {
  const p = resolvePartitioner(cfg['partitioner.class']);
  if (!p || p.name === 'default') return { usesTime: false, encode: (r) => `partition=${r.kafkaPartition}` };
  if (p.name === 'field') {
    const fields = cfg['partition.field.name'] ?? [];
    return {
      usesTime: false,
      encode(r) {
        const parts: string[] = [];
        for (const f of fields) {
          const text = fieldValueText(lookup(r.value, f));
          if (text === undefined)
            throw new DataError(`record ${where(r)} has no usable value in partition field "${f}" (partition.field.name)`);
          parts.push(`${f}=${text}`);
        }
        return parts.join('/');
      },
    };
  }
  const fmt = new PathFormat(p.pathFormat ?? cfg['path.format'] ?? '', cfg.timezone);
  const duration = p.durationMs ?? cfg['partition.duration.ms'] ?? 3600000;
  let lastBucket = NaN;
  let lastStart = 0;
  return {
    usesTime: true,
    encode(_r, ts) {
      const t = ts as number;
      // Records mostly arrive in time order: reuse the previous bucket.
      if (t >= lastStart && t < lastStart + duration && !Number.isNaN(lastBucket)) return fmt.format(lastStart);
      lastStart = fmt.bucketStart(t, duration);
      lastBucket = lastStart;
      return fmt.format(lastStart);
    },
  };
}
