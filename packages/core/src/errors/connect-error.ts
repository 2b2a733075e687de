/**
 * Stable error codes. The runtime decides what to do with a failure by its
 * code, never by its message.
 */
export type ErrorCode =
  | 'CONNECT_ERROR'
  | 'RETRIABLE'
  | 'NOT_CONNECTED'
  | 'DATA_ERROR'
  | 'CONFIG_INVALID'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'BAD_REQUEST';

/**
 * Base class of every error the platform raises on purpose.
 *
 * A connector throws a subclass to tell the runtime what to do:
 * - {@link RetriableError}: retry the same operation with backoff.
 * - {@link NotConnectedError}: reconnect, then retry.
 * - {@link DataError}: the record is bad; apply the error tolerance policy.
 * - anything else: the task fails (and may be restarted by the runtime).
 */
export class ConnectError extends Error {
  /** A stable, machine-readable code. */
  readonly code: ErrorCode;

  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? 'CONNECT_ERROR';
  }
}

/** True when `err` (or anything in its cause chain) is a ConnectError with `code`. */
export function hasErrorCode(err: unknown, code: ErrorCode): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 8; depth++) {
    if (cur instanceof ConnectError && cur.code === code) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
