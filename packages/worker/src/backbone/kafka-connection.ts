/**
 * How the worker reaches a Kafka cluster, independent of the client library
 * that implements the backbone. Built from the worker options
 * (`bootstrap.servers`, `security.protocol`, `ssl.*`, `sasl.*`, and the
 * `producer.` / `consumer.` / `admin.` prefixed overrides) and, per
 * connector, from `producer.override.*` / `consumer.override.*` when the
 * override policy allows them.
 */
export interface KafkaTls {
  /** PEM CA bundle the broker certificates are checked against (absent: the system's CAs). */
  ca?: string;
  /** PEM client certificate chain (mutual TLS). */
  cert?: string;
  /** PEM private key of the client certificate. */
  key?: string;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** false only when `ssl.endpoint.identification.algorithm` is empty. */
  checkServerIdentity: boolean;
}

export interface KafkaSasl {
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  username: string;
  password: string;
}

export interface KafkaConnection {
  brokers: string[];
  /** Set for security.protocol SSL and SASL_SSL. */
  tls?: KafkaTls;
  /** Set for security.protocol SASL_PLAINTEXT and SASL_SSL. */
  sasl?: KafkaSasl;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The connection of each kind of client the worker makes (`producer.`, `consumer.`, `admin.` prefixed options differ). */
export interface KafkaConnections {
  admin: KafkaConnection;
  producer: KafkaConnection;
  consumer: KafkaConnection;
}
