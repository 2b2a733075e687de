import { z } from 'zod';
import { ConfigError, type FieldErrors } from './errors/index.js';

/**
 * One declaration per plugin describes every option: its type, default, doc
 * and checks. From it the runtime derives parsing, `config/validate`, the
 * `connector-plugins/{p}/config` answer, CLI lint and generated docs.
 *
 * Raw configs are maps of strings (as in Kafka Connect: `"tasks.max": "2"`);
 * numbers and booleans given as JSON values are accepted too.
 *
 * @example
 * ```ts
 * const MyConfig = defineConfig({
 *   'kafka.topic': Config.string({ doc: 'Topic to write to.', importance: 'HIGH' }),
 *   'batch.size': Config.int({ doc: 'Rows per batch.', default: 1000, min: 1 }),
 * });
 * const cfg = MyConfig.parse(props); // cfg['batch.size'] is a number
 * ```
 */

/** Kafka Connect's ConfigDef types, as shown by the REST API. */
export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';
export type Importance = 'HIGH' | 'MEDIUM' | 'LOW';
export type Width = 'NONE' | 'SHORT' | 'MEDIUM' | 'LONG';

/** Metadata every option carries. */
export interface FieldOptions<T> {
  /** What the option does; shown in REST answers and generated docs. */
  doc: string;
  /** Default value; an option with no default and not `optional` is required. */
  default?: T;
  /** The option may be absent (its parsed value is then `undefined`). */
  optional?: boolean;
  /** @defaultValue 'MEDIUM' */
  importance?: Importance;
  group?: string;
  displayName?: string;
  width?: Width;
  /** A sample value for docs. */
  example?: string;
  /** Other options whose meaning depends on this one. */
  dependents?: string[];
  /** Older names accepted for this option. */
  aliases?: string[];
  /**
   * The option says where the connector connects (a URL, host, port,
   * endpoint). A stored secret sent back as `"[hidden]"` is kept only when
   * no such option changes in the same request, so a caller cannot point the
   * connector at their own server and receive the secret.
   * @defaultValue true for names matching {@link CONNECTION_OPTION_PATTERN}, false otherwise
   */
  connectionIdentifying?: boolean;
}

/**
 * Option names treated as connection-identifying unless their declaration
 * says otherwise: `*.url`, `*.uri`, `*.port`, anything with `host`,
 * `endpoint`, `servers` or `address` in its name, and `connection.*`.
 */
export const CONNECTION_OPTION_PATTERN = /(^|\.)(urls?|uris?|port)$|host|endpoint|servers|address|^connection\./i;

/** A declared option: metadata plus the zod schema that parses a raw value. */
export interface ConfigField<T> {
  readonly type: ConfigType;
  readonly options: FieldOptions<T>;
  readonly required: boolean;
  readonly recommended: readonly string[];
  /** Parses a raw (string or JSON) value; `undefined` means absent. */
  readonly schema: z.ZodType<T>;
}

type Raw = Record<string, unknown>;

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function field<T>(
  type: ConfigType,
  schema: z.ZodType<T>,
  opts: FieldOptions<T>,
  recommended: readonly string[] = [],
): ConfigField<T> {
  return { type, options: opts, required: opts.default === undefined && !opts.optional, recommended, schema };
}

const intLike = (kind: string, min?: number, max?: number) => {
  let n = z.number({ error: `must be ${kind === 'INT' ? 'an integer' : 'a number'}` });
  if (kind !== 'DOUBLE') n = n.int({ error: 'must be an integer' });
  if (min !== undefined) n = n.min(min, { error: `must be at least ${min}` });
  if (max !== undefined) n = n.max(max, { error: `must be at most ${max}` });
  return z.preprocess((v) => {
    if (typeof v === 'string') {
      const t = v.trim();
      if (t === '') return undefined;
      const num = Number(t);
      return Number.isNaN(num) ? v : num;
    }
    return v;
  }, n);
};

