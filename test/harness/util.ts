import { randomBytes } from 'node:crypto';

/** A unique, topic-safe name for this test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Polls `fn` until it returns a truthy value (returned), or fails after `timeoutMs` with the last value seen. */
export async function waitFor<T>(fn: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30000);
  let last: unknown;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const detail = lastErr ? ` (last error: ${(lastErr as Error).message})` : ` (last value: ${JSON.stringify(last)?.slice(0, 500)})`;
      throw new Error(`Timed out waiting for ${opts.message ?? 'condition'}${detail}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
