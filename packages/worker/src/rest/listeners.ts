import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import { resolve } from 'node:path';
import type { RequestListener } from 'node:http';
import type { WorkerSettings } from '../config/worker-config.js';

export interface Listener {
  protocol: 'http' | 'https';
  host: string;
  port: number;
}

/** `listeners` (Kafka Connect's http://host:port,https://host:port), or http on rest.host.name:rest.port. */
export function parseListeners(settings: WorkerSettings): Listener[] {
  if (settings.listeners.length === 0) return [{ protocol: 'http', host: settings['rest.host.name'], port: settings['rest.port'] }];
  return settings.listeners.map((l) => {
    const m = /^(https?):\/\/(\[[^\]]*\]|[^:/]*):(\d+)\/?$/i.exec(l.trim());
    if (!m) throw new Error(`listeners: ${l} is not of the form http://host:port or https://host:port`);
    const host = m[2]!.replace(/^\[|\]$/g, '');
    return { protocol: m[1]!.toLowerCase() as 'http' | 'https', host: host || '0.0.0.0', port: Number(m[3]) };
  });
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** Whether every listener binds a loopback address only. */
export function loopbackOnly(listeners: Listener[]): boolean {
  return listeners.every((l) => LOOPBACK.test(l.host));
}

/** TLS options of HTTPS listeners from listeners.https.ssl.* (PEM or PKCS12 key material). */
export function httpsOptions(s: WorkerSettings, baseDir: string): ServerOptions {
  const read = (p: string, what: string) => {
    try {
      return readFileSync(resolve(baseDir, p));
    } catch (err) {
      throw new Error(`Cannot read ${what} ${p} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const out: ServerOptions = {};
  const location = s['listeners.https.ssl.keystore.location'];
  if (location) {
    const data = read(location, 'listeners.https.ssl.keystore.location');
    if (s['listeners.https.ssl.keystore.type'] === 'PKCS12') {
      out.pfx = data;
      out.passphrase = s['listeners.https.ssl.keystore.password'];
    } else {
      // One PEM file holding the private key and the certificate chain, as Kafka's PEM keystores.
      out.key = data;
      out.cert = data;
      out.passphrase = s['listeners.https.ssl.key.password'] ?? s['listeners.https.ssl.keystore.password'];
    }
  } else if (s['listeners.https.ssl.keystore.key'] && s['listeners.https.ssl.keystore.certificate.chain']) {
    out.key = s['listeners.https.ssl.keystore.key'];
    out.cert = s['listeners.https.ssl.keystore.certificate.chain'];
    out.passphrase = s['listeners.https.ssl.key.password'];
  } else {
    throw new Error('An https listener needs listeners.https.ssl.keystore.location, or listeners.https.ssl.keystore.key and listeners.https.ssl.keystore.certificate.chain');
  }
  const clientAuth = s['listeners.https.ssl.client.auth'];
  if (clientAuth !== 'none') {
    const ca = s['listeners.https.ssl.truststore.location'];
    if (!ca) throw new Error('listeners.https.ssl.client.auth needs listeners.https.ssl.truststore.location (PEM CA certificates)');
    out.ca = read(ca, 'listeners.https.ssl.truststore.location');
    out.requestCert = true;
    out.rejectUnauthorized = clientAuth === 'required';
  }
  out.minVersion = 'TLSv1.2';
  return out;
}

/** Starts one server per listener; resolves when all listen. */
export async function startListeners(app: RequestListener, listeners: Listener[], tls: () => ServerOptions): Promise<Array<{ listener: Listener; server: NetServer }>> {
  const out: Array<{ listener: Listener; server: NetServer }> = [];
  try {
    for (const listener of listeners) {
      const server = listener.protocol === 'https' ? createHttpsServer(tls(), app) : createHttpServer(app);
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(listener.port, listener.host, () => {
          server.off('error', rej);
          res();
        });
      });
      out.push({ listener, server });
    }
  } catch (err) {
    for (const { server } of out) server.close();
    throw err;
  }
  return out;
}
