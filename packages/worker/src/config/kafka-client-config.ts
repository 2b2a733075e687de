import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Config, ConfigError, defineConfig, type FieldErrors } from '@ferry/core';
import type { KafkaConnection, KafkaConnections, KafkaSasl, KafkaTls } from '../backbone/kafka-connection.js';
import { JaasSyntaxError, parseJaasConfig } from './jaas-config.js';

/**
 * How the worker's Kafka clients reach the cluster, from Kafka's own client
 * option names: `bootstrap.servers`, `security.protocol`, `ssl.*`, `sasl.*`.
 * Each kind of client (producer, consumer, admin) takes the plain options,
 * then the worker's `producer.` / `consumer.` / `admin.` prefixed ones on top,
 * then (when `connector.client.config.override.policy` allows) a connector's
 * `producer.override.` / `consumer.override.` ones.
 *
 * Key and certificate stores are read as PEM only (files or Kafka's inline
 * `ssl.truststore.certificates` / `ssl.keystore.certificate.chain` /
 * `ssl.keystore.key`); JKS and PKCS12 stores are refused with the command
 * that converts them.
 */
const G = 'Kafka security';

/** The connection options, unprefixed (bootstrap.servers is declared with the worker's other options). */
export const KafkaClientConfigDef = defineConfig({
  'security.protocol': Config.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const, {
    doc: 'How the worker talks to the brokers: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL authentication over TLS).',
    default: 'PLAINTEXT',
    ignoreCase: true,
    importance: 'HIGH',
    group: G,
  }),
  'sasl.mechanism': Config.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const, {
    doc: 'SASL mechanism with security.protocol SASL_*: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (GSSAPI and OAUTHBEARER are not supported). Required with SASL.',
    optional: true,
    group: G,
  }),
  'sasl.jaas.config': Config.password({
    doc: 'Credentials in Kafka\'s JAAS syntax: `org.apache.kafka.common.security.plain.PlainLoginModule required username="..." password="...";` (PLAIN) or `org.apache.kafka.common.security.scram.ScramLoginModule required username="..." password="...";` (SCRAM). Best given as ${file:...} or ${env:...}.',
    optional: true,
    group: G,
  }),
  'ssl.truststore.type': Config.string({
    doc: 'Format of the trust store: PEM only (JKS and PKCS12 are refused with the command that converts them).',
    default: 'PEM',
    group: G,
  }),
  'ssl.truststore.location': Config.string({
    doc: 'PEM file of the CA certificates the broker certificates are checked against. Absent (and no ssl.truststore.certificates): the system CAs.',
    optional: true,
    group: G,
  }),
  'ssl.truststore.certificates': Config.password({ doc: 'The CA certificates inline, in PEM (instead of ssl.truststore.location).', optional: true, group: G }),
  'ssl.truststore.password': Config.password({ doc: 'Not used by PEM trust stores; refused when set.', optional: true, group: G }),
  'ssl.keystore.type': Config.string({ doc: 'Format of the client key store (mutual TLS): PEM only.', default: 'PEM', group: G }),
  'ssl.keystore.location': Config.string({
    doc: 'PEM file holding the client private key and its certificate chain (mutual TLS).',
    optional: true,
    group: G,
  }),
  'ssl.keystore.certificate.chain': Config.password({ doc: 'The client certificate chain inline, in PEM (with ssl.keystore.key).', optional: true, group: G }),
  'ssl.keystore.key': Config.password({ doc: 'The client private key inline, in PEM (PKCS#8; encrypted with ssl.key.password or not).', optional: true, group: G }),
  'ssl.keystore.password': Config.password({ doc: 'Not used by PEM key stores (the key is decrypted with ssl.key.password); refused when set.', optional: true, group: G }),
  'ssl.key.password': Config.password({ doc: 'Passphrase of an encrypted client private key.', optional: true, group: G }),
  'ssl.endpoint.identification.algorithm': Config.string({
    doc: 'https (the default) checks that the broker certificate names the host connected to; an empty value turns that check off.',
    optional: true,
    group: G,
  }),
  'socket.connection.setup.timeout.ms': Config.int({ doc: 'How long a connection to a broker may take to set up, TLS and SASL included (ms). Default: 3000.', optional: true, min: 1, group: G }),
  'request.timeout.ms': Config.int({ doc: 'How long the client waits for a broker\'s answer (ms). Default: 30000.', optional: true, min: 1, group: G }),
});

