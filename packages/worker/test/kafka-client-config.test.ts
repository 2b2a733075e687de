import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '@ferry/core';
import { jaasQuote, parseJaasConfig } from '../src/config/jaas-config.js';
import {
  buildKafkaConnections,
  clientOverrideSecretKeys,
  clientOverrideSecretValues,
  connectorConnections,
  parseOverridePolicy,
  validateClientOverrides,
} from '../src/config/kafka-client-config.js';
import { loadWorkerConfig } from '../src/config/worker-config.js';

const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const PLAIN = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const jaas = (module: string, user: string, password: string) => `${module} required username=${jaasQuote(user)} password=${jaasQuote(password)};`;

/** Field errors of a call expected to throw ConfigError. */
function fieldErrors(fn: () => unknown): Record<string, string[]> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.fieldErrors;
  }
  assert.fail('expected a ConfigError');
}

describe('sasl.jaas.config parsing', () => {
  it('reads the module, flag and quoted options', () => {
    const e = parseJaasConfig(`${SCRAM} required username="alice" password="s3cret";`);
    assert.equal(e.loginModule, SCRAM);
    assert.equal(e.controlFlag, 'required');
    assert.deepEqual(e.options, { username: 'alice', password: 's3cret' });
  });

  it('handles escapes, single quotes, bare words, comments and characters that are syntax outside quotes', () => {
    const e = parseJaasConfig(
      `/* comment */ ${PLAIN}  REQUIRED\n  username='bob' // line comment\n  password="a \\"quoted\\" ;= \\\\ value" serviceName=kafka-1 ;`,
    );
    assert.equal(e.controlFlag, 'required');
    assert.deepEqual(e.options, { username: 'bob', password: 'a "quoted" ;= \\ value', serviceName: 'kafka-1' });
  });

  it('round-trips any password through jaasQuote', () => {
    for (const pw of ['plain', 'with space', 'q"uote', 'back\\slash', "single'", 'semi;colon=eq', 'new\nline', 'ünïcødé']) {
      assert.equal(parseJaasConfig(jaas(SCRAM, 'u', pw)).options.password, pw);
    }
  });

  it('rejects malformed entries without quoting them', () => {
    const cases = [
      `${SCRAM} required username="alice" password="hunter2"`, // no ;
      `${SCRAM} username="alice" password="hunter2";`, // no flag
      `${SCRAM} required username "alice" password="hunter2";`, // no =
      `${SCRAM} required username="alice" password="hunter2;`, // unterminated
      `${SCRAM} required username="alice" password=;`,
      `${SCRAM} required password="hunter2"; ${PLAIN} required username="x" password="y";`, // two entries
      '',
    ];
    for (const c of cases) {
      assert.throws(
        () => parseJaasConfig(c),
        (err: Error) => !err.message.includes('hunter2') && !err.message.includes('alice'),
        c,
      );
    }
  });
});

