import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { SASLOptions } from '@platformatic/kafka';
import type { KafkaConnection } from '../backbone/kafka-connection.js';

/** The connection options of a @platformatic/kafka client (Admin, Producer, Consumer). */
export interface PlatformaticConnection {
  bootstrapBrokers: string[];
  tls?: TlsOptions;
  sasl?: SASLOptions;
  connectTimeout?: number;
}

/**
 * How the cluster's own clients (group membership, the config, offset and
 * status topics, exactly-once transactional producers) reach Kafka: the
 * worker's connection (`bootstrap.servers`, `security.protocol`, `ssl.*`,
 * `sasl.*`, with the `producer.` / `consumer.` / `admin.` overrides) in
 * @platformatic/kafka's terms.
 */
export function platformaticConnection(conn: KafkaConnection): PlatformaticConnection {
  const out: PlatformaticConnection = { bootstrapBrokers: conn.brokers };
  if (conn.tls) {
    const tls: TlsOptions = {};
    if (conn.tls.ca) tls.ca = conn.tls.ca;
    if (conn.tls.cert) tls.cert = conn.tls.cert;
    if (conn.tls.key) tls.key = conn.tls.key;
    if (conn.tls.passphrase !== undefined) tls.passphrase = conn.tls.passphrase;
    if (!conn.tls.checkServerIdentity) tls.checkServerIdentity = () => undefined;
    out.tls = tls;
  }
  if (conn.sasl) out.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password };
  if (conn.connectionTimeoutMs !== undefined) out.connectTimeout = conn.connectionTimeoutMs;
  return out;
}