export type OverridePolicy = 'None' | 'Principal' | 'All';

const POLICY_NAMES: Record<string, OverridePolicy> = {
  none: 'None',
  principal: 'Principal',
  all: 'All',
  noneconnectorclientconfigoverridepolicy: 'None',
  principalconnectorclientconfigoverridepolicy: 'Principal',
  allconnectorclientconfigoverridepolicy: 'All',
};

/** `None`, `Principal`, `All`, or Kafka Connect's class names of those policies. */
export function parseOverridePolicy(v: string | undefined): OverridePolicy | undefined {
  if (v === undefined || v.trim() === '') return 'None';
  return POLICY_NAMES[v.trim().replace(/^org\.apache\.kafka\.connect\.connector\.policy\./, '').toLowerCase()];
}

const POLICY_KEY = 'connector.client.config.override.policy';

/** The worker options of this file: the connection options plus the override policy, checked as a whole. */
export const WorkerKafkaClientConfigDef = KafkaClientConfigDef.merge(
  defineConfig({
    'connector.client.config.override.policy': Config.string({
      doc: 'Which `producer.override.*` / `consumer.override.*` options a connector may set: None (the default: connectors use the worker\'s connection and identity), Principal (only sasl.jaas.config, sasl.mechanism, security.protocol) or All (every connection option this worker supports, bootstrap.servers and ssl.* included).',
      default: 'None',
      group: G,
    }),
  }),
).check((_cfg, raw) => {
  const errors: FieldErrors = {};
  if (parseOverridePolicy(raw[POLICY_KEY] === undefined ? undefined : String(raw[POLICY_KEY])) === undefined) {
    errors[POLICY_KEY] = ['must be one of None, Principal, All'];
  }
  try {
    buildKafkaConnections(stringMap(raw));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const [k, v] of Object.entries(err.fieldErrors)) (errors[k] ??= []).push(...v);
  }
  return errors;
});

function stringMap(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined && v !== null) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}

/** Every option a client kind can take from a prefix (bootstrap.servers plus the declared ones). */
export const CONNECTION_KEYS: ReadonlySet<string> = new Set(['bootstrap.servers', ...Object.keys(KafkaClientConfigDef.fields)]);
/** What Kafka Connect's Principal policy lets a connector override. */
export const PRINCIPAL_KEYS: ReadonlySet<string> = new Set(['sasl.jaas.config', 'sasl.mechanism', 'security.protocol']);
const SECRET_KEYS: ReadonlySet<string> = new Set(KafkaClientConfigDef.secretKeys());
const CREDENTIAL_KEYS = ['sasl.jaas.config', 'ssl.keystore.location', 'ssl.keystore.certificate.chain', 'ssl.keystore.key', 'ssl.keystore.password', 'ssl.key.password'];
const TRUSTSTORE_FORMS = ['ssl.truststore.location', 'ssl.truststore.certificates'];
const KEYSTORE_FORMS = ['ssl.keystore.location', 'ssl.keystore.certificate.chain', 'ssl.keystore.key', 'ssl.keystore.password', 'ssl.key.password'];

