/** Catalog lookups shared by the PostgreSQL connectors. */
import type pg from 'pg';
import { qualified, type TableName } from './connection.js';

export interface ColumnInfo {
  name: string;
  typeOid: number;
  typeMod: number;
  notNull: boolean;
  /** pg_type.typname (`int4`, `_text`, `jsonb`, an enum's name...) */
  typeName: string;
  /** format_type(): the type as written in DDL, e.g. `numeric(10,2)` */
  sqlType: string;
  /** format_type() without the modifier (`character varying`): casts to it keep length checks on assignment */
  castType: string;
}

export interface TableInfo {
  name: TableName;
  oid: number;
  columns: ColumnInfo[];
  /** Primary key columns in key order (empty when the table has none). */
  primaryKey: string[];
  /** pg_class.relreplident: d(efault), f(ull), i(ndex), n(othing) */
  replicaIdentity: string;
}

/** Describes a table, or returns undefined when it does not exist. */
export async function describeTable(client: pg.Client, name: TableName): Promise<TableInfo | undefined> {
  const rel = await client.query(
    `SELECT c.oid::int8 AS oid, c.relreplident
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    [name.schema, name.table],
  );
  if (rel.rows.length === 0) return undefined;
  const oid = Number(rel.rows[0].oid);
  return describeRelation(client, oid, name, rel.rows[0].relreplident);
}

export async function describeRelation(client: pg.Client, oid: number, name: TableName, replicaIdentity = 'd'): Promise<TableInfo> {
  const cols = await client.query(
    `SELECT a.attname, a.atttypid::int8 AS typid, a.atttypmod, a.attnotnull, t.typname,
            pg_catalog.format_type(a.atttypid, a.atttypmod) AS sqltype, pg_catalog.format_type(a.atttypid, NULL) AS casttype
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  const pk = await client.query(
    `SELECT a.attname
       FROM pg_catalog.pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary
      ORDER BY k.ord`,
    [oid],
  );
  return {
    name,
    oid,
    replicaIdentity,
    columns: cols.rows.map((r) => ({
      name: r.attname,
      typeOid: Number(r.typid),
      typeMod: Number(r.atttypmod),
      notNull: r.attnotnull === 't' || r.attnotnull === true,
      typeName: r.typname,
      sqlType: r.sqltype,
      castType: r.casttype,
    })),
    primaryKey: pk.rows.map((r) => r.attname as string),
  };
}

/** Tables of `names` that do not exist. */
export async function missingTables(client: pg.Client, names: TableName[]): Promise<TableName[]> {
  const out: TableName[] = [];
  for (const n of names) {
    const r = await client.query(`SELECT to_regclass($1) AS oid`, [qualified(n)]);
    if (r.rows[0].oid === null) out.push(n);
  }
  return out;
}
