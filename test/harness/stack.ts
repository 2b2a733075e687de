// @ts-expect-error: the stack scripts are plain JavaScript without types
import { up } from '../../scripts/stack/index.mjs';

const started = new Map<string, Promise<unknown>>();

/** Makes sure these local servers run (idempotent; `npm test` has usually started them already). */
export async function requireStack(...names: string[]): Promise<void> {
  await Promise.all(
    names.map((n) => {
      let p = started.get(n);
      if (!p) {
        p = (up as (names: string[], opts: object) => Promise<unknown>)([n], { log: () => undefined });
        started.set(n, p);
      }
      return p;
    }),
  );
}
