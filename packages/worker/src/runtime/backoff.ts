import { abortableSleep } from '@ferry/core';

/** Exponential backoff with full jitter: a random wait in [base·2^(n-1)/2, base·2^(n-1)], capped. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export interface RetryOptions {
  /** Give up after this long (ms); -1 retries forever. */
  timeoutMs: number;
  baseMs?: number;
  maxDelayMs: number;
  signal?: AbortSignal;
  /** Which failures are worth another attempt. */
  retriable: (err: unknown) => boolean;
  /** Called before each wait, e.g. to show "retrying" in the task status. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn` until it succeeds, fails with a non-retriable error, the timeout passes, or `signal` aborts. */
export async function retry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!o.retriable(err) || o.signal?.aborted) throw err;
      const elapsed = Date.now() - started;
      if (o.timeoutMs >= 0 && elapsed >= o.timeoutMs) throw err;
      let delay = backoffDelay(attempt, o.baseMs ?? 100, o.maxDelayMs);
      const hinted = (err as { retryAfterMs?: number }).retryAfterMs;
      if (hinted && hinted > delay) delay = Math.min(hinted, o.maxDelayMs);
      if (o.timeoutMs >= 0) delay = Math.min(delay, Math.max(0, o.timeoutMs - elapsed));
      o.onRetry?.(err, attempt, delay);
      await abortableSleep(delay, o.signal);
      if (o.signal?.aborted) throw err;
    }
  }
}
