/** `PostgresCdcSource`: change data capture through logical replication (pgoutput), Debezium-compatible events. */
import {
  ConfigError,
  type ChunkRunner,
  type ConnectorConfig,
  type FieldErrors,
  type SourceConnector,
  type SourceTask,
  type TaskConfig,
} from '@ferry/core';
import { closeQuietly, connect, parseTableName, tableKey } from './connection.js';
import { missingTables } from './catalog.js';
import { PostgresCdcConfig, type PostgresCdcOptions } from './cdc-config.js';
import { checkWalLevel, dropSlot, slotInfo } from './cdc-setup.js';
import { PostgresCdcTask } from './cdc-task.js';
import { SnapshotChunkRunner } from './cdc-chunks.js';

export class PostgresCdcConnector implements SourceConnector {
  private raw: ConnectorConfig = {};
  private cfg?: PostgresCdcOptions;

  start(config: ConnectorConfig): void {
    this.cfg = PostgresCdcConfig.parse(config);
    this.raw = config;
  }

  /** One slot is one ordered stream: a single task. */
  taskConfigs(): TaskConfig[] {
    return [{ ...this.raw }];
  }

  createTask(): SourceTask {
    return new PostgresCdcTask();
  }

  createChunkRunner(work: string): ChunkRunner | undefined {
    return work === 'snapshot' ? new SnapshotChunkRunner() : undefined;
  }

  async stop(): Promise<void> {
    if (this.cfg?.['slot.drop.on.stop']) await dropSlot(this.cfg, this.cfg['slot.name']).catch(() => {});
  }

  async validate(config: ConnectorConfig): Promise<FieldErrors> {
    const r = PostgresCdcConfig.validate(config);
    if (r.errorCount > 0) return {};
    const cfg = r.value as PostgresCdcOptions;
    const errors: FieldErrors = {};
    const add = (k: string, m: string) => (errors[k] ??= []).push(m);
    let client;
    try {
      client = await connect(cfg);
    } catch (err) {
      if (err instanceof ConfigError) return err.fieldErrors;
      return { 'connection.url': [(err as Error).message] };
    }
    try {
      try {
        await checkWalLevel(client);
      } catch (err) {
        if (err instanceof ConfigError) return err.fieldErrors;
        throw err;
      }
      const tables = (cfg['table.include.list'] ?? []).map((t) => parseTableName(t));
      for (const t of await missingTables(client, tables)) add('table.include.list', `Table ${tableKey(t)} does not exist`);
      if (cfg['publication.autocreate.mode'] === 'disabled') {
        const p = await client.query(`SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1`, [cfg['publication.name']]);
        if (p.rows.length === 0) add('publication.name', `Publication ${cfg['publication.name']} does not exist and publication.autocreate.mode is disabled`);
      }
      const slot = await slotInfo(client, cfg['slot.name']);
      const db = (await client.query('SELECT current_database() AS db')).rows[0].db;
      if (slot.exists && slot.plugin !== 'pgoutput') add('slot.name', `Slot ${cfg['slot.name']} uses the ${slot.plugin} plugin, not pgoutput`);
      if (slot.exists && slot.database && slot.database !== db) add('slot.name', `Slot ${cfg['slot.name']} belongs to database ${slot.database}, not ${db}`);
    } finally {
      await closeQuietly(client);
    }
    return errors;
  }
}