/** Option builders. */
export const Config = {
  string(opts: FieldOptions<string> & { pattern?: RegExp; patternHint?: string; nonEmpty?: boolean }): ConfigField<string> {
    let s = z.string({ error: 'must be a string' });
    if (opts.nonEmpty) s = s.min(1, { error: 'must not be empty' });
    if (opts.pattern) s = s.regex(opts.pattern, { error: opts.patternHint ?? `must match ${opts.pattern}` });
    return field('STRING', z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), s), opts);
  },
  /** A secret: shown as `[hidden]` in every REST answer, log line and trace. */
  password(opts: FieldOptions<string>): ConfigField<string> {
    return field('PASSWORD', z.string({ error: 'must be a string' }), opts);
  },
  int(opts: FieldOptions<number> & { min?: number; max?: number }): ConfigField<number> {
    return field('INT', intLike('INT', opts.min, opts.max) as z.ZodType<number>, opts);
  },
  long(opts: FieldOptions<number> & { min?: number; max?: number }): ConfigField<number> {
    return field('LONG', intLike('LONG', opts.min, opts.max) as z.ZodType<number>, opts);
  },
  double(opts: FieldOptions<number> & { min?: number; max?: number }): ConfigField<number> {
    return field('DOUBLE', intLike('DOUBLE', opts.min, opts.max) as z.ZodType<number>, opts);
  },
  bool(opts: FieldOptions<boolean>): ConfigField<boolean> {
    const s = z.preprocess(
      (v) => {
        if (typeof v !== 'string') return v;
        const t = v.trim().toLowerCase();
        return t === 'true' ? true : t === 'false' ? false : v;
      },
      z.boolean({ error: 'must be true or false' }),
    );
    return field('BOOLEAN', s as z.ZodType<boolean>, opts);
  },
  /** A comma-separated list (or a JSON array) of strings. */
  list(opts: FieldOptions<string[]>): ConfigField<string[]> {
    const s = z.preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(',')
              .map((x) => x.trim())
              .filter((x) => x !== '')
          : v,
      z.array(z.string(), { error: 'must be a comma-separated list' }),
    );
    return field('LIST', s as z.ZodType<string[]>, opts);
  },
  /** One of a fixed set of values (matched case-sensitively unless `ignoreCase`). */
  enum<const V extends readonly [string, ...string[]]>(
    values: V,
    opts: FieldOptions<V[number]> & { ignoreCase?: boolean },
  ): ConfigField<V[number]> {
    const s = z.preprocess(
      (v) => (opts.ignoreCase && typeof v === 'string' ? (values.find((x) => x.toLowerCase() === v.trim().toLowerCase()) ?? v) : v),
      z.enum(values as unknown as [string, ...string[]], { error: `must be one of ${values.join(', ')}` }),
    );
    return field('STRING', s as z.ZodType<V[number]>, opts, values);
  },
  /** A class (or alias) name of a plugin, e.g. a converter. */
  className(opts: FieldOptions<string>): ConfigField<string> {
    return field('CLASS', z.string({ error: 'must be a class name' }), opts);
  },
} as const;

type FieldsShape = Record<string, ConfigField<any>>;

/** The parsed, typed config of a declaration. */
export type ConfigOf<F extends FieldsShape> = {
  [K in keyof F]: F[K] extends ConfigField<infer T>
    ? F[K]['required'] extends true
      ? T
      : T | (F[K]['options']['default'] extends undefined ? undefined : never)
    : never;
};

/** A single option's description, in Kafka Connect's REST shape. */
export interface ConfigKeyInfo {
  name: string;
  type: ConfigType;
  required: boolean;
  default_value: string | null;
  importance: Importance;
  documentation: string;
  group: string | null;
  /** Position within its group, from 1 (Kafka Connect's field name); -1 for an option without a group. */
  order_in_group: number;
  width: Width;
  display_name: string;
  dependents: string[];
}

/** The outcome of validating a raw config: per-field values and errors. */
export interface ValidationResult<T> {
  value: Partial<T>;
  errors: FieldErrors;
  errorCount: number;
}

/** A cross-field check: returns errors by field name (empty when fine). */
export type CrossCheck<T> = (cfg: T, raw: Raw) => FieldErrors | undefined | void;

export interface ConfigDef<T = Record<string, unknown>> {
  readonly fields: Readonly<FieldsShape>;
  /** Parses a raw config, throwing {@link ConfigError} with every field error. */
  parse(raw: Raw): T;
  /** Validates without throwing. */
  validate(raw: Raw): ValidationResult<T>;
  /** The REST description of every option, in declaration order. */
  describe(): ConfigKeyInfo[];
  /** Names of password-type options (to hide in answers, logs and traces). */
  secretKeys(): string[];
  /** Whether `name` (declared or not) identifies where the connector connects; see {@link FieldOptions.connectionIdentifying}. */
  isConnectionOption(name: string): boolean;
  /** A definition with this one's fields plus `other`'s. */
  merge<U>(other: ConfigDef<U>): ConfigDef<T & U>;
  /** A definition with an extra cross-field check. */
  check(fn: CrossCheck<T>): ConfigDef<T>;
}

