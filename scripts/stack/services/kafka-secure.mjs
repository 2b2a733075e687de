// The secured listener of the stack's Kafka: SASL_SSL on 127.0.0.1:9094 with
// PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. Everything it needs is made here at
// first start, under the service's stack folder (nothing is checked in):
//
//   <stack>/kafka/secure/ca.pem        the CA that signed the broker certificate (clients trust this)
//   <stack>/kafka/secure/ca.key        its key (0600; only used to sign server.pem)
//   <stack>/kafka/secure/server.pem    broker key + certificate chain (PEM key store, 0600),
//                                      for IP 127.0.0.1 and DNS localhost
//   <stack>/kafka/secure/users.json    {"ferry": "<password>", "ferry2": "<password>"} (0600):
//                                      each user exists for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { run, which } from '../lib/proc.mjs';

export const SECURE_PORT = 9094;
export const USERS = ['ferry', 'ferry2'];

export function secureDir(serviceDir) {
  return path.join(serviceDir, 'secure');
}

/** Paths and credentials of the secured listener (after the first start). */
export function secureInfo(serviceDir, host = '127.0.0.1') {
  const dir = secureDir(serviceDir);
  const usersFile = path.join(dir, 'users.json');
  return {
    bootstrap: `${host}:${SECURE_PORT}`,
    caFile: path.join(dir, 'ca.pem'),
    usersFile,
    users: fs.existsSync(usersFile) ? JSON.parse(fs.readFileSync(usersFile, 'utf8')) : {},
  };
}

async function openssl(args, cwd) {
  if (!which('openssl')) throw new Error('the `openssl` command is needed to make the certificates of Kafka\'s SASL_SSL listener (apt-get install openssl)');
  await run('openssl', args, { cwd });
}

/** Makes the CA, the broker certificate and the users once; later starts reuse them. */
export async function ensureSecureMaterial(serviceDir, log) {
  const dir = secureDir(serviceDir);
  const done = ['ca.pem', 'server.pem', 'users.json'].every((f) => fs.existsSync(path.join(dir, f)));
  if (done) return secureInfo(serviceDir);
  log?.(`making the CA, broker certificate and SASL users of the SASL_SSL listener in ${dir}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true, mode: 0o755 });
  try {
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650',
      '-subj', '/CN=Ferry local stack CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], tmp);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], tmp);
    fs.writeFileSync(path.join(tmp, 'server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
    await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt',
      '-days', '3650', '-sha256', '-extfile', 'server.ext'], tmp);
    const read = (f) => fs.readFileSync(path.join(tmp, f), 'utf8').trim();
    fs.writeFileSync(path.join(tmp, 'server.pem'), `${read('server.key')}\n${read('server.crt')}\n${read('ca.pem')}\n`, { mode: 0o600 });
    for (const f of ['server.key', 'server.csr', 'server.ext', 'server.crt', 'ca.srl']) fs.rmSync(path.join(tmp, f), { force: true });
    fs.chmodSync(path.join(tmp, 'ca.key'), 0o600);
    fs.chmodSync(path.join(tmp, 'ca.pem'), 0o644);
    const users = Object.fromEntries(USERS.map((u) => [u, crypto.randomBytes(18).toString('hex')]));
    fs.writeFileSync(path.join(tmp, 'users.json'), `${JSON.stringify(users, null, 2)}\n`, { mode: 0o600 });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return secureInfo(serviceDir);
}

/** server.properties lines of the SASL_SSL listener (PLAIN users are declared here; SCRAM users live in the cluster metadata). */
export function secureServerProperties(serviceDir) {
  const { users } = secureInfo(serviceDir);
  const dir = secureDir(serviceDir);
  const plainUsers = Object.entries(users).map(([u, p]) => `user_${u}="${p}"`).join(' ');
  return `sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=${path.join(dir, 'server.pem')}
listener.name.sasl_ssl.ssl.client.auth=none
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
`;
}

/** `kafka-storage format` arguments that create the SCRAM users with a fresh data folder. */
export function formatScramArgs(serviceDir) {
  const { users } = secureInfo(serviceDir);
  return Object.entries(users).flatMap(([u, p]) => ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => ['--add-scram', `${m}=[name=${u},iterations=8192,password=${p}]`]));
}

/** Marks the SCRAM users of a freshly formatted data folder as made. */
export function markScramUsers(serviceDir) {
  fs.writeFileSync(path.join(secureDir(serviceDir), 'scram-users.done'), `${scramStamp(serviceDir)}\n`);
}

function scramStamp(serviceDir) {
  const { usersFile } = secureInfo(serviceDir);
  return `${clusterIdOf(serviceDir)}:${crypto.createHash('sha256').update(fs.readFileSync(usersFile)).digest('hex')}`;
}

function clusterIdOf(serviceDir) {
  try {
    return /^cluster\.id=(.+)$/m.exec(fs.readFileSync(path.join(serviceDir, 'data', 'meta.properties'), 'utf8'))?.[1]?.trim() ?? '';
  } catch {
    return '';
  }
}

/**
 * Creates (or updates) the SCRAM credentials of the users through the
 * PLAINTEXT listener once the broker answers. A marker holding the cluster id
 * and the users' hash skips this on later starts of the same data folder; a
 * data folder formatted before the secured listener existed gets its users
 * here.
 */
export async function ensureScramUsers(serviceDir, kafkaTool, log) {
  const { users } = secureInfo(serviceDir);
  const marker = path.join(secureDir(serviceDir), 'scram-users.done');
  const stamp = scramStamp(serviceDir);
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim() === stamp) return;
  // One mechanism per call: the broker refuses two credentials of one user in one request.
  for (const [user, password] of Object.entries(users)) {
    for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
      log?.(`adding the ${mech} credentials of user ${user}`);
      await kafkaTool('configs', ['--alter', '--entity-type', 'users', '--entity-name', user, '--add-config', `${mech}=[iterations=8192,password=${password}]`], {
        timeoutMs: 60_000,
      });
    }
  }
  fs.writeFileSync(marker, `${stamp}\n`);
}
