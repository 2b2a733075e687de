import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { connectFailure } from '../src/backbone/kafka-backbone.js';
import { isTlsConfigError, tlsPreflight } from '../src/backbone/tls-preflight.js';

/** A local TLS server whose certificate names only "kafka.example" (no IP): the host name check must refuse 127.0.0.1. */
describe('TLS preflight', () => {
  let dir: string;
  let server: Server;
  let broker: string;
  let cert: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=kafka.example', '-addext', 'subjectAltName=DNS:kafka.example'], { cwd: dir, stdio: 'pipe' });
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    broker = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an untrusted certificate at once', async () => {
    const err = await tlsPreflight({ brokers: [broker], tls: { checkServerIdentity: true } });
    assert.ok(err && isTlsConfigError(err), String(err));
    const wrapped = connectFailure('Producer p', err);
    assert.match(wrapped.message, /^Producer p cannot set up TLS with Kafka \(check ssl\.truststore\.\*/);
    assert.equal(wrapped.code, 'CONNECT_ERROR');
  });

  it('checks the host name unless ssl.endpoint.identification.algorithm is empty', async () => {
    const err = await tlsPreflight({ brokers: [broker], tls: { ca: cert, checkServerIdentity: true } });
    assert.equal((err as NodeJS.ErrnoException | undefined)?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(await tlsPreflight({ brokers: [broker], tls: { ca: cert, checkServerIdentity: false } }), undefined);
  });

  it('leaves unreachable brokers and plaintext connections to the client', async () => {
    assert.equal(await tlsPreflight({ brokers: ['127.0.0.1:1'], tls: { checkServerIdentity: true } }), undefined);
    assert.equal(await tlsPreflight({ brokers: [broker] }), undefined);
    const net = connectFailure('Consumer', Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSConnectionError' }));
    assert.equal(net.code, 'NOT_CONNECTED');
    const auth = connectFailure('Consumer', Object.assign(new Error('SASL SCRAM SHA256 authentication failed: invalid credentials'), { name: 'KafkaJSSASLAuthenticationError' }));
    assert.equal(auth.code, 'CONNECT_ERROR');
    assert.match(auth.message, /cannot authenticate to Kafka/);
  });
});
