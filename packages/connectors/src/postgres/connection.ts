/**
 * Connection options and helpers shared by the PostgreSQL connectors: one
 * declaration of `connection.*`, a client factory that maps failures to the
 * platform's error classes, and identifier quoting.
 */
import pg from 'pg';
import { Config, ConfigError, ConnectError, DataError, NotConnectedError, RetriableError } from '@ferry/core';
import { CONNECTION_ERROR_CODES } from '@ferry/connector-kit';
import { normalizeUrl, redactUrl, type ConnectionOptions } from './connection-config.js';

export { connectionFields, redactUrl, urlProblem, normalizeUrl, type ConnectionOptions } from './connection-config.js';

/** The pg client config for these options. Sessions run in UTC so timestamps without zone mean UTC. */
export function clientConfig(opts: ConnectionOptions, extra: Partial<pg.ClientConfig> = {}): pg.ClientConfig {
  const u = new URL(normalizeUrl(opts['connection.url']));
  if (opts['connection.user']) u.username = opts['connection.user'];
  if (opts['connection.password'] !== undefined && opts['connection.password'] !== '') u.password = opts['connection.password'];
  return {
    connectionString: u.toString(),
    application_name: 'ferry',
    options: '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3',
    // Every value arrives as its text form; the connectors convert by type OID themselves.
    types: { getTypeParser: () => rawText } as unknown as pg.CustomTypesConfig,
    // A server that accepts and never answers must not hold a task (or a validation) forever.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    ...extra,
  };
}

const rawText = (v: string) => v;

/** Longest wait for a PostgreSQL connection to be established (ms). */
export const CONNECT_TIMEOUT_MS = 10_000;

const CONNECT_CODES = CONNECTION_ERROR_CODES;

/** Opens a client, mapping failures to the error class the runtime acts on. */
export async function connect(opts: ConnectionOptions, extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(opts, extra));
  // An idle client whose server goes away emits 'error'; without a listener that kills the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw mapConnectError(err, opts);
  }
  return client;
}

export function mapConnectError(err: unknown, opts: ConnectionOptions): Error {
  const e = err as { code?: string; message?: string };
  const where = redactUrl(opts['connection.url']);
  if (e.code === '28P01' || e.code === '28000') {
    return new ConfigError(
      { 'connection.password': [`Authentication failed for ${where}: ${e.message}`] },
      `Authentication failed for ${where}: ${e.message}`,
    );
  }
  if (e.code === '3D000') {
    return new ConfigError({ 'connection.url': [`Database does not exist: ${e.message} (${where})`] });
  }
  return new NotConnectedError(`Cannot connect to PostgreSQL at ${where} (connection.url): ${e.message ?? String(err)}`, {
    cause: err,
  });
}

/**
 * Maps an error raised by a query to the platform's classes: lost connections
 * and transient server states are retriable, bad data is a DataError.
 */
export function mapQueryError(err: unknown, what: string): Error {
  if (err instanceof ConnectError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const msg = `${what}: ${e.message ?? String(err)}`;
  if (CONNECT_CODES.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || /Connection terminated|not queryable|Client was closed/i.test(e.message ?? '')) {
    return new NotConnectedError(msg, { cause: err });
  }
  // serialization failure, deadlock, lock not available, object in use (a slot still held by a dying session), too many connections
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '55006' || code === '53300' || code === '53400') {
    return new RetriableError(msg, { cause: err });
  }
  if (isDataErrorCode(code)) return new DataError(msg, { cause: err });
  return new ConnectError(msg, { cause: err });
}

/** SQLSTATE classes caused by a row's content: data exceptions and constraint violations. */
export function isDataErrorCode(code: string | undefined): boolean {
  return !!code && (code.startsWith('22') || code.startsWith('23'));
}

/** Quotes an identifier. */
export function qi(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface TableName {
  schema: string;
  table: string;
}

/** Parses `schema.table` or `table` (public schema); quoted parts keep dots and case. */
export function parseTableName(s: string, defaultSchema = 'public'): TableName {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '"') {
      if (quoted && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === '.' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  if (parts.length === 1) return { schema: defaultSchema, table: parts[0]!.trim() };
  return { schema: parts[parts.length - 2]!.trim(), table: parts[parts.length - 1]!.trim() };
}

export function qualified(t: TableName): string {
  return `${qi(t.schema)}.${qi(t.table)}`;
}

export function tableKey(t: TableName): string {
  return `${t.schema}.${t.table}`;
}

/** Closes a client, ignoring errors (it may already be broken). */
export async function closeQuietly(client: pg.Client | undefined): Promise<void> {
  if (!client) return;
  await client.end().catch(() => {});
}
