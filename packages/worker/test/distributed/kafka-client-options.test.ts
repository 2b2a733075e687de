import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { platformaticConnection } from '../../src/distributed/kafka-client-options.js';
import { buildKafkaConnections } from '../../src/config/kafka-client-config.js';

describe('the cluster clients connection options', () => {
  it('plaintext: brokers only', () => {
    assert.deepEqual(platformaticConnection({ brokers: ['127.0.0.1:9092'] }), { bootstrapBrokers: ['127.0.0.1:9092'] });
  });

  it('SASL_SSL from worker options: CA, SCRAM credentials, per-client mechanism overrides', () => {
    const files: Record<string, string> = { '/ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' };
    const c = buildKafkaConnections(
      {
        'bootstrap.servers': '127.0.0.1:9094',
        'security.protocol': 'SASL_SSL',
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': '/ca.pem',
        'sasl.mechanism': 'SCRAM-SHA-256',
        'sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";',
        'consumer.sasl.mechanism': 'SCRAM-SHA-512',
        'socket.connection.setup.timeout.ms': '4000',
      },
      (p) => {
        if (!(p in files)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
        return files[p]!;
      },
    );
    const producer = platformaticConnection(c.producer);
    assert.deepEqual(producer.bootstrapBrokers, ['127.0.0.1:9094']);
    assert.deepEqual(producer.sasl, { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' });
    assert.equal(producer.connectTimeout, 4000);
    assert.match(String(producer.tls?.ca), /BEGIN CERTIFICATE/);
    assert.equal(producer.tls?.checkServerIdentity, undefined, 'host names checked by default');
    assert.equal(platformaticConnection(c.consumer).sasl?.mechanism, 'SCRAM-SHA-512');
  });

  it('an empty ssl.endpoint.identification.algorithm turns host name checks off', () => {
    const o = platformaticConnection({ brokers: ['b:1'], tls: { checkServerIdentity: false, cert: 'C', key: 'K', passphrase: 'pp' } });
    assert.equal(typeof o.tls?.checkServerIdentity, 'function');
    assert.equal(o.tls?.checkServerIdentity!('b', {} as never), undefined);
    assert.equal(o.tls?.cert, 'C');
    assert.equal(o.tls?.key, 'K');
    assert.equal(o.tls?.passphrase, 'pp');
  });
});
