import { ConfigError, type Converter, type HeaderConverter } from '@ferry/core';
import type { PluginRegistry } from '../plugins/registry.js';

export interface ConverterSet {
  key: Converter;
  value: Converter;
  header: HeaderConverter;
  keyClass: string;
  valueClass: string;
  headerClass: string;
}

function subConfig(config: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/**
 * Builds a connector's converters: the worker's defaults, overridden by the
 * connector's own `key.converter` / `value.converter` / `header.converter`
 * and their `*.converter.<option>` settings (e.g.
 * `value.converter.schemas.enable=false`).
 */
export function buildConverters(
  connectorConfig: Record<string, string>,
  workerConfig: Record<string, string>,
  registry: PluginRegistry,
): ConverterSet {
  const pick = (name: 'key.converter' | 'value.converter' | 'header.converter') => {
    const cls = connectorConfig[name] ?? workerConfig[name];
    const options = { ...subConfig(workerConfig, `${name}.`), ...subConfig(connectorConfig, `${name}.`) };
    return { cls, options };
  };
  const k = pick('key.converter');
  const v = pick('value.converter');
  const h = pick('header.converter');
  const keyPlugin = registry.converter(k.cls ?? 'JsonConverter');
  const valuePlugin = registry.converter(v.cls ?? 'JsonConverter');
  const headerPlugin = registry.headerConverter(h.cls ?? 'SimpleHeaderConverter');
  const errors: Record<string, string[]> = {};
  if (!keyPlugin) errors['key.converter'] = [`Unknown converter class ${k.cls}`];
  if (!valuePlugin) errors['value.converter'] = [`Unknown converter class ${v.cls}`];
  if (!headerPlugin) errors['header.converter'] = [`Unknown header converter class ${h.cls}`];
  if (Object.keys(errors).length) throw new ConfigError(errors);
  const key = keyPlugin!.create();
  const value = valuePlugin!.create();
  const header = headerPlugin!.create();
  try {
    key.configure(k.options, true);
  } catch (err) {
    throw prefixed(err, 'key.converter.');
  }
  try {
    value.configure(v.options, false);
  } catch (err) {
    throw prefixed(err, 'value.converter.');
  }
  header.configure(h.options);
  return { key, value, header, keyClass: keyPlugin!.className, valueClass: valuePlugin!.className, headerClass: headerPlugin!.className };
}

function prefixed(err: unknown, prefix: string): unknown {
  if (!(err instanceof ConfigError)) return err;
  return new ConfigError(Object.fromEntries(Object.entries(err.fieldErrors).map(([k, v]) => [prefix + k, v])));
}
