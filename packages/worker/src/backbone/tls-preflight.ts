import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import type { KafkaConnection } from './kafka-connection.js';

/**
 * Node's codes for a TLS set-up that no retry will fix: an untrusted or
 * mismatched certificate, or TLS spoken to a port that does not speak it.
 */
const CONFIG_ERROR = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|ERR_SSL_)/;

export function isTlsConfigError(err: unknown): boolean {
  return CONFIG_ERROR.test(String((err as NodeJS.ErrnoException)?.code ?? ''));
}

function hostPort(broker: string): { host: string; port: number } {
  const cut = broker.lastIndexOf(':');
  return { host: broker.slice(0, cut).replace(/^\[|\]$/g, ''), port: Number(broker.slice(cut + 1)) };
}

/**
 * One TLS handshake with the first broker that answers, with the client's
 * own TLS options. Client libraries retry a refused certificate like a
 * network error (for tens of seconds); this tells at once. Resolves the TLS
 * error when the set-up itself is wrong, undefined otherwise (fine, or no
 * broker reachable: the client reports that).
 */
export async function tlsPreflight(conn: KafkaConnection, timeoutMs = 5000): Promise<Error | undefined> {
  const tls = conn.tls;
  if (!tls) return undefined;
  for (const broker of conn.brokers) {
    const { host, port } = hostPort(broker);
    const opts: ConnectionOptions = { host, port, rejectUnauthorized: true };
    if (!isIP(host)) opts.servername = host;
    if (tls.ca) opts.ca = [tls.ca];
    if (tls.cert) opts.cert = tls.cert;
    if (tls.key) opts.key = tls.key;
    if (tls.passphrase !== undefined) opts.passphrase = tls.passphrase;
    if (!tls.checkServerIdentity) opts.checkServerIdentity = () => undefined;
    const err = await new Promise<Error | null | undefined>((resolve) => {
      const s = connect(opts, () => {
        s.end();
        resolve(null);
      });
      s.setTimeout(timeoutMs, () => {
        s.destroy();
        resolve(undefined);
      });
      s.once('error', (e) => {
        s.destroy();
        resolve(e);
      });
    });
    if (err === null) return undefined;
    if (err && isTlsConfigError(err)) return err;
  }
  return undefined;
}
