import { api } from './api.js';

/** Per connector: records moved (written by a source, handed to a sink), their rate, and sink consumer lag. */
export interface ConnectorMetrics {
  total: number;
  /** null until two samples were seen. */
  rate: number | null;
  lag: number | null;
}

export interface Sample {
  t: number;
  byConnector: Map<string, ConnectorMetrics>;
}

const HISTORY = 150;
export const history: Sample[] = [];
const listeners = new Set<() => void>();
let timer: number | undefined;

/** Parses the Prometheus text format: name, labels, value. */
export function parseMetrics(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

async function poll(): Promise<void> {
  try {
    const text = await api<string>('GET', '/metrics');
    const t = Date.now() / 1000;
    const totals = new Map<string, number>();
    const lags = new Map<string, number>();
    for (const s of parseMetrics(text)) {
      const c = s.labels.connector;
      if (!c) continue;
      if (s.name === 'ferry_source_record_write_total' || s.name === 'ferry_sink_record_send_total') totals.set(c, (totals.get(c) ?? 0) + s.value);
      if (s.name === 'ferry_sink_consumer_lag') lags.set(c, (lags.get(c) ?? 0) + s.value);
    }
    const prev = history[history.length - 1];
    const byConnector = new Map<string, ConnectorMetrics>();
    for (const c of new Set([...totals.keys(), ...lags.keys()])) {
      const total = totals.get(c) ?? 0;
      const before = prev?.byConnector.get(c);
      const rate = before && t > prev!.t ? Math.max(0, (total - before.total) / (t - prev!.t)) : null;
      byConnector.set(c, { total, rate, lag: lags.has(c) ? lags.get(c)! : null });
    }
    history.push({ t, byConnector });
    if (history.length > HISTORY) history.shift();
    for (const l of listeners) l();
  } catch {
    /* shown by the pages' own requests */
  }
}

/** Subscribes to new samples (polling /metrics every 2 s while anyone listens). */
export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  if (timer === undefined) {
    void poll();
    timer = window.setInterval(poll, 2000);
  }
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

export function latest(connector: string): ConnectorMetrics | undefined {
  return history[history.length - 1]?.byConnector.get(connector);
}
