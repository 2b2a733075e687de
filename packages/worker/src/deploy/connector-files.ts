import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { normalizeConfig, type Logger } from '@ferry/core';
import type { Herder } from '../herder/herder.js';

/** A connector file: the REST create body, `{"name": ..., "config": {...}}`. */
export function parseConnectorFile(text: string, file: string): { name: string; config: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${file} must hold a JSON object {"name": ..., "config": {...}}`);
  const obj = json as Record<string, unknown>;
  const rawConfig = (obj.config && typeof obj.config === 'object' ? obj.config : obj) as Record<string, unknown>;
  const config = normalizeConfig(rawConfig);
  const name = typeof obj.name === 'string' ? obj.name : config.name;
  if (!name) throw new Error(`${file} has no connector name ("name")`);
  delete config.name;
  return { name, config };
}

export interface FileState {
  file: string;
  connector?: string;
  state: 'DEPLOYED' | 'ERROR';
  error?: string;
  hash: string;
}

/**
 * Config file deployment: keeps the connectors of a folder in step with its
 * files. A new or changed file creates or reconfigures its connector, a
 * removed file deletes it, and a broken file is reported without touching
 * what runs.
 */
export class ConnectorDirWatcher {
  private readonly files = new Map<string, FileState>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly herder: Herder,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {}

  async start(): Promise<void> {
    await this.scan();
    try {
      this.watcher = watch(this.dir, () => void this.scan());
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.logger.warn({ dir: this.dir, err: (err as Error).message }, 'Cannot watch the connectors folder; polling only');
    }
    this.timer = setInterval(() => void this.scan(), this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
  }

  states(): FileState[] {
    return [...this.files.values()].map((f) => ({ ...f })).sort((a, b) => a.file.localeCompare(b.file));
  }

  /** Errors of the file that deploys `connector`, if its current content is broken. */
  errorFor(connector: string): string | undefined {
    for (const f of this.files.values()) if (f.connector === connector && f.state === 'ERROR') return f.error;
    return undefined;
  }

  scan(): Promise<void> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescan = false;
        await this.scanOnce().catch((err) => this.logger.error({ err: (err as Error).message }, 'Connectors folder scan failed'));
      } while (this.rescan && !this.closed);
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else throw err;
    }
    const present = new Set(names.map((n) => resolve(this.dir, n)));
    for (const [file, st] of this.files) {
      if (present.has(file)) continue;
      this.files.delete(file);
      if (st.connector && this.herder.has(st.connector) && ![...this.files.values()].some((f) => f.connector === st.connector)) {
        this.logger.info({ file, connector: st.connector }, 'Connector file removed; deleting the connector');
        await this.herder.delete(st.connector).catch((err) => this.logger.error({ err: (err as Error).message }, 'Delete failed'));
      }
    }
    for (const n of names) {
      const file = resolve(this.dir, n);
      let text: string;
      try {
        text = await readFile(join(this.dir, n), 'utf8');
      } catch {
        continue; // removed meanwhile
      }
      const hash = createHash('sha256').update(text).digest('hex');
      const prev = this.files.get(file);
      if (prev?.hash === hash) continue;
      try {
        const { name, config } = parseConnectorFile(text, basename(file));
        if (prev?.connector && prev.connector !== name && this.herder.has(prev.connector)) await this.herder.delete(prev.connector);
        const { created } = await this.herder.putConfig(name, config);
        this.files.set(file, { file, connector: name, state: 'DEPLOYED', hash });
        this.herder.setNote(name, undefined);
        this.logger.info({ file, connector: name }, created ? 'Connector created from file' : 'Connector file applied');
      } catch (err) {
        const message = (err as Error).message;
        this.files.set(file, { file, connector: prev?.connector, state: 'ERROR', error: message, hash });
        if (prev?.connector) this.herder.setNote(prev.connector, `Config file ${basename(file)} was rejected; the last valid config keeps running: ${message}`);
        this.logger.error({ file, err: message }, 'Connector file rejected; running connectors are left as they were');
      }
    }
  }
}