export const CLIENT_KINDS = ['producer', 'consumer', 'admin'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** Options layered from several prefixes, remembering which option name each value came from (for error messages). */
interface Layered {
  props: Record<string, string>;
  origin: Record<string, string>;
  /** The prefix of the most specific layer (names the options a layer lacks). */
  top: string;
}

function layer(into: Layered, src: Record<string, string>, prefix: string, fromConnector = false): Layered {
  const added: Record<string, string> = {};
  for (const [k, v] of Object.entries(src)) {
    if (!k.startsWith(prefix)) continue;
    const key = k.slice(prefix.length);
    if (CONNECTION_KEYS.has(key)) added[key] = v;
  }
  const props = { ...into.props };
  const origin = { ...into.origin };
  const drop = (keys: string[]) => {
    for (const k of keys) {
      if (k in added) continue;
      delete props[k];
      delete origin[k];
    }
  };
  // One form of a store given by a more specific layer replaces the other form.
  if (TRUSTSTORE_FORMS.some((k) => k in added)) drop(TRUSTSTORE_FORMS);
  if (KEYSTORE_FORMS.some((k) => k in added)) drop(KEYSTORE_FORMS);
  // A connector's credentials-free override cannot take the worker's credentials to other brokers: those need their own.
  if (fromConnector && 'bootstrap.servers' in added && normList(added['bootstrap.servers']!) !== normList(props['bootstrap.servers'] ?? '127.0.0.1:9092')) {
    drop(CREDENTIAL_KEYS);
  }
  for (const [k, v] of Object.entries(added)) {
    props[k] = v;
    origin[k] = prefix + k;
  }
  return { props, origin, top: prefix };
}

function normList(v: string): string {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(',');
}

function workerLayers(raw: Record<string, string>, kind: ClientKind): Layered {
  // An option no worker layer sets is named unprefixed in errors (it is most likely wanted for every client).
  return { ...layer(layer({ props: {}, origin: {}, top: '' }, raw, ''), raw, `${kind}.`), top: '' };
}

const CONVERT_TRUSTSTORE =
  'JKS and PKCS12 trust stores are not read: convert to PEM (e.g. `keytool -exportcert -rfc -keystore truststore.jks -alias <alias> -file ca.pem`, or `openssl pkcs12 -in truststore.p12 -nokeys -out ca.pem`), then set ssl.truststore.type=PEM and ssl.truststore.location=ca.pem';
const CONVERT_KEYSTORE =
  'JKS and PKCS12 key stores are not read: convert to one PEM file holding the private key and the certificate chain (e.g. `keytool -importkeystore -srckeystore keystore.jks -destkeystore keystore.p12 -deststoretype PKCS12`, then `openssl pkcs12 -in keystore.p12 -out keystore.pem` and enter a PEM pass phrase to keep the key encrypted), then set ssl.keystore.type=PEM, ssl.keystore.location=keystore.pem and ssl.key.password';

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN (ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]*?-----END \1?PRIVATE KEY-----/;

export interface ReadFile {
  (path: string): string;
}

const defaultReadFile: ReadFile = (p) => readFileSync(p, 'utf8');

/** A file error without its content: the code or a short reason. */
function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? 'cannot be read';
}

