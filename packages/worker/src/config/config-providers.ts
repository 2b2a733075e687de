import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, isAbsolute, join, resolve, sep } from 'node:path';
import { ConfigError, type FieldErrors } from '@ferry/core';

/**
 * Kafka Connect style config providers: `${env:VAR}`, `${file:/path.properties:key}`,
 * `${directory:/dir:file}`. None is active unless the worker config declares
 * it (`config.providers=file,env,directory` and
 * `config.providers.<name>.class=...`), each confined to what the operator
 * allows (`param.allowed.paths`, `param.allowlist.pattern`).
 *
 * Configs are stored with the placeholders and resolved only when a
 * connector or task starts; validation only checks that a reference exists.
 * Error messages name the reference and the path, never a value.
 */
const PLACEHOLDER = /\$\{(\w+):([^}]*)\}/g;
const HAS_PLACEHOLDER = /\$\{\w+:[^}]*\}/;

/** Keys never resolved: they identify the connector itself. */
const NOT_RESOLVED = new Set(['name', 'connector.class']);

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

/** A failure to resolve a reference; its message names paths and keys only. */
export class ConfigProviderError extends Error {}

/** One provider: returns the value for (path, key), or throws {@link ConfigProviderError}. */
export interface ConfigProvider {
  get(path: string, key: string): string;
}

/** Folders a file or directory provider may read (KIP-993), symlinks resolved. */
class AllowedPaths {
  private readonly roots: string[];

  constructor(
    private readonly option: string,
    list: string[],
  ) {
    this.roots = list.map((p) => {
      if (!isAbsolute(p)) throw new Error(`${option}: ${p} is not an absolute path`);
      const abs = resolve(p);
      return existsSync(abs) ? realpathSync(abs) : abs;
    });
  }

  /** The real path of `p` when it lies inside an allowed folder; otherwise an error naming `p`. */
  check(p: string): string {
    const denied = () => new ConfigProviderError(`Path ${p} is not allowed by ${this.option}`);
    if (!isAbsolute(p)) throw denied();
    let real = resolve(p);
    try {
      real = realpathSync(real);
    } catch {
      // does not exist: the normalized path is checked, and reading it fails later
    }
    if (!this.roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep))) throw denied();
    return real;
  }
}

function readFor(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigProviderError(`Cannot read ${what} ${path} (${code})`);
  }
}

class FileProvider implements ConfigProvider {
  constructor(private readonly allowed: AllowedPaths) {}
  get(path: string, key: string): string {
    const real = this.allowed.check(path);
    const value = parseProperties(readFor(real, 'file')).get(key);
    if (value === undefined) throw new ConfigProviderError(`No key ${key} in ${path}`);
    return value;
  }
}

class DirectoryProvider implements ConfigProvider {
  constructor(private readonly allowed: AllowedPaths) {}
  get(path: string, key: string): string {
    if (!key || basename(key) !== key || key === '..' || key === '.') throw new ConfigProviderError(`${key} is not a file name in ${path}`);
    this.allowed.check(path);
    const real = this.allowed.check(join(path, key));
    return readFor(real, 'file').replace(/\r?\n$/, '');
  }
}

class EnvProvider implements ConfigProvider {
  constructor(
    private readonly allow: RegExp,
    private readonly option: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}
  get(path: string, key: string): string {
    const name = key || path;
    if (!this.allow.test(name)) throw new ConfigProviderError(`Environment variable ${name} is not allowed by ${this.option}`);
    const v = this.env[name];
    if (v === undefined) throw new ConfigProviderError(`Environment variable ${name} is not set`);
    return v;
  }
}

const CLASSES: Record<string, 'file' | 'env' | 'directory'> = {
  'org.apache.kafka.common.config.provider.FileConfigProvider': 'file',
  FileConfigProvider: 'file',
  file: 'file',
  'org.apache.kafka.common.config.provider.EnvVarConfigProvider': 'env',
  EnvVarConfigProvider: 'env',
  env: 'env',
  'org.apache.kafka.common.config.provider.DirectoryConfigProvider': 'directory',
  DirectoryConfigProvider: 'directory',
  directory: 'directory',
};

/** One resolved reference: the placeholder as written and the value it stands for. */
export interface Reference {
  placeholder: string;
  value: string;
}

export interface Resolved {
  config: Record<string, string>;
  /** The values that came from providers (to scrub from logs). */
  secrets: string[];
  references: Reference[];
}

/** True when a value contains a `${provider:...}` reference. */
export function hasReference(value: string | undefined): boolean {
  return value !== undefined && value.includes('${') && HAS_PLACEHOLDER.test(value);
}

function splitRef(inner: string): [string, string] {
  const cut = inner.lastIndexOf(':');
  return cut < 0 ? ['', inner] : [inner.slice(0, cut), inner.slice(cut + 1)];
}

/** The config providers this worker declares (none by default). */
export class ConfigProviders {
  private constructor(private readonly providers: Map<string, ConfigProvider>) {}

  static none(): ConfigProviders {
    return new ConfigProviders(new Map());
  }

