// @ts-expect-error: the stack scripts are plain JavaScript without types
import { kafkaTool } from '../../scripts/stack/services/kafka.mjs';
import { uniqueName } from './util.js';

export interface CommittedRecord {
  partition: number;
  /** The key as text (absent unless asked for). */
  key?: string;
  /** The value as text (absent unless asked for). */
  value?: string;
}

/**
 * Every record of `topic`, as the Java client reads it with
 * isolation.level=read_committed (Kafka's console consumer), once at least
 * `expected` records are there: each read runs until no record came for
 * `idleMs`, and is repeated from the start while fewer arrived, until
 * `timeoutMs`. The Java client is the reference reader for transactional
 * topics: kafkajs, for one, takes a fetch's aborted transactions in the
 * broker's order (by when they ended) rather than by first offset, and lets
 * through an aborted transaction that began before another one that ended
 * first, which two crashed transactional writers can leave.
 */
export async function readCommitted(
  topic: string,
  expected: number,
  opts: { timeoutMs: number; idleMs?: number; key?: boolean; value?: boolean },
): Promise<CommittedRecord[]> {
  const deadline = Date.now() + opts.timeoutMs;
  const withKey = opts.key ?? false;
  const withValue = opts.value ?? true;
  for (;;) {
    const r = await kafkaTool(
      'console-consumer',
      [
        '--topic', topic, '--from-beginning', '--isolation-level', 'read_committed',
        '--timeout-ms', String(opts.idleMs ?? 10_000), '--group', uniqueName('java-reader'),
        '--property', 'print.partition=true', '--property', `print.key=${withKey}`, '--property', `print.value=${withValue}`,
      ],
      { check: false, timeoutMs: Math.max(60_000, deadline - Date.now()) },
    );
    const out: CommittedRecord[] = [];
    for (const line of String(r.stdout).split('\n')) {
      // Partition:N<TAB>key<TAB>value; anything else is the tool talking (warnings, totals).
      if (!line.startsWith('Partition:')) continue;
      const tab = line.indexOf('\t');
      const partition = Number(line.slice('Partition:'.length, tab < 0 ? undefined : tab));
      const rest = tab < 0 ? '' : line.slice(tab + 1);
      if (withKey && withValue) {
        const t2 = rest.indexOf('\t');
        out.push({ partition, key: rest.slice(0, t2), value: rest.slice(t2 + 1) });
      } else if (withKey) out.push({ partition, key: rest });
      else if (withValue) out.push({ partition, value: rest });
      else out.push({ partition });
    }
    if (out.length >= expected || Date.now() > deadline) return out;
  }
}
