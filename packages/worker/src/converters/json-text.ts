/**
 * JSON text exactly as Kafka Connect's JsonConverter writes it (Jackson on the
 * JVM), and a reader that keeps int64 and long decimal numbers exact.
 */

// ---------------------------------------------------------------- strings

/** Escapes JSON.stringify leaves that Jackson writes differently, or a literal `\u` (cheap pre-check). */
const MAY_DIFFER = /\\u|[\ud800-\udfff]/;
/** An escape sequence (consumed whole, so an escaped backslash is never read as the start of one), or a UTF-16 surrogate. */
const ESCAPE_OR_SURROGATE = /\\u([0-9a-f]{4})|\\.|[\ud800-\udfff]/g;

function jacksonEscape(m: string, hex: string | undefined): string {
  if (hex !== undefined) return `\\u${hex.toUpperCase()}`;
  if (m.length === 2) return m;
  return `\\u${m.charCodeAt(0).toString(16).toUpperCase()}`;
}

/**
 * Turns JSON.stringify output into Jackson's: control characters as `\u00XX`
 * with upper-case hex, and characters outside the BMP as an escaped surrogate
 * pair (`\uD83D\uDE00`), as Jackson's UTF-8 generator writes them. Everything
 * else (short escapes, raw non-ASCII, U+2028, DEL) is already the same.
 */
export function toJacksonText(json: string): string {
  return MAY_DIFFER.test(json) ? json.replace(ESCAPE_OR_SURROGATE, jacksonEscape) : json;
}

/** A JSON string literal as Jackson writes it. */
export function jsonString(s: string): string {
  return toJacksonText(JSON.stringify(s));
}

// ---------------------------------------------------------------- numbers

/**
 * Java's Double.toString / Float.toString layout of a finite number, given its
 * shortest significant digits and decimal exponent: plain notation with at
 * least one fraction digit for 10^-3 <= |x| < 10^7, else d.dddE±n.
 */
function javaLayout(x: number, mantissa: string, exponent: number): string {
  const neg = mantissa[0] === '-';
  const digits = (neg ? mantissa.slice(1) : mantissa).replace('.', '').replace(/0+$/, '') || '0';
  const sign = neg ? '-' : '';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const int = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    return `${sign}${int}.${digits.slice(exponent + 1) || '0'}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}E${exponent}`;
}

function splitExponential(s: string): [string, number] {
  const e = s.indexOf('e');
  return [s.slice(0, e), Number(s.slice(e + 1))];
}

/**
 * The shortest digits that identify `x` among doubles (JavaScript's own),
 * except that where one digit would do, Java writes the two-digit decimal
 * closest to x (4.9E-324, not 5.0E-324).
 */
function javaDigits(x: number, shortest: string): [string, number] {
  const [mantissa, exponent] = splitExponential(shortest);
  if (mantissa.replace(/^-/, '').length === 1) return splitExponential(x.toExponential(1));
  return [mantissa, exponent];
}

/** Java's Double.toString(x) for a finite x, as Jackson writes a double. */
export function javaDouble(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  if (Number.isInteger(x) && Math.abs(x) < 1e7) return `${x}.0`;
  const [mantissa, exponent] = javaDigits(x, x.toExponential());
  return javaLayout(x, mantissa, exponent);
}

/** Java's Float.toString of x rounded to float32, as Jackson writes a float. */
export function javaFloat(value: number): string {
  const f = Math.fround(value);
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  if (Number.isInteger(f) && Math.abs(f) < 1e7) return `${f}.0`;
  let shortest = f.toExponential(8);
  for (let p = 0; p < 8; p++) {
    const s = f.toExponential(p);
    if (Math.fround(Number(s)) === f) {
      shortest = evenOnTie(f, p) ?? s;
      break;
    }
  }
  const [mantissa, exponent] = javaDigits(f, shortest);
  return javaLayout(f, mantissa, exponent);
}

/**
 * toExponential(p) rounds a tie up; Java takes the candidate with the even
 * last digit. A float's decimal expansion is exact and short when it is a
 * tie, so `f.toExponential(p + 25)` shows it: the digits after the first
 * p + 1 are then 5 followed by zeros. Returns the rounded-down candidate
 * when that is the even one (and still reads back as f), else undefined.
 */
function evenOnTie(f: number, p: number): string | undefined {
  const exact = f.toExponential(p + 25);
  const neg = exact[0] === '-';
  const [mantissa, exponent] = splitExponential(neg ? exact.slice(1) : exact);
  const digits = mantissa.replace('.', '');
  if (!/^50*$/.test(digits.slice(p + 1))) return undefined;
  if (Number(digits[p]) % 2 !== 0) return undefined;
  const down = `${neg ? '-' : ''}${digits[0]}${p > 0 ? '.' : ''}${digits.slice(1, p + 1)}e${exponent}`;
  return Math.fround(Number(down)) === f ? down : undefined;
}

