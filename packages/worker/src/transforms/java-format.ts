/**
 * Java's textual forms of numbers and dates where Kafka Connect's output
 * depends on them (Cast to string), so the same record gives the same text.
 */
import { compileDateFormat } from './simple-date-format.js';

const DAY_MS = 86_400_000;

/** `Double.toString`: `1.0`, `0.001`, `1.0E7`, `1.234E-5`, `NaN`, `Infinity`. */
export function javaDoubleString(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(v);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(v);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exp] = v.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exp.startsWith('+') ? exp.slice(1) : exp}`;
}

/** `Float.toString`: the shortest digits that identify the float32 value. */
export function javaFloatString(v: number): string {
  const f = Math.fround(v);
  if (!Number.isFinite(f) || f === 0) return javaDoubleString(f);
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(f.toPrecision(p));
    if (Math.fround(candidate) === f) return javaDoubleString(candidate);
  }
  return javaDoubleString(f);
}

const TIME_FORMAT = compileDateFormat("HH:mm:ss.SSS'Z'");
const DATE_FORMAT = compileDateFormat('yyyy-MM-dd');
const TIMESTAMP_FORMAT = compileDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'");

/** ISO-8601 text of a Connect Date, Time or Timestamp (chosen by `kind`, or guessed from the value as Kafka does). */
export function isoDateString(epochMs: number, kind?: 'date' | 'time' | 'timestamp'): string {
  const k = kind ?? (epochMs >= 0 && epochMs < DAY_MS ? 'time' : epochMs % DAY_MS === 0 ? 'date' : 'timestamp');
  return (k === 'time' ? TIME_FORMAT : k === 'date' ? DATE_FORMAT : TIMESTAMP_FORMAT).format(epochMs);
}
