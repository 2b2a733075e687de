/** Replication slot and publication management for the CDC source. */
import type pg from 'pg';
import { ConfigError, ConnectError } from '@ferry/core';
import { closeQuietly, connect, mapQueryError, qi, qualified, tableKey, type ConnectionOptions, type TableName } from './connection.js';
import { missingTables } from './catalog.js';
import { parseLsn } from './cdc-stream.js';
import type { PostgresCdcOptions } from './cdc-config.js';

export interface SlotInfo {
  exists: boolean;
  active: boolean;
  plugin?: string;
  confirmedFlush: bigint;
  database?: string;
}

export async function slotInfo(client: pg.Client, slot: string): Promise<SlotInfo> {
  const r = await client.query(
    `SELECT plugin, active, confirmed_flush_lsn::text AS lsn, database FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  if (r.rows.length === 0) return { exists: false, active: false, confirmedFlush: 0n };
  const row = r.rows[0];
  return { exists: true, active: row.active === 't', plugin: row.plugin, confirmedFlush: parseLsn(row.lsn), database: row.database };
}

export async function checkWalLevel(client: pg.Client): Promise<void> {
  const r = await client.query(`SHOW wal_level`);
  if (r.rows[0].wal_level !== 'logical') {
    throw new ConfigError(
      { 'connection.url': [`The server's wal_level is ${r.rows[0].wal_level}; change data capture needs wal_level = logical (ALTER SYSTEM SET wal_level = logical, then restart the server)`] },
    );
  }
}

/** Creates the publication when missing (per publication.autocreate.mode) and, when filtered, keeps its tables in line. */
export async function ensurePublication(client: pg.Client, cfg: PostgresCdcOptions, tables: TableName[]): Promise<void> {
  const name = cfg['publication.name'];
  const mode = cfg['publication.autocreate.mode'];
  const r = await client.query(`SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1`, [name]);
  const exists = r.rows.length > 0;
  if (mode === 'disabled') {
    if (!exists) throw new ConfigError({ 'publication.name': [`Publication ${name} does not exist and publication.autocreate.mode is disabled`] });
    return;
  }
  try {
    if (mode === 'all_tables') {
      if (!exists) await client.query(`CREATE PUBLICATION ${qi(name)} FOR ALL TABLES`);
      return;
    }
    const missing = await missingTables(client, tables);
    if (missing.length) {
      throw new ConfigError({ 'table.include.list': missing.map((t) => `Table ${tableKey(t)} does not exist`) });
    }
    const list = tables.map(qualified).join(', ');
    if (!exists) await client.query(`CREATE PUBLICATION ${qi(name)} FOR TABLE ${list}`);
    else if (r.rows[0].puballtables !== 't') {
      const cur = await publicationTables(client, name);
      const want = new Set(tables.map(tableKey));
      if (cur.length !== want.size || cur.some((t) => !want.has(tableKey(t)))) await client.query(`ALTER PUBLICATION ${qi(name)} SET TABLE ${list}`);
    }
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    const code = (err as { code?: string }).code;
    if (code === '42710') return; // created concurrently
    if (code === '42501') {
      throw new ConfigError({ 'publication.autocreate.mode': [`Not allowed to create publication ${name}: ${(err as Error).message}`] });
    }
    throw mapQueryError(err, `Creating publication ${name}`);
  }
}

export async function publicationTables(client: pg.Client, publication: string): Promise<TableName[]> {
  const r = await client.query(
    `SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1 ORDER BY schemaname, tablename`,
    [publication],
  );
  return r.rows.map((x) => ({ schema: x.schemaname, table: x.tablename }));
}

/**
 * A slot created with an exported snapshot: the snapshot stays importable
 * (SET TRANSACTION SNAPSHOT) while `release()` has not been called.
 */
export interface ExportedSlot {
  consistentPoint: bigint;
  snapshotName: string;
  release(): Promise<void>;
}

export async function createSlotWithSnapshot(opts: ConnectionOptions, slot: string): Promise<ExportedSlot> {
  const repl = await connect(opts, { replication: 'database' } as Partial<pg.ClientConfig>);
  try {
    const r = await repl.query(`CREATE_REPLICATION_SLOT ${qi(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`);
    const row = r.rows[0];
    return {
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
      release: () => closeQuietly(repl),
    };
  } catch (err) {
    await closeQuietly(repl);
    throw mapQueryError(err, `Creating replication slot ${slot}`);
  }
}

export async function createSlot(client: pg.Client, slot: string): Promise<bigint> {
  try {
    const r = await client.query(`SELECT lsn::text AS lsn FROM pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    return parseLsn(r.rows[0].lsn);
  } catch (err) {
    throw mapQueryError(err, `Creating replication slot ${slot}`);
  }
}

export async function dropSlot(opts: ConnectionOptions, slot: string): Promise<void> {
  const c = await connect(opts);
  try {
    await c.query(`SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]);
  } finally {
    await closeQuietly(c);
  }
}
