import { stringify as toYaml } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** Renders rows as an aligned text table (the header in capitals). */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))];
  const widths = headers.map((_h, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** json and yaml print the data as is; table uses the given renderer. */
export function render(format: OutputFormat, data: unknown, asTable: () => string): string {
  if (format === 'json') return JSON.stringify(data, null, 2) + '\n';
  if (format === 'yaml') return toYaml(data);
  return asTable();
}

export interface ConfigChange {
  key: string;
  kind: 'add' | 'change' | 'remove';
  from?: string;
  to?: string;
  /** A stored secret cannot be read back: the value is sent, and the worker changes nothing when it is the same. */
  uncompared?: boolean;
}

/**
 * The changes from the current config to the desired one. Secret options
 * (password type, or read back as `[hidden]`) are compared only when the
 * desired value is given, and never shown.
 */
export function configDiff(current: Record<string, string> | undefined, desired: Record<string, string>, secret: Set<string>): ConfigChange[] {
  const out: ConfigChange[] = [];
  const cur = current ?? {};
  for (const key of [...new Set([...Object.keys(cur), ...Object.keys(desired)])].sort()) {
    if (key === 'name') continue;
    const a = cur[key];
    const b = desired[key];
    const hidden = secret.has(key) || a === '[hidden]';
    if (a === undefined && b !== undefined) out.push({ key, kind: 'add', to: hidden ? '[hidden]' : b });
    else if (a !== undefined && b === undefined) out.push({ key, kind: 'remove', from: hidden ? '[hidden]' : a });
    else if (a !== b && !(a === '[hidden]')) out.push({ key, kind: 'change', from: hidden ? '[hidden]' : a, to: hidden ? '[hidden]' : b });
    else if (a === '[hidden]' && b !== undefined) out.push({ key, kind: 'change', from: '[hidden]', to: '[hidden]', uncompared: true });
  }
  return out;
}

export function formatDiff(name: string, created: boolean, changes: ConfigChange[]): string {
  if (!created && changes.length === 0) return `= ${name}: unchanged\n`;
  const lines = [`${created ? '+' : '~'} ${name}${created ? ' (new)' : ''}`];
  for (const c of changes) {
    if (c.kind === 'add') lines.push(`    + ${c.key}: ${c.to}`);
    else if (c.kind === 'remove') lines.push(`    - ${c.key}: ${c.from}`);
    else if (c.uncompared) lines.push(`    ~ ${c.key}: [hidden] (secret, cannot be compared: sent; unchanged if equal)`);
    else lines.push(`    ~ ${c.key}: ${c.from} -> ${c.to}`);
  }
  return lines.join('\n') + '\n';
}
