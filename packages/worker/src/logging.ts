import pino, { type Logger as PinoLogger, type DestinationStream } from 'pino';
import type { Logger } from '@ferry/core';

/** Kafka Connect's level names, as the admin/loggers API speaks them. */
export type LevelName = 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE' | 'FATAL' | 'OFF';
const toPino: Record<LevelName, pino.LevelWithSilent> = {
  FATAL: 'fatal',
  ERROR: 'error',
  WARN: 'warn',
  INFO: 'info',
  DEBUG: 'debug',
  TRACE: 'trace',
  OFF: 'silent',
};
const fromPino: Record<string, LevelName> = Object.fromEntries(Object.entries(toPino).map(([k, v]) => [v, k as LevelName]));

export function isLevelName(s: string): s is LevelName {
  return s.toUpperCase() in toPino;
}

/**
 * Values that must never reach a log line (resolved passwords and
 * credentials). Every line is scrubbed just before it is written.
 */
export class SecretRedactor {
  private readonly secrets = new Map<string, number>();
  private pattern: RegExp | undefined;

  add(value: string): void {
    if (!value || value.length < 3) return;
    this.secrets.set(value, (this.secrets.get(value) ?? 0) + 1);
    this.pattern = undefined;
  }

  remove(value: string): void {
    const n = this.secrets.get(value);
    if (n === undefined) return;
    if (n <= 1) this.secrets.delete(value);
    else this.secrets.set(value, n - 1);
    this.pattern = undefined;
  }

  redact(s: string): string {
    if (this.secrets.size === 0) return s;
    this.pattern ??= new RegExp(
      [...this.secrets.keys()]
        .sort((a, b) => b.length - a.length)
        .flatMap((v) => [v, JSON.stringify(v).slice(1, -1), encodeURIComponent(v)])
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    return s.replace(this.pattern, '[hidden]');
  }
}

export interface LoggerEntry {
  level: LevelName;
  last_modified: number | null;
}

/**
 * The worker's loggers: one pino root, named children ("worker",
 * "connector.<name>", "rest", ...) whose levels the admin API changes at run
 * time. Setting a level on a name also sets it on names below it.
 */
export class LogManager {
  readonly root: PinoLogger;
  readonly redactor = new SecretRedactor();
  private readonly named = new Map<string, { logger: PinoLogger; lastModified: number | null }>();
  /** Loggers created only because the admin API named them: capped, so callers cannot grow the map without bound. */
  private adminCreated = 0;
  static readonly MAX_ADMIN_LOGGERS = 100;

  constructor(opts: { level?: string; destination?: DestinationStream; workerId?: string } = {}) {
    const redactor = this.redactor;
    const level = (opts.level ?? process.env.LOG_LEVEL ?? 'info').toLowerCase();
    this.root = pino(
      {
        level,
        base: opts.workerId ? { worker: opts.workerId } : {},
        timestamp: pino.stdTimeFunctions.isoTime,
        hooks: { streamWrite: (s: string) => redactor.redact(s) },
        formatters: { level: (label: string) => ({ level: label }) },
      },
      opts.destination ?? pino.destination({ dest: 1, sync: false }),
    );
  }

  /** The logger for `name`, created on first use with its nearest ancestor's level. */
  get(name: string, bindings: Record<string, unknown> = {}): Logger {
    return this.pino(name).child(bindings) as unknown as Logger;
  }

  private pino(name: string): PinoLogger {
    let e = this.named.get(name);
    if (!e) {
      const logger = this.root.child({ logger: name });
      logger.level = this.inheritedLevel(name);
      e = { logger, lastModified: null };
      this.named.set(name, e);
    }
    return e.logger;
  }

  private inheritedLevel(name: string): string {
    let cur = name;
    while (cur.includes('.')) {
      cur = cur.slice(0, cur.lastIndexOf('.'));
      const p = this.named.get(cur);
      if (p?.lastModified) return p.logger.level;
    }
    return this.root.level;
  }

  list(): Record<string, LoggerEntry> {
    const out: Record<string, LoggerEntry> = { root: { level: fromPino[this.root.level] ?? 'INFO', last_modified: null } };
    for (const [name, e] of [...this.named.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      out[name] = { level: fromPino[e.logger.level] ?? 'INFO', last_modified: e.lastModified };
    }
    return out;
  }

  level(name: string): LoggerEntry | undefined {
    if (name === 'root') return { level: fromPino[this.root.level] ?? 'INFO', last_modified: null };
    const e = this.named.get(name);
    return e ? { level: fromPino[e.logger.level] ?? 'INFO', last_modified: e.lastModified } : undefined;
  }

  /**
   * Why the admin API may not set a level on `name` (undefined when it may):
   * a name of the worker's loggers or one above them is always allowed; a new
   * one only while fewer than MAX_ADMIN_LOGGERS were created that way.
   */
  refusal(name: string): string | undefined {
    if (!/^[A-Za-z0-9_$.-]{1,200}$/.test(name)) return `Logger name ${JSON.stringify(name.slice(0, 100))} is invalid: 1-200 letters, digits, '.', '_', '$' or '-'`;
    if (name === 'root' || this.named.has(name)) return undefined;
    for (const n of this.named.keys()) if (n.startsWith(`${name}.`)) return undefined;
    if (this.adminCreated >= LogManager.MAX_ADMIN_LOGGERS) return `Too many loggers: at most ${LogManager.MAX_ADMIN_LOGGERS} may be created through the admin API`;
    return undefined;
  }

  /** Sets the level of `name` and every logger below it; returns the names changed. */
  setLevel(name: string, level: LevelName): string[] {
    const pinoLevel = toPino[level.toUpperCase() as LevelName];
    const now = Date.now();
    const changed: string[] = [];
    if (name === 'root') {
      this.root.level = pinoLevel;
      changed.push('root');
      for (const [n, e] of this.named) {
        e.logger.level = pinoLevel;
        e.lastModified = now;
        changed.push(n);
      }
      return changed;
    }
    if (!this.named.has(name) && ![...this.named.keys()].some((n) => n.startsWith(`${name}.`))) this.adminCreated++;
    this.pino(name);
    for (const [n, e] of this.named) {
      if (n === name || n.startsWith(`${name}.`)) {
        e.logger.level = pinoLevel;
        e.lastModified = now;
        changed.push(n);
      }
    }
    return changed.sort();
  }

  flush(): void {
    this.root.flush();
  }
}
