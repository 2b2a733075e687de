import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** Calls `load` now and every `ms`; `reload` forces a call. */
export function usePoll<T>(load: () => Promise<T>, ms: number, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(async () => {
    try {
      setData(await loadRef.current());
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  }, []);
  useEffect(() => {
    void reload();
    const t = setInterval(reload, ms);
    return () => clearInterval(t);
  }, deps);
  return { data, error, reload };
}

export function StateBadge(props: { state?: string }) {
  const s = props.state ?? 'UNKNOWN';
  return html`<span class=${`badge ${s.toLowerCase()}`} data-testid="state">${s}</span>`;
}

export const fmtRate = (r: number | null | undefined) => (r === null || r === undefined ? '-' : r >= 100 ? r.toFixed(0) : r.toFixed(1));