/** Builds one client's connection from layered options; every problem is a field error naming the option as the user wrote it. */
function connectionFrom(l: Layered, errors: FieldErrors, readFile: ReadFile): KafkaConnection | undefined {
  const { props } = l;
  const name = (k: string) => l.origin[k] ?? l.top + k;
  const fail = (k: string, msg: string) => (errors[name(k)] ??= []).push(msg);
  const before = Object.keys(errors).length;

  const v = KafkaClientConfigDef.validate(props);
  for (const [k, msgs] of Object.entries(v.errors)) {
    for (const m of msgs) fail(k, m.replace(`for configuration ${k}`, `for configuration ${name(k)}`));
  }
  const brokers = (props['bootstrap.servers'] ?? '127.0.0.1:9092')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (brokers.length === 0) fail('bootstrap.servers', 'must name at least one broker (host:port)');
  for (const b of brokers) if (!/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b)) fail('bootstrap.servers', `${JSON.stringify(b)} is not host:port`);
  if (v.errorCount > 0) return undefined;
  const cfg = v.value;
  const protocol = cfg['security.protocol']!;
  const conn: KafkaConnection = { brokers };
  if (cfg['socket.connection.setup.timeout.ms'] !== undefined) conn.connectionTimeoutMs = cfg['socket.connection.setup.timeout.ms'];
  if (cfg['request.timeout.ms'] !== undefined) conn.requestTimeoutMs = cfg['request.timeout.ms'];

  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const tls: KafkaTls = { checkServerIdentity: true };
    const algo = props['ssl.endpoint.identification.algorithm'];
    if (algo !== undefined) {
      if (algo.trim() === '') tls.checkServerIdentity = false;
      else if (algo.trim().toLowerCase() !== 'https') fail('ssl.endpoint.identification.algorithm', 'must be https or empty (no host name check)');
    }
    // Trust store.
    if (String(cfg['ssl.truststore.type']).toUpperCase() !== 'PEM') fail('ssl.truststore.type', CONVERT_TRUSTSTORE);
    else {
      if (cfg['ssl.truststore.password'] !== undefined) fail('ssl.truststore.password', 'PEM trust stores have no password: remove this option');
      const loc = cfg['ssl.truststore.location'];
      const inline = cfg['ssl.truststore.certificates'];
      if (loc !== undefined && inline !== undefined) fail('ssl.truststore.certificates', 'set either ssl.truststore.location or ssl.truststore.certificates, not both');
      else if (loc !== undefined) {
        let text: string | undefined;
        try {
          text = readFile(loc);
        } catch (err) {
          fail('ssl.truststore.location', `cannot read ${JSON.stringify(loc)}: ${fileProblem(err)}`);
        }
        if (text !== undefined) {
          const certs = text.match(CERT_BLOCK);
          if (!certs) fail('ssl.truststore.location', `${JSON.stringify(loc)} holds no PEM certificate (-----BEGIN CERTIFICATE-----). ${CONVERT_TRUSTSTORE}`);
          else tls.ca = certs.join('\n');
        }
      } else if (inline !== undefined) {
        const certs = inline.match(CERT_BLOCK);
        if (!certs) fail('ssl.truststore.certificates', 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
        else tls.ca = certs.join('\n');
      }
    }
    // Key store (mutual TLS).
    const ksLoc = cfg['ssl.keystore.location'];
    const ksChain = cfg['ssl.keystore.certificate.chain'];
    const ksKey = cfg['ssl.keystore.key'];
    const anyKeystore = ksLoc !== undefined || ksChain !== undefined || ksKey !== undefined;
    if (anyKeystore && String(cfg['ssl.keystore.type']).toUpperCase() !== 'PEM') fail('ssl.keystore.type', CONVERT_KEYSTORE);
    else if (anyKeystore) {
      if (cfg['ssl.keystore.password'] !== undefined) fail('ssl.keystore.password', 'PEM key stores have no store password: give the key\'s passphrase as ssl.key.password, or remove this option');
      let certText: string | undefined;
      let keyText: string | undefined;
      let keyField = 'ssl.keystore.key';
      if (ksLoc !== undefined && (ksChain !== undefined || ksKey !== undefined)) {
        fail('ssl.keystore.location', 'set either ssl.keystore.location or ssl.keystore.certificate.chain with ssl.keystore.key, not both');
      } else if (ksLoc !== undefined) {
        keyField = 'ssl.keystore.location';
        try {
          const text = readFile(ksLoc);
          certText = text;
          keyText = text;
        } catch (err) {
          fail('ssl.keystore.location', `cannot read ${JSON.stringify(ksLoc)}: ${fileProblem(err)}`);
        }
      } else {
        if (ksChain === undefined) fail('ssl.keystore.certificate.chain', 'required with ssl.keystore.key');
        if (ksKey === undefined) fail('ssl.keystore.key', 'required with ssl.keystore.certificate.chain');
        certText = ksChain;
        keyText = ksKey;
      }
      if (certText !== undefined && keyText !== undefined) {
        const certs = certText.match(CERT_BLOCK);
        const key = KEY_BLOCK.exec(keyText);
        const where = keyField === 'ssl.keystore.location' ? `${JSON.stringify(ksLoc)} ` : '';
        if (!certs) fail(keyField === 'ssl.keystore.location' ? keyField : 'ssl.keystore.certificate.chain', `${where}holds no PEM certificate (-----BEGIN CERTIFICATE-----). ${CONVERT_KEYSTORE}`);
        if (!key) fail(keyField, `${where}holds no PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----). ${CONVERT_KEYSTORE}`);
        if (certs && key) {
          const passphrase = cfg['ssl.key.password'];
          const encrypted = key[1] === 'ENCRYPTED ' || /Proc-Type: 4,ENCRYPTED/.test(key[0]);
          if (encrypted && passphrase === undefined) fail('ssl.key.password', 'the client private key is encrypted: its passphrase is required');
          else {
            try {
              createPrivateKey({ key: key[0], format: 'pem', passphrase });
              tls.cert = certs.join('\n');
              tls.key = key[0];
              if (passphrase !== undefined) tls.passphrase = passphrase;
            } catch {
              fail(encrypted ? 'ssl.key.password' : keyField, encrypted ? 'cannot decrypt the client private key with this passphrase' : 'the client private key cannot be read');
            }
          }
        }
      }
    }
    conn.tls = tls;
  }

  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = cfg['sasl.mechanism'];
    const jaas = cfg['sasl.jaas.config'];
    if (mechanism === undefined) fail('sasl.mechanism', `required with security.protocol ${protocol}: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (Kafka's default, GSSAPI, is not supported)`);
    if (jaas === undefined) fail('sasl.jaas.config', `required with security.protocol ${protocol}`);
    if (mechanism !== undefined && jaas !== undefined) {
      const sasl = saslFrom(mechanism, jaas, (m) => fail('sasl.jaas.config', m));
      if (sasl) conn.sasl = sasl;
    }
  }
  return Object.keys(errors).length > before ? undefined : conn;
}

