/**
 * Java `SimpleDateFormat` patterns (`yyyyMMdd`, `yyyy-MM-dd'T'HH:mm:ss.SSSZ`),
 * as used by TimestampRouter and TimestampConverter, always in UTC and the
 * English locale (Kafka Connect sets the formatter's zone to UTC).
 *
 * Supported letters: G y Y M L w W D d F E u a H k K h m s S z Z X, quoted
 * text ('...') and '' for a quote. Parsing follows Java's lenient defaults:
 * the pattern's letter count only matters between adjacent number fields,
 * out-of-range values roll over, text after the pattern is ignored.
 */

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const LETTERS = 'GyYMLwWDdFEuaHkKhmsSzZX';
const DAY_MS = 86_400_000;

type Token = { lit: string } | { letter: string; count: number };

export interface DateFormat {
  readonly pattern: string;
  format(epochMs: number): string;
  /** Epoch milliseconds; throws when the text does not match. */
  parse(text: string): number;
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  let lit = '';
  const flush = () => {
    if (lit) tokens.push({ lit }), (lit = '');
  };
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i];
    if (c === "'") {
      if (pattern[i + 1] === "'") {
        lit += "'";
        i += 2;
        continue;
      }
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new Error(`Unterminated quote in date format pattern "${pattern}"`);
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") {
            lit += "'";
            j += 2;
            continue;
          }
          break;
        }
        lit += pattern[j++];
      }
      i = j + 1;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      if (!LETTERS.includes(c)) throw new Error(`Illegal pattern character '${c}' in date format pattern "${pattern}"`);
      let j = i;
      while (pattern[j] === c) j++;
      flush();
      tokens.push({ letter: c, count: j - i });
      i = j;
    } else {
      lit += c;
      i++;
    }
  }
  flush();
  return tokens;
}

function pad(n: number, width: number): string {
  const s = String(Math.abs(n));
  const p = s.length >= width ? s : '0'.repeat(width - s.length) + s;
  return n < 0 ? `-${p}` : p;
}

function isNumeric(t: Token): boolean {
  if (!('letter' in t)) return false;
  if (t.letter === 'M' || t.letter === 'L') return t.count < 3;
  return 'yYwWDdFuHkKhmsS'.includes(t.letter);
}

/** Week of year and week-based year with US rules (weeks start Sunday, week 1 holds Jan 1). */
function weekOfYear(d: Date): { week: number; year: number } {
  const year = d.getUTCFullYear();
  const dow = d.getUTCDay();
  const saturday = new Date(d.getTime() + (6 - dow) * DAY_MS);
  if (saturday.getUTCFullYear() > year) return { week: 1, year: year + 1 };
  const jan1 = new Date(0);
  jan1.setUTCFullYear(year, 0, 1);
  const doy = Math.floor((d.getTime() - jan1.getTime()) / DAY_MS);
  return { week: Math.floor((doy + jan1.getUTCDay()) / 7) + 1, year };
}

function dayOfYear(d: Date): number {
  const jan1 = new Date(0);
  jan1.setUTCFullYear(d.getUTCFullYear(), 0, 1);
  return Math.floor((d.getTime() - jan1.getTime()) / DAY_MS) + 1;
}

function formatField(letter: string, count: number, d: Date): string {
  switch (letter) {
    case 'G':
      return d.getUTCFullYear() > 0 ? 'AD' : 'BC';
    case 'y':
    case 'Y': {
      let y = letter === 'Y' ? weekOfYear(d).year : d.getUTCFullYear();
      if (y <= 0) y = 1 - y;
      return count === 2 ? pad(y % 100, 2) : pad(y, count);
    }
    case 'M':
    case 'L': {
      const m = d.getUTCMonth();
      if (count >= 4) return MONTHS[m];
      if (count === 3) return MONTHS[m].slice(0, 3);
      return pad(m + 1, count);
    }
    case 'w':
      return pad(weekOfYear(d).week, count);
    case 'W': {
      const first = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).getUTCDay();
      return pad(Math.floor((d.getUTCDate() - 1 + first) / 7) + 1, count);
    }
    case 'D':
      return pad(dayOfYear(d), count);
    case 'd':
      return pad(d.getUTCDate(), count);
    case 'F':
      return pad(Math.floor((d.getUTCDate() - 1) / 7) + 1, count);
    case 'E': {
      const name = DAYS[d.getUTCDay()];
      return count >= 4 ? name : name.slice(0, 3);
    }
    case 'u':
      return pad(d.getUTCDay() === 0 ? 7 : d.getUTCDay(), count);
    case 'a':
      return d.getUTCHours() < 12 ? 'AM' : 'PM';
    case 'H':
      return pad(d.getUTCHours(), count);
    case 'k':
      return pad(d.getUTCHours() === 0 ? 24 : d.getUTCHours(), count);
    case 'K':
      return pad(d.getUTCHours() % 12, count);
    case 'h':
      return pad(d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12, count);
    case 'm':
      return pad(d.getUTCMinutes(), count);
    case 's':
      return pad(d.getUTCSeconds(), count);
    case 'S':
      return pad(d.getUTCMilliseconds(), count);
    case 'z':
      return count >= 4 ? 'Coordinated Universal Time' : 'UTC';
    case 'Z':
      return '+0000';
    case 'X':
      return 'Z';
    default:
      throw new Error(`Unsupported pattern letter ${letter}`);
  }
}

class ParseFailure extends Error {}

