import { ConfigError, type ConfigDef, type ConfigKeyInfo, type FieldErrors } from '@ferry/core';
import { ConfigProviders, hasReference } from '../config/config-providers.js';
import { clientOverrideSecretKeys, validateClientOverrides } from '../config/kafka-client-config.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { buildConverters } from '../runtime/converters.js';
import { describeTransforms } from '../transforms/chain.js';
import { CommonConnectorConfig, SinkConnectorConfig } from './connector-config.js';
import type { TransformsFactory } from './deps.js';

/** Kafka Connect's ConfigInfos: the answer of `config/validate`. */
export interface ConfigInfos {
  name: string;
  error_count: number;
  groups: string[];
  configs: Array<{
    definition: ConfigKeyInfo;
    value: { name: string; value: string | null; recommended_values: string[]; errors: string[]; visible: boolean };
  }>;
}

export interface ValidationDeps {
  registry: PluginRegistry;
  transforms: TransformsFactory;
  workerConfig: Record<string, string>;
  /** The plugin named in the URL (must match connector.class). */
  pluginName?: string;
  /** Skip the connector's own validate() (which may reach its external system): offline lint. */
  staticOnly?: boolean;
  configProviders?: ConfigProviders;
  /** tasks.max above this is an error (the worker's tasks.max.per.worker). */
  tasksMaxPerWorker?: number;
  /** Deadline of the connector's own validation, which may talk to its server (ms). */
  timeoutMs?: number;
}

/** Resolves with `work`, or with `onTimeout()` once `ms` have passed (the work is left to finish on its own). */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
    timer.unref();
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The config definition a connector of this plugin type is validated against: common options plus the plugin's. */
export function connectorDefinition(pluginDef: ConfigDef<any>, type: 'source' | 'sink'): ConfigDef<any> {
  const common = type === 'sink' ? CommonConnectorConfig.merge(SinkConnectorConfig) : CommonConnectorConfig;
  return common.merge(pluginDef);
}

/**
 * Validates a connector config: common options, the plugin's declaration,
 * converters, transforms and predicates, then the connector's own I/O
 * checks when everything static passed.
 */
export async function validateConnectorConfig(config: Record<string, string>, deps: ValidationDeps): Promise<ConfigInfos> {
  const cls = config['connector.class'] ?? deps.pluginName ?? '';
  const plugin = deps.registry.connector(cls);
  const errors: FieldErrors = {};
  const add = (e: FieldErrors) => {
    for (const [k, v] of Object.entries(e)) if (v.length) (errors[k] ??= []).push(...v);
  };
  if (!plugin) {
    add({ 'connector.class': [`Unknown connector class ${JSON.stringify(cls)}`] });
    const def = CommonConnectorConfig;
    return build(cls, def, config, errors);
  }
  const def = connectorDefinition(plugin.config, plugin.type);
  const common = plugin.type === 'sink' ? CommonConnectorConfig.merge(SinkConnectorConfig) : CommonConnectorConfig;
  // Nothing is resolved here: references are only checked to exist, so no
  // answer or error can carry a resolved value. Options holding a reference
  // are type-checked when the connector starts.
  const refKeys = new Set(Object.keys(config).filter((k) => hasReference(config[k])));
  const refErrors = (deps.configProviders ?? ConfigProviders.none()).check(config);
  const addStatic = (e: FieldErrors) => {
    const kept: FieldErrors = {};
    for (const [k, v] of Object.entries(e)) if (!refKeys.has(k)) kept[k] = v;
    add(kept);
  };
  add(refErrors);
  const withClass = { ...config, 'connector.class': config['connector.class'] ?? cls };
  // The plugin's own checks (and its I/O checks) run even when a common option such as "name" is missing.
  addStatic(common.validate(withClass).errors);
  const pluginErrors = plugin.config.validate(withClass).errors;
  addStatic(pluginErrors);
  const limit = deps.tasksMaxPerWorker;
  const tasksMax = Number(config['tasks.max'] ?? '1');
  if (limit !== undefined && Number.isFinite(tasksMax) && tasksMax > limit) {
    add({ 'tasks.max': [`tasks.max ${tasksMax} is above this worker's limit tasks.max.per.worker=${limit}`] });
  }
  try {
    buildConverters(config, deps.workerConfig, deps.registry);
  } catch (err) {
    if (err instanceof ConfigError) addStatic(err.fieldErrors);
    else if (refKeys.size === 0) add({ 'value.converter': [(err as Error).message] });
  }
  addStatic(deps.transforms.validate(config));
  add(validateClientOverrides(config, deps.workerConfig));
  // The connector's I/O checks need real values: with references they run at start instead.
  if (Object.keys(pluginErrors).length === 0 && refKeys.size === 0 && !deps.staticOnly) {
    const instance = await plugin.create();
    if (instance.validate) {
      try {
        const ms = deps.timeoutMs ?? 30000;
        const timedOut: FieldErrors = { 'connector.class': [`Validation did not finish within ${ms} ms (connector.validation.timeout.ms): is every server named in the config reachable?`] };
        add(await withDeadline(Promise.resolve(instance.validate(config)), ms, () => timedOut));
      } catch (err) {
        if (err instanceof ConfigError) add(err.fieldErrors);
        else add({ 'connector.class': [`Validation failed: ${(err as Error).message}`] });
      }
    }
  }
  return build(plugin.className, def, config, errors, [...describeTransforms(config, deps.registry), ...describeConverters(config, deps)]);
}

