import { connectFailure } from './connect-failure.js';
import { tlsPreflight } from './tls-preflight.js';
import { GenericError, findErrorBy, type Admin, type BaseOptions } from '@platformatic/kafka';
import { NotConnectedError, RetriableError, type Logger } from '@ferry/core';
import type { KafkaConnection, KafkaConnections } from './kafka-connection.js';
import type { AssignmentStrategy } from './assignors.js';

export interface PlatformaticBackboneOptions {
  connections: KafkaConnections;
  clientId?: string;
  logger: Logger;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  fetchMaxWaitMs?: number;
  /** How often a regex subscription looks for new matching topics (metadata.max.age.ms). */
  metadataMaxAgeMs?: number;
  assignmentStrategy?: AssignmentStrategy;
}

/** What the consumer and admin take from the backbone that made them. */
export interface PlatformaticShared {
  readonly opts: PlatformaticBackboneOptions;
  /** The shared admin client. */
  adminConn(): Admin;
}

/** The client's connection options (brokers, TLS, SASL, timeouts) for one KafkaConnection. */
export function clientOptions(conn: KafkaConnection, clientId: string): BaseOptions {
  const o: BaseOptions = {
    clientId,
    bootstrapBrokers: conn.brokers,
    connectTimeout: conn.connectionTimeoutMs ?? 5000,
    requestTimeout: conn.requestTimeoutMs ?? 30000,
    retries: 5,
    retryDelay: 250,
  };
  if (conn.tls) {
    const t = conn.tls;
    o.tls = {
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert ? { cert: t.cert } : {}),
      ...(t.key ? { key: t.key } : {}),
      ...(t.passphrase ? { passphrase: t.passphrase } : {}),
      ...(t.checkServerIdentity ? {} : { checkServerIdentity: () => undefined }),
    };
  }
  if (conn.sasl) o.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password };
  return o;
}

/**
 * A client that could not connect: a refused certificate shows at once (TLS
 * pre-check), and authentication and TLS refusals fail the task instead of
 * being retried as network errors.
 */
export async function connectChecked(what: string, conn: KafkaConnection, connect: () => Promise<unknown>): Promise<void> {
  if (conn.tls) {
    const err = await tlsPreflight(conn, conn.connectionTimeoutMs ?? 5000);
    if (err) throw connectFailure(what, err);
  }
  try {
    await connect();
  } catch (err) {
    throw connectFailure(`${what} (${conn.brokers.join(',')})`, err);
  }
}

/** Transient client failures (network, timeouts, retriable broker errors, a rebalance) become RetriableError. */
export function translate(what: string, err: unknown, always = false): unknown {
  const e = err as Error;
  if (!(e instanceof Error)) return err;
  const transient =
    always ||
    (GenericError.isGenericError(e) &&
      (/PLT_KFK_(NETWORK|TIMEOUT)/.test(e.code) || !!findErrorBy(e, 'canRetry', true) || !!findErrorBy(e, 'needsRejoin', true) || !!findErrorBy(e, 'code', 'PLT_KFK_NETWORK')));
  return transient ? new RetriableError(`${what}: ${e.message}`, { cause: e }) : err;
}
