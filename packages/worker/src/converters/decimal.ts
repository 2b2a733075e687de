import { DataError } from '@ferry/core';

/**
 * Kafka Connect's Decimal is a java.math.BigDecimal: an unscaled integer and a
 * scale (value = unscaled × 10^-scale), the scale fixed by the schema. In ferry
 * a Decimal value is a decimal string; these helpers convert between that
 * string, the unscaled big-endian two's-complement bytes Kafka Connect writes
 * by default, and the text BigDecimal.toString() gives (decimal.format=NUMERIC).
 */

const DECIMAL_TEXT = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** The unscaled value of a decimal string (plain or exponent notation) at `scale`. */
export function unscaledValue(value: string, scale: number): bigint {
  const m = DECIMAL_TEXT.exec(value.trim());
  if (!m || (!m[2] && !m[3])) throw new DataError(`${JSON.stringify(value)} is not a decimal number`);
  const digits = (m[2] ?? '') + (m[3] ?? '');
  let unscaled = BigInt(digits || '0');
  // digits × 10^-(fraction length) × 10^exponent, brought to 10^-scale
  const shift = scale - (m[3]?.length ?? 0) + Number(m[4] ?? 0);
  if (shift >= 0) unscaled *= 10n ** BigInt(shift);
  else {
    const div = 10n ** BigInt(-shift);
    if (unscaled % div !== 0n) throw new DataError(`Decimal ${value} has more digits than the schema's scale ${scale} allows`);
    unscaled /= div;
  }
  return m[1] === '-' ? -unscaled : unscaled;
}

/** The decimal string ferry uses for a Decimal value: plain notation, exactly max(scale, 0) fraction digits. */
export function decimalText(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  } else if (scale < 0 && digits !== '0') {
    digits += '0'.repeat(-scale);
  }
  return neg ? `-${digits}` : digits;
}

/** Java's BigDecimal.toString() of unscaled × 10^-scale (what Jackson writes for a DecimalNode). */
export function javaBigDecimalString(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const coeff = (neg ? -unscaled : unscaled).toString();
  const sign = neg ? '-' : '';
  if (scale === 0) return sign + coeff;
  const adjusted = coeff.length - 1 - scale;
  if (scale > 0 && adjusted >= -6) {
    const pad = scale - coeff.length;
    return pad >= 0 ? `${sign}0.${'0'.repeat(pad)}${coeff}` : `${sign}${coeff.slice(0, -scale)}.${coeff.slice(-scale)}`;
  }
  const mantissa = coeff.length > 1 ? `${coeff[0]}.${coeff.slice(1)}` : coeff;
  return adjusted === 0 ? sign + mantissa : `${sign}${mantissa}E${adjusted > 0 ? '+' : ''}${adjusted}`;
}

/** A decimal string at `scale`, in the text Kafka Connect's JsonConverter writes with decimal.format=NUMERIC. */
export function decimalToNumericJson(value: string, scale: number): string {
  return javaBigDecimalString(unscaledValue(value, scale), scale);
}

/** Any decimal text (e.g. a JSON number's source, "1E-10") as ferry's decimal string at `scale`. */
export function normalizeDecimal(value: string, scale: number): string {
  return decimalText(unscaledValue(value, scale), scale);
}

export function decimalToBase64(value: string, scale: number): string {
  return unscaledBytes(value, scale).toString('base64');
}

export function decimalFromBase64(b64: string, scale: number): string {
  return bytesToDecimal(Buffer.from(b64, 'base64'), scale);
}

/** The unscaled value as Java's BigInteger.toByteArray(): minimal big-endian two's complement. */
export function unscaledBytes(value: string, scale: number): Buffer {
  const unscaled = unscaledValue(value, scale);
  let hex = (unscaled < 0n ? -unscaled - 1n : unscaled).toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  if (unscaled < 0n) for (let i = 0; i < bytes.length; i++) bytes[i] = ~bytes[i]! & 0xff;
  return bytes;
}

export function bytesToDecimal(bytes: Uint8Array, scale: number): string {
  if (bytes.length === 0) return decimalText(0n, scale);
  let n = BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
  if (bytes[0]! & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return decimalText(n, scale);
}
