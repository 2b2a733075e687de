import { ConnectError } from './connect-error.js';

/**
 * A transient failure (network blip, throttling, a 5xx answer): the runtime
 * retries the same operation with exponential backoff and jitter, within the
 * connector's `errors.retry.timeout`.
 */
export class RetriableError extends ConnectError {
  /** Suggested wait before the next attempt, when the remote said so (e.g. Retry-After). */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, { cause: options?.cause, code: 'RETRIABLE' });
    this.retryAfterMs = options?.retryAfterMs;
  }
}
