/**
 * Kafka Connect encodes a Decimal as the big-endian two's-complement bytes of
 * its unscaled value; these helpers convert between that and decimal strings.
 */
export function decimalToBase64(value: string, scale: number): string {
  return unscaledBytes(value, scale).toString('base64');
}

export function decimalFromBase64(b64: string, scale: number): string {
  return bytesToDecimal(Buffer.from(b64, 'base64'), scale);
}

export function unscaledBytes(value: string, scale: number): Buffer {
  const s = value.trim();
  const neg = s.startsWith('-');
  const [intPart, fracPart = ''] = (neg || s.startsWith('+') ? s.slice(1) : s).split('.');
  const frac = (fracPart + '0'.repeat(scale)).slice(0, scale);
  let unscaled = BigInt((intPart || '0') + frac);
  if (neg) unscaled = -unscaled;
  // minimal two's complement, big-endian
  let hex = (unscaled < 0n ? -unscaled - 1n : unscaled).toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  if (unscaled < 0n) for (let i = 0; i < bytes.length; i++) bytes[i] = ~bytes[i]! & 0xff;
  return bytes;
}

export function bytesToDecimal(bytes: Uint8Array, scale: number): string {
  if (bytes.length === 0) return '0';
  let n = BigInt('0x' + Buffer.from(bytes).toString('hex'));
  if (bytes[0]! & 0x80) n -= 1n << BigInt(bytes.length * 8);
  const neg = n < 0n;
  let digits = (neg ? -n : n).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return neg ? `-${digits}` : digits;
}
