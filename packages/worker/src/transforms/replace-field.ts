import { Config, defineConfig, type ConnectRecord, type Field, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, compileStructBuilder, parsePair, requireMap, requireStruct, setKey, structLike, type Side, type StructBuilder } from './util.js';

export const ReplaceFieldConfig = defineConfig({
  exclude: Config.list({
    doc: 'Fields to exclude. This takes precedence over the fields to include.',
    default: [],
    aliases: ['blacklist'],
  }),
  include: Config.list({
    doc: 'Fields to include. If specified, only these fields will be used.',
    default: [],
    aliases: ['whitelist'],
  }),
  renames: Config.list({ doc: 'Field rename mappings.', default: [], example: 'foo:bar,abc:xyz' }),
}).check((cfg) => {
  const bad = cfg.renames.filter((r) => parsePair(r) === null);
  return bad.length ? { renames: bad.map((r) => `Invalid rename mapping: ${r} (expected old:new)`) } : undefined;
});

const PURPOSE = 'field replacement';

interface Plan {
  schema: Schema;
  build: StructBuilder;
}

/** Filters (include / exclude) and renames fields. */
class ReplaceField implements Transformation {
  private exclude = new Set<string>();
  private include = new Set<string>();
  private renames = new Map<string, string>();
  private readonly cache = new SchemaCache<Plan>();

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    const cfg = ReplaceFieldConfig.parse(config);
    this.exclude = new Set(cfg.exclude);
    this.include = new Set(cfg.include);
    this.renames = new Map(cfg.renames.map((r) => parsePair(r)!));
  }

  private keep(name: string): boolean {
    return !this.exclude.has(name) && (this.include.size === 0 || this.include.has(name));
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = this.side.value(record);
    if (value === null || value === undefined) return record;
    const schema = this.side.schema(record);
    if (!schema) {
      const map = requireMap(value, PURPOSE);
      const out: Record<string, unknown> = {};
      for (const k in map) if (this.keep(k)) setKey(out, this.renames.get(k) ?? k, map[k]);
      return this.side.update(record, null, out);
    }
    const struct = requireStruct(value, schema, PURPOSE);
    const plan = this.cache.get(schema, (s) => this.plan(s));
    return this.side.update(record, plan.schema, plan.build(struct));
  }

  private plan(schema: Schema): Plan {
    const fields: Field[] = [];
    const moves: Array<{ to: string; path: string[] }> = [];
    for (const f of schema.fields ?? []) {
      if (!this.keep(f.field)) continue;
      const to = this.renames.get(f.field) ?? f.field;
      fields.push(to === f.field ? f : { ...f, field: to });
      moves.push({ to, path: [f.field] });
    }
    return { schema: structLike(schema, fields), build: compileStructBuilder(moves) };
  }
}

export const replaceFieldPlugins = keyValuePlugins({
  name: 'ReplaceField',
  description: 'Filters (include / exclude) and renames fields.',
  config: ReplaceFieldConfig,
  create: (side) => new ReplaceField(side),
});
