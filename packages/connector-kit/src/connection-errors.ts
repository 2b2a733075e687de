/**
 * One classification of "the server could not be reached / the connection
 * broke" for every client library: Node socket codes, DNS codes and undici's
 * connect/socket codes, looked up on the error and along its `cause` chain.
 */
export const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** The first `code` on the error or its causes that names a connection failure, or undefined. */
export function connectionErrorCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 8; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return code;
    const errors = (cur as { errors?: unknown }).errors; // AggregateError (happy eyeballs)
    if (Array.isArray(errors)) for (const e of errors) if (connectionErrorCode(e)) return connectionErrorCode(e);
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when the error (or one of its causes) is a connection failure worth a reconnect and retry. */
export function isConnectionError(err: unknown): boolean {
  return connectionErrorCode(err) !== undefined;
}
