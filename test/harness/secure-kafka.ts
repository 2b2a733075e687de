import { connect } from 'node:net';
// @ts-expect-error: the stack scripts are plain JavaScript without types
import { kafkaSecureInfo } from '../../scripts/stack/services/kafka.mjs';
import { requireStack } from './stack.js';

export interface SecureKafka {
  /** host:port of the stack Kafka's SASL_SSL listener */
  bootstrap: string;
  /** PEM CA the broker certificate was signed with */
  caFile: string;
  /** user -> password; each exists for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 */
  users: Record<string, string>;
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** The stack Kafka's SASL_SSL listener; fails (never skips) when it is not there. */
export async function requireSecureKafka(): Promise<SecureKafka> {
  await requireStack('kafka');
  const info = kafkaSecureInfo() as SecureKafka;
  const [host, port] = info.bootstrap.split(':');
  if (Object.keys(info.users).length === 0 || !(await reachable(host!, Number(port)))) {
    throw new Error(
      `The stack Kafka has no SASL_SSL listener on ${info.bootstrap} (users: ${(info as { usersFile?: string }).usersFile ?? 'none'}). ` +
        'It was started before the listener existed: restart it with `node scripts/stack.mjs down kafka && node scripts/stack.mjs up kafka`.',
    );
  }
  return info;
}

/** A sasl.jaas.config value in Kafka's syntax. */
export function scramJaas(user: string, password: string): string {
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}";`;
}
