import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets old space grow past the live heap before the next full
 * collection, in percent: 100 lets it reach twice the live data. V8's own
 * factor goes up to four times at high allocation rates, so a worker moving
 * records at full speed held two to three times its live heap in garbage
 * (peak RSS 310-340 MiB against about 40 MiB live, kafka -> no-op sink);
 * at 100 the same run peaks at 230 MiB, for about 5% of throughput in the
 * median of four runs (single runs vary by more than that).
 */
export const HEAP_GROWING_PERCENT = 100;

/** The worker's heap growth factor, unless the command line or NODE_OPTIONS set one of their own. */
export function boundHeapGrowth(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
  percent = HEAP_GROWING_PERCENT,
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  const own = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a));
  if (own) return false;
  // Read by V8 at every full collection, so setting it after start applies from the next one.
  setFlags(`--heap-growing-percent=${percent}`);
  return true;
}
