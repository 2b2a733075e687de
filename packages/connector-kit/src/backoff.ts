/**
 * Exponential backoff with jitter, the one definition every connector and
 * the runtime use: attempt 1 waits about `baseMs`, each further attempt
 * doubles it up to `maxMs`, and the wait is drawn uniformly from
 * [half, all] of that so tasks that failed together do not retry in lockstep.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}
