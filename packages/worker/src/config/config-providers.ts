import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@ferry/core';

/**
 * Kafka Connect style config providers: `${env:VAR}`, `${file:/path.properties:key}`,
 * `${directory:/dir:file}`. Configs are stored with the placeholders and
 * resolved only when a connector or task starts, so secrets are never
 * persisted or shown resolved.
 */
const PLACEHOLDER = /\$\{(\w+):([^}]*)\}/g;

function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!.replace(/\\(.)/g, '$1'), m[2]!);
    else out.set(line, '');
  }
  return out;
}

export type ProviderFn = (path: string, key: string) => string | undefined;

export const defaultProviders: Record<string, ProviderFn> = {
  env: (path, key) => process.env[key || path],
  file: (path, key) => parseProperties(readFileSync(path, 'utf8')).get(key),
  directory: (path, key) => readFileSync(join(path, key), 'utf8').replace(/\r?\n$/, ''),
};

export interface Resolved {
  config: Record<string, string>;
  /** The values that came from providers (to scrub from logs). */
  secrets: string[];
}

/** Replaces every placeholder; an unknown provider or missing value is a ConfigError naming the field. */
export function resolveConfig(config: Record<string, string>, providers: Record<string, ProviderFn> = defaultProviders): Resolved {
  const out: Record<string, string> = {};
  const secrets: string[] = [];
  const errors: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(config)) {
    if (!v.includes('${')) {
      out[k] = v;
      continue;
    }
    out[k] = v.replace(PLACEHOLDER, (whole, provider: string, inner: string) => {
      const fn = providers[provider];
      if (!fn) return whole; // not ours: left as written, as Kafka Connect does
      const cut = inner.lastIndexOf(':');
      const [path, key] = cut < 0 ? ['', inner] : [inner.slice(0, cut), inner.slice(cut + 1)];
      let value: string | undefined;
      try {
        value = fn(path, key);
      } catch (err) {
        (errors[k] ??= []).push(`Cannot resolve ${whole}: ${(err as Error).message}`);
        return whole;
      }
      if (value === undefined) {
        (errors[k] ??= []).push(`Cannot resolve ${whole}: no such value`);
        return whole;
      }
      secrets.push(value);
      return value;
    });
  }
  if (Object.keys(errors).length) throw new ConfigError(errors);
  return { config: out, secrets };
}

const SECRET_NAME = /(password|secret|api\.key|apikey|credentials|jaas\.config|token)$/i;

/** Hides secrets in a config shown to users: password-type keys, and keys named like secrets. */
export function maskConfig(config: Record<string, string>, secretKeys: Iterable<string>): Record<string, string> {
  const secret = new Set(secretKeys);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) out[k] = secret.has(k) || SECRET_NAME.test(k) ? '[hidden]' : v;
  return out;
}
