import { Config, DataError, Schemas, defineConfig, fieldSchema, type ConnectRecord, type Field, type Header, type Schema, type Transformation } from '@ferry/core';
import { transformPlugin } from './plugin.js';
import { SchemaCache, VALUE, asField, compileStructBuilder, copyMap, isPlainObject, optionalSchema, setKey, structLike, type StructBuilder } from './util.js';

export const ExtractNewRecordStateConfig = defineConfig({
  'delete.handling.mode': Config.enum(['drop', 'rewrite', 'none'], {
    doc: 'What to do with delete events: `drop` removes them, `rewrite` emits the row as it was before the delete with a `__deleted` field set to "true" (other rows get "false"), `none` emits a record with a null value.',
    default: 'drop',
    importance: 'MEDIUM',
  }),
  'drop.tombstones': Config.bool({
    doc: 'Drop the tombstone records (null value) that follow delete events. Set to false to keep them, e.g. for log compaction.',
    default: true,
    importance: 'MEDIUM',
  }),
  'delete.tombstone.handling.mode': Config.enum(['drop', 'tombstone', 'rewrite', 'rewrite-with-tombstone'], {
    doc: 'Newer single option for deletes and tombstones; when set it replaces delete.handling.mode and drop.tombstones: `drop` drops both, `tombstone` turns deletes into tombstones, `rewrite` rewrites deletes and drops tombstones, `rewrite-with-tombstone` rewrites deletes and keeps tombstones.',
    optional: true,
    importance: 'LOW',
  }),
  'add.fields': Config.list({
    doc: 'Change event fields to add to the row, each named with `add.fields.prefix` and its path (dots become underscores): `op,table,lsn,source.ts_ms` adds `__op`, `__table`, `__lsn`, `__source_ts_ms`. A plain name is looked up at the top of the event, then in its `source` block.',
    default: [],
    example: 'op,table,lsn,source.ts_ms',
  }),
  'add.fields.prefix': Config.string({ doc: 'Prefix of the names of fields added with add.fields.', default: '__', importance: 'LOW' }),
  'add.headers': Config.list({
    doc: 'Change event fields to add as headers, named like add.fields with `add.headers.prefix`.',
    default: [],
    example: 'op,source.ts_ms',
  }),
  'add.headers.prefix': Config.string({ doc: 'Prefix of the names of headers added with add.headers.', default: '__', importance: 'LOW' }),
});

const DELETED = '__deleted';

interface Addition {
  /** Name in the row or header. */
  name: string;
  /** Where to read it: [field] or [struct, field]. */
  path: string[];
  spec: string;
}

interface Plan {
  schema: Schema;
  fieldSchemas: Schema[];
  headerSchemas: Schema[];
  /** Builds the extended row: its fields, then the added ones, then __deleted (null when the row is not extended). */
  build: StructBuilder | null;
}

/**
 * Unwraps a change event `{before, after, source, op, ts_ms}` (as emitted by
 * PostgresCdcSource and Debezium) to the row it carries. Records that are not
 * change events (heartbeats, schema changes) pass through.
 */
class ExtractNewRecordState implements Transformation {
  private deleteMode: 'drop' | 'rewrite' | 'none' = 'drop';
  private dropTombstones = true;
  private fields: Addition[] = [];
  private headers: Addition[] = [];
  private readonly cache = new SchemaCache<Plan | null>();
  private readonly scratch: unknown[] = [];

  configure(config: Record<string, string>): void {
    const cfg = ExtractNewRecordStateConfig.parse(config);
    this.deleteMode = cfg['delete.handling.mode'];
    this.dropTombstones = cfg['drop.tombstones'];
    switch (cfg['delete.tombstone.handling.mode']) {
      case 'drop':
        [this.deleteMode, this.dropTombstones] = ['drop', true];
        break;
      case 'tombstone':
        [this.deleteMode, this.dropTombstones] = ['none', true];
        break;
      case 'rewrite':
        [this.deleteMode, this.dropTombstones] = ['rewrite', true];
        break;
      case 'rewrite-with-tombstone':
        [this.deleteMode, this.dropTombstones] = ['rewrite', false];
        break;
    }
    const additions = (list: string[], prefix: string): Addition[] =>
      list.map((spec) => {
        const path = spec.split('.');
        return { spec, path, name: prefix + path.join('_') };
      });
    this.fields = additions(cfg['add.fields'], cfg['add.fields.prefix']);
    this.headers = additions(cfg['add.headers'], cfg['add.headers.prefix']);
  }

