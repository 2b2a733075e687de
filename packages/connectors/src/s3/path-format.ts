/**
 * Renders `path.format` patterns of the time partitioner. The syntax is the
 * Joda-Time pattern subset that Kafka Connect users write, e.g.
 * `'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH`: text in single quotes is
 * literal (`''` is a quote), letters are fields, anything else is literal.
 */

type Part = { literal: string } | { field: string; width: number };

const FIELDS = new Set(['Y', 'y', 'M', 'd', 'H', 'm', 's', 'S', 'D', 'w']);

export class PathFormat {
  private readonly parts: Part[];
  private readonly dtf: Intl.DateTimeFormat;
  private readonly cache = new Map<number, string>();

  /** Throws an Error naming the bad character when the pattern is invalid. */
  constructor(
    readonly pattern: string,
    readonly timeZone: string,
  ) {
    this.parts = PathFormat.compile(pattern);
    this.dtf = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  static compile(pattern: string): Part[] {
    const parts: Part[] = [];
    let i = 0;
    let lit = '';
    while (i < pattern.length) {
      const c = pattern[i];
      if (c === "'") {
        if (pattern[i + 1] === "'") {
          lit += "'";
          i += 2;
          continue;
        }
        const end = pattern.indexOf("'", i + 1);
        if (end < 0) throw new Error(`unterminated quote at position ${i}`);
        lit += pattern.slice(i + 1, end);
        i = end + 1;
        continue;
      }
      if (/[A-Za-z]/.test(c)) {
        if (!FIELDS.has(c)) throw new Error(`unsupported pattern letter "${c}" (supported: YYYY yyyy MM dd HH mm ss SSS DDD ww; quote literal text)`);
        let j = i;
        while (pattern[j] === c) j++;
        if (lit) parts.push({ literal: lit });
        lit = '';
        parts.push({ field: c, width: j - i });
        i = j;
        continue;
      }
      lit += c;
      i++;
    }
    if (lit) parts.push({ literal: lit });
    return parts;
  }

  /** Wall-clock fields of `ts` in the zone. */
  localFields(ts: number): { y: number; M: number; d: number; H: number; m: number; s: number; S: number } {
    const f: Record<string, number> = {};
    for (const p of this.dtf.formatToParts(new Date(ts))) if (p.type !== 'literal') f[p.type] = Number(p.value);
    return { y: f.year, M: f.month, d: f.day, H: f.hour, m: f.minute, s: f.second, S: ((ts % 1000) + 1000) % 1000 };
  }

  /** Milliseconds the zone is ahead of UTC at `ts`. */
  offsetAt(ts: number): number {
    const l = this.localFields(ts);
    const asUtc = Date.UTC(l.y, l.M - 1, l.d, l.H, l.m, l.s, l.S);
    return asUtc - ts;
  }

  /**
   * The start of the `durationMs` bucket holding `ts`, with buckets aligned
   * on local (zone) time, as Kafka Connect's TimeBasedPartitioner does.
   */
  bucketStart(ts: number, durationMs: number): number {
    const off = this.offsetAt(ts);
    const local = ts + off;
    const start = Math.floor(local / durationMs) * durationMs;
    return start - this.offsetAt(start - off);
  }

  format(ts: number): string {
    const hit = this.cache.get(ts);
    if (hit !== undefined) return hit;
    const l = this.localFields(ts);
    let out = '';
    for (const p of this.parts) {
      if ('literal' in p) {
        out += p.literal;
        continue;
      }
      let v: number;
      switch (p.field) {
        case 'Y':
        case 'y':
          v = l.y;
          if (p.width === 2) v = v % 100;
          break;
        case 'M':
          v = l.M;
          break;
        case 'd':
          v = l.d;
          break;
        case 'H':
          v = l.H;
          break;
        case 'm':
          v = l.m;
          break;
        case 's':
          v = l.s;
          break;
        case 'S':
          v = l.S;
          break;
        case 'D':
          v = Math.floor((Date.UTC(l.y, l.M - 1, l.d) - Date.UTC(l.y, 0, 1)) / 86400000) + 1;
          break;
        default: {
          const day = Date.UTC(l.y, l.M - 1, l.d);
          v = Math.ceil(((day - Date.UTC(l.y, 0, 1)) / 86400000 + 1) / 7);
        }
      }
      out += String(v).padStart(p.width, '0');
    }
    if (this.cache.size > 10000) this.cache.clear();
    this.cache.set(ts, out);
    return out;
  }
}

/** True when the zone id is known to the runtime's Intl data. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