const MODULES: Record<string, string> = {
  PLAIN: 'org.apache.kafka.common.security.plain.PlainLoginModule',
  'SCRAM-SHA-256': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  'SCRAM-SHA-512': 'org.apache.kafka.common.security.scram.ScramLoginModule',
};

/** Username and password from a JAAS entry; messages never quote the entry. */
function saslFrom(mechanism: KafkaSasl['mechanism'], jaas: string, fail: (m: string) => void): KafkaSasl | undefined {
  let entry;
  try {
    entry = parseJaasConfig(jaas);
  } catch (err) {
    if (err instanceof JaasSyntaxError) {
      fail(`is not in Kafka's JAAS syntax (${err.message}); expected: ${MODULES[mechanism]} required username="..." password="...";`);
      return undefined;
    }
    throw err;
  }
  const want = MODULES[mechanism]!;
  if (entry.loginModule !== want) {
    fail(`sasl.mechanism ${mechanism} needs the login module ${want}`);
    return undefined;
  }
  if (entry.controlFlag !== 'required') {
    fail('the login module entry must be "required"');
    return undefined;
  }
  if (/^true$/i.test(entry.options.tokenauth ?? '')) {
    fail('delegation tokens (tokenauth=true) are not supported');
    return undefined;
  }
  const { username, password } = entry.options;
  if (!username) fail('has no username="..." option');
  if (password === undefined) fail('has no password="..." option');
  if (!username || password === undefined) return undefined;
  return { mechanism, username, password };
}

/** The worker's connection for each kind of client; throws ConfigError naming every offending option. */
export function buildKafkaConnections(raw: Record<string, string>, readFile: ReadFile = defaultReadFile): KafkaConnections {
  const errors: FieldErrors = {};
  const out: Partial<KafkaConnections> = {};
  for (const kind of CLIENT_KINDS) {
    const c = connectionFrom(workerLayers(raw, kind), errors, readFile);
    if (c) out[kind] = c;
  }
  if (Object.keys(errors).length) throw new ConfigError(dedupe(errors));
  return out as KafkaConnections;
}

function dedupe(errors: FieldErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [k, v] of Object.entries(errors)) out[k] = [...new Set(v)];
  return out;
}

// ------------------------------------------------------- connector overrides

const OVERRIDE = /^(producer|consumer|admin)\.override\.(.+)$/;

/** The `*.override.*` keys a connector config holds. */
export function overrideKeys(connectorConfig: Record<string, string>): string[] {
  return Object.keys(connectorConfig).filter((k) => OVERRIDE.test(k));
}

/** Override keys holding secrets (shown as [hidden], scrubbed from logs). */
export function clientOverrideSecretKeys(connectorConfig: Record<string, string>): string[] {
  return overrideKeys(connectorConfig).filter((k) => SECRET_KEYS.has(OVERRIDE.exec(k)![2]!));
}

/** Secret values of a connector's overrides: the password-type options and the passwords inside their JAAS entries. */
export function clientOverrideSecretValues(connectorConfig: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of clientOverrideSecretKeys(connectorConfig)) {
    const v = connectorConfig[k]!;
    out.push(v);
    if (k.endsWith('.sasl.jaas.config')) {
      try {
        const p = parseJaasConfig(v).options.password;
        if (p) out.push(p);
      } catch {
        /* reported by validation */
      }
    }
  }
  return out;
}