  apply(record: ConnectRecord): ConnectRecord | null {
    const value = record.value;
    if (value === null || value === undefined) return this.dropTombstones ? null : record;
    if (!isPlainObject(value)) return record;
    const schema = record.valueSchema;
    let plan: Plan | null = null;
    if (schema) {
      plan = this.cache.get(schema, (s) => this.plan(s));
      if (!plan) return record; // not a change event
    } else if (!('op' in value) || !('after' in value || 'before' in value)) {
      return record;
    }

    const op = value.op;
    if (op === 't') return null; // a truncate carries no row
    const isDelete = op === 'd';
    let row: unknown;
    if (isDelete) {
      if (this.deleteMode === 'drop') return null;
      if (this.deleteMode === 'none') return VALUE.update(record, plan?.schema ?? null, null);
      row = value.before;
    } else {
      row = value.after;
    }
    const extended = this.fields.length > 0 || this.deleteMode === 'rewrite';
    let out: unknown = row ?? null;
    if (extended && isPlainObject(row)) {
      const extra = this.scratch;
      for (let i = 0; i < this.fields.length; i++) extra[i] = this.read(value, this.fields[i]);
      if (this.deleteMode === 'rewrite') extra[this.fields.length] = isDelete ? 'true' : 'false';
      if (plan?.build) out = plan.build(row, extra);
      else {
        const o = copyMap(row);
        for (let i = 0; i < this.fields.length; i++) setKey(o, this.fields[i].name, extra[i]);
        if (this.deleteMode === 'rewrite') o[DELETED] = extra[this.fields.length];
        out = o;
      }
    }
    const result = VALUE.update(record, plan?.schema ?? null, out);
    if (this.headers.length === 0) return result;
    const hs: Header[] = record.headers ? [...record.headers] : [];
    this.headers.forEach((a, i) => hs.push({ key: a.name, value: this.read(value, a), schema: plan ? plan.headerSchemas[i] : null }));
    result.headers = hs; // a fresh copy that has the key: a cheap store
    return result;
  }

  /** A plain name is a top-level envelope field if there is one, else a field of `source`. */
  private read(event: Record<string, unknown>, a: Addition): unknown {
    if (a.path.length === 1) {
      const k = a.path[0];
      if (k in event) return event[k] ?? null;
      const src = event.source;
      return isPlainObject(src) ? (src[k] ?? null) : null;
    }
    let cur: unknown = event;
    for (const p of a.path) cur = isPlainObject(cur) ? cur[p] : undefined;
    return cur ?? null;
  }

  private plan(schema: Schema): Plan | null {
    if (schema.type !== 'struct') return null;
    const byName = new Map((schema.fields ?? []).map((f) => [f.field, f]));
    const rowField = byName.get('after') ?? byName.get('before');
    if (!byName.has('op') || !rowField || rowField.type !== 'struct') return null;
    const rowSchema = fieldSchema(rowField);
    const resolve = (a: Addition, what: string): Schema => {
      let f: Field | undefined;
      if (a.path.length === 1) f = byName.get(a.path[0]) ?? byName.get('source')?.fields?.find((x) => x.field === a.path[0]);
      else {
        let cur: Field | undefined = byName.get(a.path[0]);
        for (const p of a.path.slice(1)) cur = cur?.fields?.find((x) => x.field === p);
        f = cur;
      }
      if (!f) throw new DataError(`${what}: the change event has no field ${a.spec}`);
      return optionalSchema(fieldSchema(f));
    };
    const fieldSchemas = this.fields.map((a) => resolve(a, 'add.fields'));
    const headerSchemas = this.headers.map((a) => resolve(a, 'add.headers'));
    if (fieldSchemas.length === 0 && this.deleteMode !== 'rewrite') return { schema: rowSchema, fieldSchemas, headerSchemas, build: null };
    const fields: Field[] = [...(rowSchema.fields ?? [])];
    this.fields.forEach((a, i) => fields.push(asField(a.name, fieldSchemas[i])));
    if (this.deleteMode === 'rewrite') fields.push(asField(DELETED, Schemas.string(true)));
    const build = compileStructBuilder([
      ...(rowSchema.fields ?? []).map((f) => ({ to: f.field, path: [f.field] })),
      ...this.fields.map((a, i) => ({ to: a.name, extra: i })),
      ...(this.deleteMode === 'rewrite' ? [{ to: DELETED, extra: this.fields.length }] : []),
    ]);
    return { schema: structLike(rowSchema, fields), fieldSchemas, headerSchemas, build };
  }
}

export const extractNewRecordStatePlugin = transformPlugin({
  name: 'ExtractNewRecordState',
  kafka: false,
  aliases: ['io.debezium.transforms.ExtractNewRecordState'],
  description: 'Unwraps a change event (before/after/source/op) to the row after the change, with options for deletes, tombstones and change metadata.',
  config: ExtractNewRecordStateConfig,
  create: () => new ExtractNewRecordState(),
});