function stringify(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function makeDef<T>(fields: FieldsShape, checks: CrossCheck<any>[]): ConfigDef<T> {
  const entries = Object.entries(fields);
  const def: ConfigDef<T> = {
    fields,
    validate(raw: Raw): ValidationResult<T> {
      const value: Record<string, unknown> = {};
      const errors: FieldErrors = {};
      for (const [name, f] of entries) {
        let rv = raw[name];
        if (isBlank(rv) && f.options.aliases) {
          for (const a of f.options.aliases) if (!isBlank(raw[a])) rv = raw[a];
        }
        if (isBlank(rv)) {
          if (f.options.default !== undefined) value[name] = f.options.default;
          else if (f.required) errors[name] = [`Missing required configuration "${name}" which has no default value.`];
          continue;
        }
        const r = f.schema.safeParse(rv);
        if (r.success) value[name] = r.data;
        else errors[name] = r.error.issues.map((i) => `Invalid value ${JSON.stringify(rv)} for configuration ${name}: ${i.message}`);
      }
      if (Object.keys(errors).length === 0) {
        for (const check of checks) {
          const extra = check(value as T, raw) ?? {};
          for (const [k, msgs] of Object.entries(extra)) if (msgs.length) (errors[k] ??= []).push(...msgs);
        }
      }
      const errorCount = Object.values(errors).reduce((n, e) => n + e.length, 0);
      return { value: value as Partial<T>, errors, errorCount };
    },
    parse(raw: Raw): T {
      const r = def.validate(raw);
      if (r.errorCount > 0) throw new ConfigError(r.errors);
      return r.value as T;
    },
    describe(): ConfigKeyInfo[] {
      const inGroup = new Map<string, number>();
      const orderOf = (group: string | undefined) => {
        if (!group) return -1;
        const n = (inGroup.get(group) ?? 0) + 1;
        inGroup.set(group, n);
        return n;
      };
      return entries.map(([name, f]) => ({
        name,
        type: f.type,
        required: f.required,
        default_value: f.type === 'PASSWORD' && f.options.default ? '[hidden]' : stringify(f.options.default),
        importance: f.options.importance ?? 'MEDIUM',
        documentation: f.options.doc,
        group: f.options.group ?? null,
        order_in_group: orderOf(f.options.group),
        width: f.options.width ?? 'NONE',
        display_name: f.options.displayName ?? name,
        dependents: f.options.dependents ?? [],
      }));
    },
    secretKeys(): string[] {
      return entries.filter(([, f]) => f.type === 'PASSWORD').map(([n]) => n);
    },
    isConnectionOption(name: string): boolean {
      return fields[name]?.options.connectionIdentifying ?? CONNECTION_OPTION_PATTERN.test(name);
    },
    merge<U>(other: ConfigDef<U>): ConfigDef<T & U> {
      return makeDef<T & U>({ ...fields, ...other.fields }, [...checks, ...otherChecks(other)]);
    },
    check(fn: CrossCheck<T>): ConfigDef<T> {
      return makeDef<T>(fields, [...checks, fn]);
    },
  };
  checksOf.set(def, checks);
  return def;
}

const checksOf = new WeakMap<ConfigDef<any>, CrossCheck<any>[]>();
function otherChecks(d: ConfigDef<any>): CrossCheck<any>[] {
  return checksOf.get(d) ?? [];
}

/** Declares a plugin's options. */
export function defineConfig<F extends FieldsShape>(fields: F): ConfigDef<ConfigOf<F>> {
  return makeDef<ConfigOf<F>>(fields, []);
}

/** Raw connector/task configs: string values, as Kafka Connect stores them. */
export type ConnectorConfig = Record<string, string>;
export type TaskConfig = Record<string, string>;

/**
 * Normalizes a JSON config (numbers, booleans, arrays allowed) to the string
 * map Kafka Connect uses. `null` values are dropped.
 */
export function normalizeConfig(raw: Record<string, unknown>): ConnectorConfig {
  const out: ConnectorConfig = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === null || v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}