  /**
   * Builds the providers the worker config declares. Throws (the worker
   * refuses to start) on an unknown class, or a file/directory provider
   * without `param.allowed.paths`, or an env provider without
   * `param.allowlist.pattern`: Ferry never reads the whole host by default.
   */
  static fromWorkerConfig(raw: Record<string, string>, env: NodeJS.ProcessEnv = process.env): ConfigProviders {
    const names = (raw['config.providers'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const map = new Map<string, ConfigProvider>();
    for (const name of names) {
      const prefix = `config.providers.${name}`;
      const cls = raw[`${prefix}.class`]?.trim();
      if (!cls) throw new Error(`config.providers names "${name}" but ${prefix}.class is not set`);
      const kind = CLASSES[cls];
      if (!kind) throw new Error(`${prefix}.class: unknown config provider ${cls}; known: FileConfigProvider, EnvVarConfigProvider, DirectoryConfigProvider`);
      if (kind === 'env') {
        const opt = `${prefix}.param.allowlist.pattern`;
        const pattern = raw[opt];
        if (pattern === undefined || pattern.trim() === '') {
          throw new Error(`${opt} is required: a regular expression of the environment variables this provider may read (".*" for all)`);
        }
        let re: RegExp;
        try {
          re = new RegExp(`^(?:${pattern})$`);
        } catch (err) {
          throw new Error(`${opt}: ${(err as Error).message}`);
        }
        map.set(name, new EnvProvider(re, opt, env));
      } else {
        const opt = `${prefix}.param.allowed.paths`;
        const list = (raw[opt] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        if (list.length === 0) throw new Error(`${opt} is required: the comma-separated absolute folders this provider may read`);
        const allowed = new AllowedPaths(opt, list);
        map.set(name, kind === 'file' ? new FileProvider(allowed) : new DirectoryProvider(allowed));
      }
    }
    return new ConfigProviders(map);
  }

  names(): string[] {
    return [...this.providers.keys()];
  }

  /**
   * Resolves every reference. A reference to an undeclared provider, a
   * disallowed path or a missing value is a ConfigError naming the field and
   * the reference, never a resolved value.
   */
  resolve(config: Record<string, string>): Resolved {
    const out: Record<string, string> = {};
    const secrets: string[] = [];
    const references: Reference[] = [];
    const errors: FieldErrors = {};
    for (const [k, v] of Object.entries(config)) {
      if (NOT_RESOLVED.has(k) || !hasReference(v)) {
        out[k] = v;
        continue;
      }
      out[k] = v.replace(PLACEHOLDER, (whole: string, provider: string, inner: string) => {
        try {
          const value = this.lookup(provider, inner);
          secrets.push(value);
          references.push({ placeholder: whole, value });
          return value;
        } catch (err) {
          (errors[k] ??= []).push(`Cannot resolve ${whole}: ${(err as Error).message}`);
          return whole;
        }
      });
    }
    if (Object.keys(errors).length) throw new ConfigError(errors);
    return { config: out, secrets, references };
  }

  /**
   * Resolves the worker config itself (as Kafka Connect does: e.g. a keystore
   * password from a file); the config.providers.* options stay as written.
   */
  resolveWorkerConfig(raw: Record<string, string>): Resolved {
    const own: Record<string, string> = {};
    const rest: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) (k.startsWith('config.providers') ? own : rest)[k] = v;
    const r = this.resolve(rest);
    return { ...r, config: { ...r.config, ...own } };
  }

  /** Checks that every reference resolves, without returning any value (config/validate). */
  check(config: Record<string, string>): FieldErrors {
    try {
      this.resolve(config);
      return {};
    } catch (err) {
      if (err instanceof ConfigError) return err.fieldErrors;
      throw err;
    }
  }

  private lookup(provider: string, inner: string): string {
    const p = this.providers.get(provider);
    if (!p) throw new ConfigProviderError(`config provider "${provider}" is not declared in this worker's config.providers`);
    const [path, key] = splitRef(inner);
    try {
      return p.get(path, key);
    } catch (err) {
      if (err instanceof ConfigProviderError) throw err;
      throw new ConfigProviderError(`provider ${provider} failed (${(err as Error).name})`);
    }
  }
}

/** Replaces every reference with the given providers (none by default: nothing resolves). */
export function resolveConfig(config: Record<string, string>, providers: ConfigProviders = ConfigProviders.none()): Resolved {
  return providers.resolve(config);
}

/**
 * Puts the placeholders back into task configs a connector derived from its
 * resolved config, so task configs are stored and shown unresolved (as
 * Kafka Connect's herders do): by key when the task value equals the
 * connector's resolved value, and wherever a resolved value (3+ characters)
 * appears inside a task value. The result resolves back to the same task config.
 */
export function restorePlaceholders(
  task: Record<string, string>,
  raw: Record<string, string>,
  resolved: Record<string, string>,
  references: Reference[],
): Record<string, string> {
  const refs = references.filter((r) => r.value.length >= 3).sort((a, b) => b.value.length - a.value.length);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(task)) {
    if (raw[k] !== undefined && hasReference(raw[k]) && v === resolved[k]) {
      out[k] = raw[k]!;
      continue;
    }
    let s = v;
    for (const r of refs) if (s.includes(r.value)) s = s.split(r.value).join(r.placeholder);
    out[k] = s;
  }
  return out;
}

const SECRET_NAME = /(password|secret|api\.key|apikey|credentials|jaas\.config|token)$/i;

/** Whether a key is shown as `[hidden]`: a password-type key, or one named like a secret. */
export function isSecretKey(key: string, secretKeys: Iterable<string>): boolean {
  return SECRET_NAME.test(key) || new Set(secretKeys).has(key);
}

/** Hides secrets in a config shown to users: password-type keys, and keys named like secrets. */
export function maskConfig(config: Record<string, string>, secretKeys: Iterable<string>): Record<string, string> {
  const secret = new Set(secretKeys);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) out[k] = secret.has(k) || SECRET_NAME.test(k) ? '[hidden]' : v;
  return out;
}