/** A JSON number, or Jackson's quoted "NaN" / "Infinity" / "-Infinity". */
export function floatingJson(x: number, float32: boolean): string {
  if (!Number.isFinite(x)) return `"${x}"`;
  return float32 ? javaFloat(x) : javaDouble(x);
}

// ---------------------------------------------------------------- reading

/**
 * A JSON number with a fraction or exponent, kept as its source text so a
 * Decimal reads exactly; only {@link parseJsonExact} hands these out, and
 * only to schema-directed conversion.
 */
export class ExactNumber {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

/** An integer token of 16 or more digits: maybe past 2^53. */
const LONG_INTEGER = /(?<![\d.])\d{16,}(?![\d.eE])/;

/**
 * The string a JSON text holds when it is one string token without escapes
 * (`"k123"`, the usual record key), read straight from the bytes; undefined
 * for any other text, which goes through JSON.parse. For such texts this is
 * exactly what JSON.parse(bytes.toString('utf8')) returns, at a fifth of the
 * cost: a `"` or `\` inside means escapes or an invalid text, a byte below
 * 0x20 an invalid one, and bytes of multi-byte UTF-8 sequences are all >= 0x80.
 */
export function plainJsonString(bytes: Buffer): string | undefined {
  const last = bytes.length - 1;
  if (last < 1 || bytes[0] !== 0x22 || bytes[last] !== 0x22) return undefined;
  for (let i = 1; i < last; i++) {
    const c = bytes[i]!;
    if (c === 0x22 || c === 0x5c || c < 0x20) return undefined;
  }
  return bytes.toString('utf8', 1, last);
}

/** True when the text may hold an integer a double cannot hold exactly (cheap pre-check for {@link parseJsonExact}). */
export function hasLongInteger(text: string): boolean {
  // Every run of 16 digits covers one position of each residue modulo 16, so probing
  // positions 15, 31, 47, ... finds every such run while reading a sixteenth of the
  // text; a probe on a digit measures its run, and only a run of 16 pays for the
  // exact check with lookarounds (a regular expression alone retries at every
  // digit of every 13-digit timestamp).
  const n = text.length;
  for (let i = 15; i < n; i += 16) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let start = i;
    while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
    let end = i + 1;
    while (end < n && isDigit(text.charCodeAt(end))) end++;
    if (end - start >= 16) return LONG_INTEGER.test(text);
  }
  return false;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * JSON.parse, except that integers past ±2^53 come back as bigint and, with
 * `keepText`, numbers with a fraction or exponent as {@link ExactNumber}.
 * Slower than JSON.parse: for the texts that need it.
 */
export function parseJsonExact(text: string, keepText: boolean): unknown {
  return new ExactReader(text, keepText).document();
}

/** Replaces the {@link ExactNumber}s of a value read with `keepText` by plain numbers. */
export function plainNumbers(v: unknown): unknown {
  if (v instanceof ExactNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(plainNumbers);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = plainNumbers(o[k]);
  }
  return v;
}

const WS = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

class ExactReader {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly keepText: boolean,
  ) {}

  document(): unknown {
    const v = this.value();
    this.ws();
    if (this.pos !== this.text.length) this.fail('Unexpected data after the JSON value');
    return v;
  }

  private fail(msg: string): never {
    throw new SyntaxError(`${msg} at position ${this.pos}`);
  }

  private ws(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.text);
    this.pos = WS.lastIndex;
  }

  private match(re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m) this.pos = re.lastIndex;
    return m;
  }

  private value(): unknown {
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail(c === undefined ? 'Unexpected end of JSON input' : `Unexpected token ${c}`);
  }

  private string(): string {
    const m = this.match(STRING);
    if (!m) this.fail('Bad string');
    return JSON.parse(m[0]) as string;
  }

  private number(): unknown {
    const m = this.match(NUMBER);
    if (!m) this.fail('Bad number');
    const t = m[0];
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(t);
      return Number.isSafeInteger(n) ? n : BigInt(t);
    }
    return this.keepText ? new ExactNumber(t) : Number(t);
  }

  private array(): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.fail('Expected , or ]');
    }
  }

  private object(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('Expected a property name');
      const key = this.string();
      this.ws();
      if (this.text[this.pos++] !== ':') this.fail('Expected :');
      const v = this.value();
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.ws();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.fail('Expected , or }');
    }
  }
}