function matchName(text: string, pos: number, names: string[]): { index: number; length: number } | null {
  let best: { index: number; length: number } | null = null;
  const lower = text.toLowerCase();
  names.forEach((full, index) => {
    for (const candidate of [full, full.slice(0, 3)]) {
      if (lower.startsWith(candidate.toLowerCase(), pos) && (!best || candidate.length > best.length)) best = { index, length: candidate.length };
    }
  });
  return best;
}

function parseZone(text: string, pos: number): { offsetMin: number; length: number } {
  const rest = text.slice(pos);
  if (rest[0] === 'Z' && !/^Z[a-z]/i.test(rest)) return { offsetMin: 0, length: 1 };
  const named = /^(UTC|GMT|UT)(?![A-Za-z])/.exec(rest);
  let base = 0;
  if (named) base = named[0].length;
  const off = /^([+-])(\d{2}):?(\d{2})?/.exec(rest.slice(base));
  if (off) {
    const sign = off[1] === '-' ? -1 : 1;
    return { offsetMin: sign * (Number(off[2]) * 60 + Number(off[3] ?? 0)), length: base + off[0].length };
  }
  if (named) return { offsetMin: 0, length: base };
  throw new ParseFailure('time zone expected');
}

/** Compiles a SimpleDateFormat pattern; throws on an invalid pattern. */
export function compileDateFormat(pattern: string): DateFormat {
  const tokens = tokenize(pattern);
  return {
    pattern,
    format(epochMs: number): string {
      const d = new Date(epochMs);
      let out = '';
      for (const t of tokens) out += 'lit' in t ? t.lit : formatField(t.letter, t.count, d);
      return out;
    },
    parse(text: string): number {
      try {
        return parseWith(tokens, text);
      } catch (err) {
        if (err instanceof ParseFailure) throw new Error(`value (${text}) does not match pattern (${pattern}): ${err.message}`);
        throw err;
      }
    },
  };
}

function parseWith(tokens: Token[], text: string): number {
  let pos = 0;
  let year: number | undefined;
  let month: number | undefined;
  let day: number | undefined;
  let doy: number | undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let millis = 0;
  let pm: boolean | undefined;
  let hour12: number | undefined;
  let offsetMin = 0;
  let bc = false;

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if ('lit' in t) {
      if (!text.startsWith(t.lit, pos)) throw new ParseFailure(`expected "${t.lit}" at position ${pos}`);
      pos += t.lit.length;
      continue;
    }
    const { letter, count } = t;
    if (isNumeric(t)) {
      const next = tokens[i + 1];
      const abutting = next !== undefined && isNumeric(next);
      let end = pos;
      if (abutting) end = Math.min(text.length, pos + count);
      else while (end < text.length && text[end] >= '0' && text[end] <= '9') end++;
      const digits = text.slice(pos, end);
      if (!/^\d+$/.test(digits)) throw new ParseFailure(`number expected at position ${pos}`);
      pos = end;
      const n = Number(digits);
      switch (letter) {
        case 'y':
        case 'Y':
          if (count <= 2 && digits.length === 2) {
            const start = new Date().getUTCFullYear() - 80;
            let y = Math.floor(start / 100) * 100 + n;
            if (y < start) y += 100;
            year = y;
          } else year = n;
          break;
        case 'M':
        case 'L':
          month = n - 1;
          break;
        case 'd':
          day = n;
          break;
        case 'D':
          doy = n;
          break;
        case 'H':
          hour = n;
          break;
        case 'k':
          hour = n === 24 ? 0 : n;
          break;
        case 'h':
          hour12 = n === 12 ? 0 : n;
          break;
        case 'K':
          hour12 = n;
          break;
        case 'm':
          minute = n;
          break;
        case 's':
          second = n;
          break;
        case 'S':
          millis = n;
          break;
        default:
          break; // w, W, F, u: informational, as in Java without the week fields resolving
      }
      continue;
    }
    switch (letter) {
      case 'M':
      case 'L': {
        const m = matchName(text, pos, MONTHS);
        if (!m) throw new ParseFailure(`month name expected at position ${pos}`);
        month = m.index;
        pos += m.length;
        break;
      }
      case 'E': {
        const m = matchName(text, pos, DAYS);
        if (!m) throw new ParseFailure(`day name expected at position ${pos}`);
        pos += m.length;
        break;
      }
      case 'a': {
        const s = text.slice(pos, pos + 2).toUpperCase();
        if (s !== 'AM' && s !== 'PM') throw new ParseFailure(`AM or PM expected at position ${pos}`);
        pm = s === 'PM';
        pos += 2;
        break;
      }
      case 'G': {
        const s = text.slice(pos, pos + 2).toUpperCase();
        if (s !== 'AD' && s !== 'BC') throw new ParseFailure(`era expected at position ${pos}`);
        bc = s === 'BC';
        pos += 2;
        break;
      }
      case 'z':
      case 'Z':
      case 'X': {
        const z = parseZone(text, pos);
        offsetMin = z.offsetMin;
        pos += z.length;
        break;
      }
    }
  }

  if (hour12 !== undefined) hour = hour12 + (pm ? 12 : 0);
  else if (pm && hour < 12) hour += 12;
  let y = year ?? 1970;
  if (bc) y = 1 - y;
  const d = new Date(0);
  if (doy !== undefined && month === undefined && day === undefined) d.setUTCFullYear(y, 0, doy);
  else d.setUTCFullYear(y, month ?? 0, day ?? 1);
  d.setUTCHours(hour, minute, second, millis);
  return d.getTime() - offsetMin * 60_000;
}

/** Null when `pattern` is a valid SimpleDateFormat pattern, else the reason. */
export function dateFormatError(pattern: string): string | null {
  try {
    tokenize(pattern);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
