import {
  ConfigError,
  DataError,
  type ConfigKeyInfo,
  type ConnectRecord,
  type FieldErrors,
  type Predicate,
  type PredicatePlugin,
  type Transformation,
  type TransformationPlugin,
} from '@ferry/core';
import { recordLocation } from './util.js';

/**
 * Finds transformation and predicate plugins by class name or alias. The
 * worker's plugin registry has this shape; {@link createTransformLookup}
 * builds one from plain lists.
 */
export interface TransformLookup {
  transformation(name: string): TransformationPlugin | undefined;
  predicate(name: string): PredicatePlugin | undefined;
}

export function createTransformLookup(
  transformations: Iterable<TransformationPlugin>,
  predicates: Iterable<PredicatePlugin>,
): TransformLookup {
  const t = new Map<string, TransformationPlugin>();
  const p = new Map<string, PredicatePlugin>();
  for (const plugin of transformations) for (const n of [plugin.className, ...(plugin.aliases ?? [])]) t.set(n, plugin);
  for (const plugin of predicates) for (const n of [plugin.className, ...(plugin.aliases ?? [])]) p.set(n, plugin);
  return {
    transformation: (name) => t.get(name.trim()),
    predicate: (name) => p.get(name.trim()),
  };
}

/**
 * A transform failed on a record. The runtime's error tolerance decides what
 * happens next (fail the task, or skip the record and report it to the
 * dead-letter queue with `stage` and `className` as context).
 */
export class TransformationError extends DataError {
  readonly stage = 'TRANSFORMATION' as const;

