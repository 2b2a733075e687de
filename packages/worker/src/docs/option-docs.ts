/**
 * Option tables generated from the `defineConfig` declarations: the README's
 * worker options and each connector's options in docs/connectors/*.md. The
 * files hold marked regions that only this module writes; a test fails when
 * a file differs from what it would write (drift).
 */
import type { ConfigDef, ConfigKeyInfo, ConnectorPlugin } from '@ferry/core';
import { WorkerConfigDef } from '../config/worker-config.js';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function defaultOf(d: ConfigKeyInfo): string {
  if (d.required) return '*required*';
  if (d.default_value === null) return '';
  return d.default_value === '' ? '`""`' : `\`${cell(d.default_value)}\``;
}

/** A markdown table of every option of `def`, in declaration order. */
export function optionTable(def: ConfigDef<any>): string {
  const rows = def.describe().map((d) => `| \`${d.name}\` | ${d.type} | ${defaultOf(d)} | ${cell(d.documentation)} |`);
  return ['| Option | Type | Default | Description |', '|---|---|---|---|', ...rows].join('\n');
}

const begin = (id: string) => `<!-- generated:${id} (from the config declaration; edit the declaration, then run npm run docs) -->`;
const END = '<!-- /generated -->';

/** Replaces the content of every `generated:<id>` region of `text` with `render(id)`; unknown ids are an error. */
export function renderRegions(text: string, render: (id: string) => string | undefined, file: string): string {
  const re = /<!-- generated:([^ ]+) [^>]*-->\n[\s\S]*?<!-- \/generated -->/g;
  return text.replace(re, (_m, id: string) => {
    const body = render(id);
    if (body === undefined) throw new Error(`${file}: no generator for region ${id}`);
    return `${begin(id)}\n${body}\n${END}`;
  });
}

/** The body of a region: `worker-options`, or `options:<PluginClass>`. */
export function regionBody(id: string, plugins: ConnectorPlugin<any>[]): string | undefined {
  if (id === 'worker-options') return optionTable(WorkerConfigDef);
  const m = /^options:(.+)$/.exec(id);
  if (!m) return undefined;
  const p = plugins.find((x) => x.className === m[1]);
  return p ? optionTable(p.config) : undefined;
}

/** Ids of the regions of `text`. */
export function regionIds(text: string): string[] {
  return [...text.matchAll(/<!-- generated:([^ ]+) /g)].map((m) => m[1]!);
}