/** The options of the configured converters, under their prefixed keys and the converters' own groups (as Kafka Connect lists them). */
function describeConverters(config: Record<string, string>, deps: ValidationDeps): ConfigKeyInfo[] {
  const out: ConfigKeyInfo[] = [];
  for (const prefix of ['key.converter', 'value.converter', 'header.converter'] as const) {
    const cls = config[prefix] ?? deps.workerConfig[prefix];
    if (!cls) continue;
    const plugin = prefix === 'header.converter' ? deps.registry.headerConverter(cls) : deps.registry.converter(cls);
    for (const k of plugin?.config.describe() ?? []) out.push({ ...k, name: `${prefix}.${k.name}` });
  }
  return out;
}

function build(name: string, def: ConfigDef<any>, config: Record<string, string>, errors: FieldErrors, extra: ConfigKeyInfo[] = []): ConfigInfos {
  const secret = new Set([...def.secretKeys(), ...clientOverrideSecretKeys(config)]);
  const declared = def.describe();
  const declaredNames = new Set(declared.map((d) => d.name));
  const described = [...declared, ...extra.filter((d) => !declaredNames.has(d.name))];
  const known = new Set(described.map((d) => d.name));
  const configs: ConfigInfos['configs'] = described.map((d) => ({
    definition: d,
    value: {
      name: d.name,
      value: config[d.name] === undefined ? d.default_value : secret.has(d.name) || d.type === 'PASSWORD' ? '[hidden]' : config[d.name]!,
      recommended_values: recommended(def, d.name),
      errors: errors[d.name] ?? [],
      visible: true,
    },
  }));
  // Errors on keys outside the declaration (transforms.x.*, converter options) get entries of their own.
  for (const [k, msgs] of Object.entries(errors)) {
    if (known.has(k)) continue;
    configs.push({
      definition: {
        name: k,
        type: 'STRING',
        required: false,
        default_value: null,
        importance: 'MEDIUM',
        documentation: '',
        group: k.startsWith('transforms.') ? 'Transforms' : k.startsWith('predicates.') ? 'Predicates' : null,
        order_in_group: -1,
        width: 'NONE',
        display_name: k,
        dependents: [],
      },
      value: { name: k, value: secret.has(k) && config[k] !== undefined ? '[hidden]' : (config[k] ?? null), recommended_values: [], errors: msgs, visible: true },
    });
  }
  const groups = [...new Set(configs.map((c) => c.definition.group).filter((g): g is string => !!g))];
  const error_count = configs.reduce((n, c) => n + c.value.errors.length, 0);
  return { name, error_count, groups, configs };
}

function recommended(def: ConfigDef<any>, name: string): string[] {
  return [...(def.fields[name]?.recommended ?? [])];
}