  constructor(
    /** The transform's alias in `transforms=`. */
    readonly alias: string,
    /** The class of the transform (or predicate) that threw. */
    readonly className: string,
    record: ConnectRecord,
    cause: unknown,
    what = 'Transformation',
  ) {
    super(`${what} "${alias}" (${className}) failed on record ${recordLocation(record)}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}

/** Splits a `transforms=` / `predicates=` list: trimmed, blanks dropped. */
function aliasList(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Every key under `prefix`, with the prefix stripped. */
function withPrefix(raw: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in raw) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = raw[k];
  return out;
}

function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined || v.trim() === '') return false;
  const t = v.trim().toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

interface StageSpec {
  alias: string;
  plugin: TransformationPlugin;
  options: Record<string, string>;
  predicate: string | undefined;
  negate: boolean;
}

interface PredicateSpec {
  alias: string;
  plugin: PredicatePlugin;
  options: Record<string, string>;
}

interface ParsedChain {
  stages: StageSpec[];
  predicates: Map<string, PredicateSpec>;
  errors: FieldErrors;
}

function addError(errors: FieldErrors, key: string, msg: string): void {
  (errors[key] ??= []).push(msg);
}

/** Adds a plugin's option errors under their full keys, with the full key in the message too. */
function addOptionErrors(errors: FieldErrors, optionErrors: FieldErrors, prefix: string): void {
  for (const [k, msgs] of Object.entries(optionErrors))
    for (const m of msgs) addError(errors, prefix + k, m.replace(`configuration "${k}"`, `configuration "${prefix}${k}"`).replace(`configuration ${k}:`, `configuration ${prefix}${k}:`));
}

function parseChain(raw: Record<string, string>, lookup: TransformLookup): ParsedChain {
  const errors: FieldErrors = {};
  const predicates = new Map<string, PredicateSpec>();
  const stages: StageSpec[] = [];

  const predicateAliases = aliasList(raw.predicates);
  if (new Set(predicateAliases).size !== predicateAliases.length) addError(errors, 'predicates', 'Duplicate alias provided.');
  for (const alias of predicateAliases) {
    const prefix = `predicates.${alias}.`;
    const typeKey = `${prefix}type`;
    const className = raw[typeKey]?.trim();
    if (!className) {
      addError(errors, typeKey, `Missing required configuration "${typeKey}" which has no default value.`);
      continue;
    }
    const plugin = lookup.predicate(className);
    if (!plugin) {
      const hint = lookup.transformation(className) ? ' (it is a transformation, not a predicate)' : '';
      addError(errors, typeKey, `Invalid value ${className} for configuration ${typeKey}: Class ${className} could not be found${hint}.`);
      continue;
    }
    const options = withPrefix(raw, prefix);
    addOptionErrors(errors, plugin.config.validate(options).errors, prefix);
    predicates.set(alias, { alias, plugin, options });
  }

  const transformAliases = aliasList(raw.transforms);
  if (new Set(transformAliases).size !== transformAliases.length) addError(errors, 'transforms', 'Duplicate alias provided.');
  for (const alias of transformAliases) {
    const prefix = `transforms.${alias}.`;
    const typeKey = `${prefix}type`;
    const options = withPrefix(raw, prefix);
    const predicate = options.predicate?.trim() || undefined;
    const negate = parseBool(options.negate);
    if (negate === undefined)
      addError(errors, `${prefix}negate`, `Invalid value ${options.negate} for configuration ${prefix}negate: must be true or false`);
    if (predicate !== undefined && !predicateAliases.includes(predicate))
      addError(
        errors,
        `${prefix}predicate`,
        `Invalid value ${predicate} for configuration ${prefix}predicate: the predicate is not defined (it must be listed in "predicates" and configured with "predicates.${predicate}.type").`,
      );
    const className = options.type?.trim();
    if (!className) {
      addError(errors, typeKey, `Missing required configuration "${typeKey}" which has no default value.`);
      continue;
    }
    const plugin = lookup.transformation(className);
    if (!plugin) {
      const hint = lookup.predicate(className) ? ' (it is a predicate, not a transformation)' : '';
      addError(errors, typeKey, `Invalid value ${className} for configuration ${typeKey}: Class ${className} could not be found${hint}.`);
      continue;
    }
    addOptionErrors(errors, plugin.config.validate(options).errors, prefix);
    stages.push({ alias, plugin, options, predicate, negate: negate ?? false });
  }
  return { stages, predicates, errors };
}

/**
 * Field errors of a connector config's `transforms` / `predicates` part,
 * keyed by the full config key (`transforms.a.regex`, `transforms.a.type`,
 * `transforms.a.predicate`, `predicates.p.pattern`...). Empty when valid.
 */
export function validateTransforms(raw: Record<string, string>, lookup: TransformLookup): FieldErrors {
  return parseChain(raw, lookup).errors;
}

/**
 * The option descriptions of every configured transform and predicate, with
 * their full keys (`transforms.a.regex`) and a group per alias, as Kafka
 * Connect shows them in `config/validate` answers. Unknown classes contribute
 * only their `type` key.
 */
export function describeTransforms(raw: Record<string, string>, lookup: TransformLookup): ConfigKeyInfo[] {
  const out: ConfigKeyInfo[] = [];
  const base = (name: string, group: string, order: number, doc: string, type: ConfigKeyInfo['type'], required: boolean, dflt: string | null): ConfigKeyInfo => ({
    name,
    type,
    required,
    default_value: dflt,
    importance: 'HIGH',
    documentation: doc,
    group,
    order_in_group: order,
    width: 'LONG',
    display_name: name,
    dependents: [],
  });
  for (const alias of aliasList(raw.transforms)) {
    const prefix = `transforms.${alias}.`;
    const group = `Transforms: ${alias}`;
    out.push(base(`${prefix}type`, group, 1, 'Class for the transformation.', 'CLASS', true, null));
    out.push(base(`${prefix}predicate`, group, 2, 'The alias of a predicate used to determine whether to apply this transformation.', 'STRING', false, null));
    out.push(base(`${prefix}negate`, group, 3, 'Whether the configured predicate should be negated.', 'BOOLEAN', false, 'false'));
    const plugin = raw[`${prefix}type`] ? lookup.transformation(raw[`${prefix}type`]) : undefined;
    let n = 3;
    for (const k of plugin?.config.describe() ?? []) out.push({ ...k, name: prefix + k.name, group, order_in_group: ++n });
  }
  for (const alias of aliasList(raw.predicates)) {
    const prefix = `predicates.${alias}.`;
    const group = `Predicates: ${alias}`;
    out.push(base(`${prefix}type`, group, 1, 'Class for the predicate.', 'CLASS', true, null));
    const plugin = raw[`${prefix}type`] ? lookup.predicate(raw[`${prefix}type`]) : undefined;
    let n = 1;
    for (const k of plugin?.config.describe() ?? []) out.push({ ...k, name: prefix + k.name, group, order_in_group: ++n });
  }
  return out;
}

interface Stage {
  alias: string;
  className: string;
  transform: Transformation;
  predicate: Predicate | null;
  predicateClass: string;
  negate: boolean;
}

/**
 * The transforms of one connector, in `transforms=` order, each guarded by
 * its predicate. Built once per task; `apply` is the per-record hot path.
 */
export class TransformChain {
  private readonly stages: Stage[];
  private readonly predicates: Predicate[];

  private constructor(stages: Stage[], predicates: Predicate[]) {
    this.stages = stages;
    this.predicates = predicates;
  }

  /** A chain that returns every record unchanged. */
  static empty(): TransformChain {
    return new TransformChain([], []);
  }

  /**
   * Builds the chain from a connector's raw config. Throws ConfigError with
   * errors keyed by the full config key when anything is invalid.
   */
  static fromConfig(raw: Record<string, string>, lookup: TransformLookup): TransformChain {
    if (raw.transforms === undefined && raw.predicates === undefined) return TransformChain.empty();
    const parsed = parseChain(raw, lookup);
    if (Object.keys(parsed.errors).length > 0) throw new ConfigError(parsed.errors);
    const predicates = new Map<string, Predicate>();
    const created: Array<{ close?(): void }> = [];
    try {
      for (const spec of parsed.predicates.values()) {
        const p = spec.plugin.create();
        created.push(p);
        configureOrThrow(() => p.configure(spec.options), `predicates.${spec.alias}.`);
        predicates.set(spec.alias, p);
      }
      const stages: Stage[] = parsed.stages.map((spec) => {
        const t = spec.plugin.create();
        created.push(t);
        configureOrThrow(() => t.configure(spec.options), `transforms.${spec.alias}.`);
        return {
          alias: spec.alias,
          className: spec.plugin.className,
          transform: t,
          predicate: spec.predicate === undefined ? null : predicates.get(spec.predicate)!,
          predicateClass: spec.predicate === undefined ? '' : parsed.predicates.get(spec.predicate)!.plugin.className,
          negate: spec.negate,
        };
      });
      return new TransformChain(stages, [...predicates.values()]);
    } catch (err) {
      for (const c of created) safeClose(c);
      throw err;
    }
  }

  /** Number of transforms. */
  get size(): number {
    return this.stages.length;
  }

  get isEmpty(): boolean {
    return this.stages.length === 0;
  }

  /** Same as {@link isEmpty} (the runners' name for it). */
  get empty(): boolean {
    return this.stages.length === 0;
  }

  /** Aliases in application order. */
  get aliases(): string[] {
    return this.stages.map((s) => s.alias);
  }

  /**
   * Runs the record through every transform whose predicate allows it.
   * Returns the result, or null when a transform dropped the record. A
   * failure is thrown as {@link TransformationError} naming the transform and
   * the (untouched) input record's position.
   */
  apply<R extends ConnectRecord>(record: R): R | null {
    const stages = this.stages;
    const n = stages.length;
    if (n === 0) return record;
    let cur: ConnectRecord = record;
    for (let i = 0; i < n; i++) {
      const s = stages[i];
      if (s.predicate !== null) {
        let hit: boolean;
        try {
          hit = s.predicate.test(cur);
        } catch (err) {
          throw new TransformationError(s.alias, s.predicateClass, record, err, 'Predicate of transformation');
        }
        if (hit === s.negate) continue;
      }
      let next: ConnectRecord | null;
      try {
        next = s.transform.apply(cur);
      } catch (err) {
        throw new TransformationError(s.alias, s.className, record, err);
      }
      if (next === null) return null;
      cur = next;
    }
    return cur as R;
  }

  close(): void {
    for (const s of this.stages) safeClose(s.transform);
    for (const p of this.predicates) safeClose(p);
  }
}

function configureOrThrow(fn: () => void, prefix: string): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      const errors: FieldErrors = {};
      for (const [k, msgs] of Object.entries(err.fieldErrors)) errors[prefix + k] = msgs;
      throw new ConfigError(errors);
    }
    throw new ConfigError({ [`${prefix}type`]: [`Could not configure: ${(err as Error)?.message ?? String(err)}`] });
  }
}

function safeClose(c: { close?(): void }): void {
  try {
    c.close?.();
  } catch {
    // closing is best effort; a failing close must not hide the real outcome
  }
}
