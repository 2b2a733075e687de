/**
 * The Java consumer's `range` assignor (org.apache.kafka.clients.consumer.RangeAssignor):
 * per topic, the members subscribed to it in member-id order each take a
 * contiguous range; the first (partitions % members) take one more.
 */
export interface AssignorMember {
  memberId: string;
  topics: string[];
}

export function rangeAssign(members: AssignorMember[], partitionsOf: (topic: string) => number): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  for (const m of members) out.set(m.memberId, new Map());
  const byTopic = new Map<string, string[]>();
  for (const m of members) {
    for (const t of m.topics) {
      let l = byTopic.get(t);
      if (!l) byTopic.set(t, (l = []));
      l.push(m.memberId);
    }
  }
  for (const [topic, ids] of byTopic) {
    const n = partitionsOf(topic);
    if (n <= 0) continue;
    ids.sort();
    const per = Math.floor(n / ids.length);
    const extra = n % ids.length;
    ids.forEach((id, i) => {
      const start = i * per + Math.min(i, extra);
      const len = per + (i < extra ? 1 : 0);
      if (len === 0) return;
      out.get(id)!.set(topic, Array.from({ length: len }, (_, k) => start + k));
    });
  }
  return out;
}

export type AssignmentStrategy = 'range' | 'cooperative-sticky';

const ALIASES: Record<string, AssignmentStrategy> = {
  range: 'range',
  'org.apache.kafka.clients.consumer.RangeAssignor': 'range',
  'cooperative-sticky': 'cooperative-sticky',
  'org.apache.kafka.clients.consumer.CooperativeStickyAssignor': 'cooperative-sticky',
};

/** Reads `partition.assignment.strategy` (short names or the Java class names). */
export function parseAssignmentStrategy(value: string): AssignmentStrategy {
  const v = ALIASES[value.trim()];
  if (!v) throw new Error(`partition.assignment.strategy "${value}" is not supported: use range or cooperative-sticky (or their Java class names)`);
  return v;
}
