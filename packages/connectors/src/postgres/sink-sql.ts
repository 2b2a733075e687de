/**
 * Bulk statements of the sink. Rows travel as one text[] parameter per
 * column, unnested and cast to the column types on the server: one statement
 * per `batch.size` rows, whatever the row count, and no per-row round trips.
 */
import type pg from 'pg';
import { qi, qualified } from './connection.js';
import type { ColumnInfo, TableInfo } from './catalog.js';
import { toPgText } from './types.js';
import type { Cell } from './sink-record.js';

export type RowKind = 'insert' | 'upsert' | 'update' | 'delete';

/** Rows of one kind and one column set, bound for one table. */
export interface RowGroup {
  kind: RowKind;
  table: TableInfo;
  /** Columns in statement order. */
  cols: ColumnInfo[];
  keyCols: string[];
  rows: Array<Map<string, Cell>>;
}

function unnestClause(cols: ColumnInfo[]): string {
  return `unnest(${cols.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS v(${cols.map((c) => qi(c.name)).join(', ')})`;
}

// Cast to the unmodified type: an explicit cast to varchar(3) would silently truncate, an assignment raises.
const cast = (c: ColumnInfo) => `v.${qi(c.name)}::${c.castType}`;

export function statementFor(g: RowGroup): string {
  const t = qualified(g.table.name);
  const names = g.cols.map((c) => qi(c.name)).join(', ');
  const keySet = new Set(g.keyCols);
  const keyCols = g.cols.filter((c) => keySet.has(c.name));
  const match = keyCols.map((c) => `t.${qi(c.name)} = ${cast(c)}`).join(' AND ');
  switch (g.kind) {
    case 'insert':
      return `INSERT INTO ${t} (${names}) SELECT ${g.cols.map(cast).join(', ')} FROM ${unnestClause(g.cols)}`;
    case 'upsert': {
      const rest = g.cols.filter((c) => !keySet.has(c.name));
      const action = rest.length ? `DO UPDATE SET ${rest.map((c) => `${qi(c.name)} = EXCLUDED.${qi(c.name)}`).join(', ')}` : 'DO NOTHING';
      return (
        `INSERT INTO ${t} (${names}) SELECT ${g.cols.map(cast).join(', ')} FROM ${unnestClause(g.cols)} ` +
        `ON CONFLICT (${g.keyCols.map(qi).join(', ')}) ${action}`
      );
    }
    case 'update': {
      const rest = g.cols.filter((c) => !keySet.has(c.name));
      if (rest.length === 0) return '';
      return `UPDATE ${t} AS t SET ${rest.map((c) => `${qi(c.name)} = ${cast(c)}`).join(', ')} FROM ${unnestClause(g.cols)} WHERE ${match}`;
    }
    case 'delete':
      return `DELETE FROM ${t} AS t USING ${unnestClause(g.cols)} WHERE ${match}`;
  }
}

/** One text[] per column, in `g.cols` order, for rows [from, to). */
export function parametersFor(g: RowGroup, from: number, to: number): Array<Array<string | null>> {
  return g.cols.map((c) => {
    const out: Array<string | null> = new Array(to - from);
    for (let i = from; i < to; i++) {
      const cell = g.rows[i]!.get(c.name);
      out[i - from] = cell ? toPgText(cell.value, c.typeName, cell.schema) : null;
    }
    return out;
  });
}

/** Runs a group in statements of at most `batchSize` rows. */
export async function writeGroup(client: pg.Client, g: RowGroup, batchSize: number): Promise<void> {
  const text = statementFor(g);
  if (!text) return;
  for (let from = 0; from < g.rows.length; from += batchSize) {
    const to = Math.min(g.rows.length, from + batchSize);
    await client.query(text, parametersFor(g, from, to));
  }
}