/** Why a policy refuses an override key (undefined: allowed). */
function policyRefusal(key: string, policy: OverridePolicy): string | undefined {
  const m = OVERRIDE.exec(key)!;
  const [, kind, option] = m;
  const refused = `The '${policy}' policy of connector.client.config.override.policy does not allow '${key}' to be overridden in the connector configuration`;
  if (policy === 'None') return `${refused}.`;
  if (policy === 'Principal' && !PRINCIPAL_KEYS.has(option!)) return `${refused} (Principal allows only sasl.jaas.config, sasl.mechanism and security.protocol).`;
  if (kind === 'admin') return `'${key}' is not supported: topics are created by the worker's own admin client (set the worker's admin.* options).`;
  if (!CONNECTION_KEYS.has(option!)) {
    return `'${key}' is not supported: connectors may override only how their clients reach Kafka (${[...CONNECTION_KEYS].join(', ')}).`;
  }
  return undefined;
}

/**
 * Checks a connector's `*.override.*` options against the policy and, when
 * they are allowed and already resolved, their values. Field errors name the
 * override option; they never quote a secret value.
 */
export function validateClientOverrides(connectorConfig: Record<string, string>, workerRaw: Record<string, string>, readFile: ReadFile = defaultReadFile): FieldErrors {
  const errors: FieldErrors = {};
  const policy = parseOverridePolicy(workerRaw[POLICY_KEY]) ?? 'None';
  const keys = overrideKeys(connectorConfig);
  for (const k of keys) {
    const why = policyRefusal(k, policy);
    if (why) (errors[k] ??= []).push(why);
  }
  if (Object.keys(errors).length || keys.length === 0) return errors;
  // Values still holding ${provider:...} references are checked when the task starts.
  const resolved = !keys.some((k) => connectorConfig[k]!.includes('${'));
  if (!resolved) return errors;
  for (const kind of ['producer', 'consumer'] as const) {
    if (!keys.some((k) => k.startsWith(`${kind}.override.`))) continue;
    connectionFrom(layer(workerLayers(workerRaw, kind), connectorConfig, `${kind}.override.`, true), errors, readFile);
  }
  return dedupe(errors);
}

/**
 * The producer and consumer connections of a connector's tasks: the worker's,
 * with the connector's allowed overrides on top. Only kinds the connector
 * overrides are returned (the others use the backbone's own). Throws
 * ConfigError when the policy refuses an override (a connector stored before
 * the policy changed) or a value is invalid.
 */
export function connectorConnections(
  connectorConfig: Record<string, string>,
  workerRaw: Record<string, string>,
  readFile: ReadFile = defaultReadFile,
): { producer?: KafkaConnection; consumer?: KafkaConnection } {
  const keys = overrideKeys(connectorConfig);
  if (keys.length === 0) return {};
  const policy = parseOverridePolicy(workerRaw[POLICY_KEY]) ?? 'None';
  const errors: FieldErrors = {};
  for (const k of keys) {
    const why = policyRefusal(k, policy);
    if (why) (errors[k] ??= []).push(why);
  }
  if (Object.keys(errors).length) throw new ConfigError(errors);
  const out: { producer?: KafkaConnection; consumer?: KafkaConnection } = {};
  for (const kind of ['producer', 'consumer'] as const) {
    if (!keys.some((k) => k.startsWith(`${kind}.override.`))) continue;
    const c = connectionFrom(layer(workerLayers(workerRaw, kind), connectorConfig, `${kind}.override.`, true), errors, readFile);
    if (c) out[kind] = c;
  }
  if (Object.keys(errors).length) throw new ConfigError(dedupe(errors));
  return out;
}

/** Secret values of the worker's own connections (to scrub from logs and traces). */
export function connectionSecrets(c: KafkaConnections): string[] {
  const out = new Set<string>();
  for (const conn of [c.admin, c.producer, c.consumer]) {
    if (conn.sasl?.password) out.add(conn.sasl.password);
    if (conn.tls?.passphrase) out.add(conn.tls.passphrase);
    if (conn.tls?.key) out.add(conn.tls.key);
  }
  return [...out];
}