describe('worker Kafka connections', () => {
  let dir: string;
  let caFile: string;
  let keystoreFile: string;
  let encKeystoreFile: string;
  let certPem: string;
  let keyPem: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-kcc-'));
    const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    sh('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=test');
    sh('pkcs8', '-topk8', '-in', 'key.pem', '-out', 'enc-key.pem', '-v2', 'aes-256-cbc', '-passout', 'pass:keypass');
    certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    keyPem = readFileSync(join(dir, 'key.pem'), 'utf8');
    caFile = join(dir, 'cert.pem');
    keystoreFile = join(dir, 'keystore.pem');
    writeFileSync(keystoreFile, keyPem + certPem);
    encKeystoreFile = join(dir, 'enc-keystore.pem');
    writeFileSync(encKeystoreFile, readFileSync(join(dir, 'enc-key.pem'), 'utf8') + certPem);
    writeFileSync(join(dir, 'store.jks'), Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to PLAINTEXT on 127.0.0.1:9092 for every client', () => {
    const c = buildKafkaConnections({});
    for (const k of ['admin', 'producer', 'consumer'] as const) assert.deepEqual(c[k], { brokers: ['127.0.0.1:9092'] });
  });

  it('builds SASL_SSL with SCRAM and a PEM trust store file', () => {
    const c = buildKafkaConnections({
      'bootstrap.servers': 'a:9094, b:9094',
      'security.protocol': 'sasl_ssl',
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.jaas.config': jaas(SCRAM, 'ferry', 'p"w'),
      'ssl.truststore.location': caFile,
    });
    assert.deepEqual(c.producer.brokers, ['a:9094', 'b:9094']);
    assert.deepEqual(c.producer.sasl, { mechanism: 'SCRAM-SHA-512', username: 'ferry', password: 'p"w' });
    assert.equal(c.producer.tls?.checkServerIdentity, true);
    assert.match(c.producer.tls!.ca!, /BEGIN CERTIFICATE/);
    assert.deepEqual(c.admin, c.consumer);
  });

  it('empty ssl.endpoint.identification.algorithm turns the host name check off; inline certificates work', () => {
    const c = buildKafkaConnections({
      'security.protocol': 'SSL',
      'ssl.endpoint.identification.algorithm': '',
      'ssl.truststore.certificates': certPem,
      'ssl.keystore.certificate.chain': certPem,
      'ssl.keystore.key': keyPem,
    });
    assert.equal(c.admin.tls?.checkServerIdentity, false);
    assert.match(c.admin.tls!.cert!, /BEGIN CERTIFICATE/);
    assert.match(c.admin.tls!.key!, /BEGIN PRIVATE KEY/);
    assert.equal(c.admin.sasl, undefined);
  });

  it('reads a PEM key store file, encrypted keys with ssl.key.password', () => {
    const ok = buildKafkaConnections({ 'security.protocol': 'SSL', 'ssl.keystore.location': encKeystoreFile, 'ssl.key.password': 'keypass' });
    assert.match(ok.producer.tls!.key!, /ENCRYPTED PRIVATE KEY/);
    assert.equal(ok.producer.tls!.passphrase, 'keypass');
    const plain = buildKafkaConnections({ 'security.protocol': 'SSL', 'ssl.keystore.location': keystoreFile });
    assert.match(plain.producer.tls!.cert!, /BEGIN CERTIFICATE/);
    assert.deepEqual(Object.keys(fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'SSL', 'ssl.keystore.location': encKeystoreFile }))), ['ssl.key.password']);
    const wrong = fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'SSL', 'ssl.keystore.location': encKeystoreFile, 'ssl.key.password': 'nope' }));
    assert.match(wrong['ssl.key.password']![0]!, /cannot decrypt/);
    assert.ok(!JSON.stringify(wrong).includes('nope'));
  });

  it('refuses JKS / PKCS12 with the command that converts to PEM', () => {
    const t = fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'SSL', 'ssl.truststore.type': 'JKS', 'ssl.truststore.location': join(dir, 'store.jks') }));
    assert.match(t['ssl.truststore.type']![0]!, /keytool -exportcert -rfc/);
    const k = fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'SSL', 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.location': join(dir, 'store.jks') }));
    assert.match(k['ssl.keystore.type']![0]!, /openssl pkcs12/);
    // A JKS file given as PEM: named, with the conversion hint.
    const f = fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'SSL', 'ssl.truststore.location': join(dir, 'store.jks') }));
    assert.match(f['ssl.truststore.location']![0]!, /holds no PEM certificate.*convert to PEM/);
    const missing = fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'SSL', 'ssl.truststore.location': join(dir, 'nope.pem') }));
    assert.match(missing['ssl.truststore.location']![0]!, /no such file/);
  });

  it('gives field errors for SASL without mechanism or credentials, and never shows the secret', () => {
    const e = fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'SASL_PLAINTEXT' }));
    assert.match(e['sasl.mechanism']![0]!, /required.*GSSAPI, is not supported/);
    assert.match(e['sasl.jaas.config']![0]!, /required/);
    const m = fieldErrors(() =>
      buildKafkaConnections({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': jaas(SCRAM, 'u', 'topsecret') }),
    );
    assert.match(m['sasl.jaas.config']![0]!, /needs the login module .*PlainLoginModule/);
    const s = fieldErrors(() =>
      buildKafkaConnections({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': `${PLAIN} required username="u" password="topsecret"` }),
    );
    assert.match(s['sasl.jaas.config']![0]!, /not in Kafka's JAAS syntax \(missing ";"/);
    const g = fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'GSSAPI', 'sasl.jaas.config': 'x' }));
    assert.match(g['sasl.mechanism']![0]!, /must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/);
    assert.ok(!JSON.stringify([m, s, g]).includes('topsecret'));
    const p = fieldErrors(() => buildKafkaConnections({ 'security.protocol': 'TLS' }));
    assert.match(p['security.protocol']![0]!, /must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/);
  });

  it('applies producer. / consumer. / admin. prefixes per client and names the prefixed option in errors', () => {
    const c = buildKafkaConnections({
      'security.protocol': 'SASL_SSL',
      'sasl.mechanism': 'SCRAM-SHA-256',
      'sasl.jaas.config': jaas(SCRAM, 'worker', 'w'),
      'producer.sasl.jaas.config': jaas(SCRAM, 'writer', 'x'),
      'consumer.sasl.mechanism': 'SCRAM-SHA-512',
      'admin.bootstrap.servers': 'other:9094',
      'admin.sasl.jaas.config': jaas(SCRAM, 'admin', 'y'),
      'consumer.session.timeout.ms': '10000',
    });
    assert.equal(c.producer.sasl?.username, 'writer');
    assert.equal(c.consumer.sasl?.username, 'worker');
    assert.equal(c.consumer.sasl?.mechanism, 'SCRAM-SHA-512');
    assert.deepEqual(c.admin.brokers, ['other:9094']);
    assert.equal(c.admin.sasl?.username, 'admin');
    // The operator's own prefixes keep the credentials with other brokers (only connector overrides lose them).
    const moved = buildKafkaConnections({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': jaas(PLAIN, 'w', 'p'), 'producer.bootstrap.servers': 'b2:9094' });
    assert.equal(moved.producer.sasl?.username, 'w');
    // A wrong prefixed value is named with its prefix; a missing option unprefixed (set once for every client).
    const bad = fieldErrors(() => buildKafkaConnections({ 'consumer.security.protocol': 'SASL_SSL', 'consumer.sasl.mechanism': 'OAUTHBEARER' }));
    assert.deepEqual(Object.keys(bad), ['consumer.sasl.mechanism']);
    const e = fieldErrors(() => buildKafkaConnections({ 'consumer.security.protocol': 'SASL_SSL', 'consumer.sasl.mechanism': 'PLAIN' }));
    assert.deepEqual(Object.keys(e), ['sasl.jaas.config']);
  });

  it('validates the whole worker config at load time (ConfigError naming the option)', () => {
    const e = fieldErrors(() => loadWorkerConfig({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-256', 'producer.sasl.jaas.config': 'garbage' }, {}));
    assert.ok(e['sasl.jaas.config'], JSON.stringify(e));
    assert.ok(e['producer.sasl.jaas.config'], JSON.stringify(e));
    const env = loadWorkerConfig({}, { CONNECT_SECURITY_PROTOCOL: 'SASL_SSL', CONNECT_SASL_MECHANISM: 'PLAIN', CONNECT_SASL_JAAS_CONFIG: jaas(PLAIN, 'e', 'f') });
    assert.equal(env.settings['security.protocol'], 'SASL_SSL');
    assert.equal(env.settings['connector.client.config.override.policy'], 'None');
    assert.throws(() => loadWorkerConfig({ 'connector.client.config.override.policy': 'Some' }, {}), /connector\.client\.config\.override\.policy/);
  });
});

describe('connector client overrides', () => {
  const worker = {
    'bootstrap.servers': '127.0.0.1:9094',
    'security.protocol': 'SASL_SSL',
    'sasl.mechanism': 'SCRAM-SHA-256',
    'sasl.jaas.config': jaas(SCRAM, 'worker', 'wpw'),
  };
  const policy = (p: string) => ({ ...worker, 'connector.client.config.override.policy': p });

  it('accepts Kafka Connect policy names and class names', () => {
    assert.equal(parseOverridePolicy(undefined), 'None');
    assert.equal(parseOverridePolicy('principal'), 'Principal');
    assert.equal(parseOverridePolicy('org.apache.kafka.connect.connector.policy.AllConnectorClientConfigOverridePolicy'), 'All');
    assert.equal(parseOverridePolicy('Everything'), undefined);
  });

  it('None (the default) refuses every override, naming the key', () => {
    const cfg = { 'producer.override.sasl.jaas.config': jaas(SCRAM, 'other', 'opw') };
    const e = validateClientOverrides(cfg, worker);
    assert.match(e['producer.override.sasl.jaas.config']![0]!, /'None' policy .* does not allow 'producer.override.sasl.jaas.config'/);
    assert.ok(!JSON.stringify(e).includes('opw'));
    assert.throws(() => connectorConnections(cfg, worker), ConfigError);
    assert.deepEqual(connectorConnections({ topics: 'x' }, worker), {});
  });

  it('Principal allows only sasl.jaas.config, sasl.mechanism and security.protocol', () => {
    const ok = { 'consumer.override.sasl.jaas.config': jaas(SCRAM, 'reader', 'rpw'), 'consumer.override.sasl.mechanism': 'SCRAM-SHA-512' };
    assert.deepEqual(validateClientOverrides(ok, policy('Principal')), {});
    const c = connectorConnections(ok, policy('Principal'));
    assert.equal(c.producer, undefined);
    assert.deepEqual(c.consumer?.sasl, { mechanism: 'SCRAM-SHA-512', username: 'reader', password: 'rpw' });
    assert.deepEqual(c.consumer?.brokers, ['127.0.0.1:9094']);
    const bad = validateClientOverrides({ 'producer.override.bootstrap.servers': 'evil:9092' }, policy('Principal'));
    assert.match(bad['producer.override.bootstrap.servers']![0]!, /Principal allows only/);
  });

  it('All allows every connection option, refuses what the worker cannot apply, checks values', () => {
    const w = policy('All');
    assert.match(validateClientOverrides({ 'producer.override.linger.ms': '5' }, w)['producer.override.linger.ms']![0]!, /not supported/);
    assert.match(validateClientOverrides({ 'admin.override.sasl.jaas.config': 'x' }, w)['admin.override.sasl.jaas.config']![0]!, /admin client/);
    const e = validateClientOverrides({ 'producer.override.sasl.jaas.config': `${SCRAM} required username="x" password="leak"` }, w);
    assert.match(e['producer.override.sasl.jaas.config']![0]!, /JAAS syntax/);
    assert.ok(!JSON.stringify(e).includes('leak'));
    // A value still holding a provider reference is checked when the task starts.
    assert.deepEqual(validateClientOverrides({ 'producer.override.sasl.jaas.config': '${file:/x.properties:jaas}' }, w), {});
  });

  it('credentials do not follow a connector to other brokers', () => {
    const w = policy('All');
    const e = validateClientOverrides({ 'producer.override.bootstrap.servers': 'elsewhere:9094' }, w);
    assert.match(e['producer.override.sasl.jaas.config']![0]!, /required/);
    const c = connectorConnections({ 'producer.override.bootstrap.servers': 'elsewhere:9094', 'producer.override.sasl.jaas.config': jaas(SCRAM, 'own', 'opw') }, w);
    assert.equal(c.producer?.sasl?.username, 'own');
    // Same brokers, written differently: the worker's credentials stay.
    assert.equal(connectorConnections({ 'producer.override.bootstrap.servers': ' 127.0.0.1:9094 ' }, w).producer?.sasl?.username, 'worker');
  });

  it('knows which override keys and values are secret', () => {
    const cfg = {
      'producer.override.sasl.jaas.config': jaas(SCRAM, 'u', 'pw-123'),
      'consumer.override.ssl.keystore.key': 'KEY',
      'producer.override.security.protocol': 'SASL_SSL',
      'topics': 't',
    };
    assert.deepEqual(clientOverrideSecretKeys(cfg).sort(), ['consumer.override.ssl.keystore.key', 'producer.override.sasl.jaas.config']);
    assert.ok(clientOverrideSecretValues(cfg).includes('pw-123'));
  });
});
