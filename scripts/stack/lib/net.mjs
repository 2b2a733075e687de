// Network probes: TCP connect, a tiny HTTP client, a line-protocol exchange,
// and a generic "wait until" loop.
import net from 'node:net';
import http from 'node:http';
import { sleep } from './proc.mjs';

/** Resolves true when something accepts a TCP connection on host:port. */
export function tcpProbe(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Minimal HTTP request. Resolves {status, headers, body} or rejects on a
 * connection error / timeout.
 */
export function httpRequest({ host = '127.0.0.1', port, method = 'GET', path = '/', headers = {}, body, timeoutMs = 5000 }) {
  return new Promise((resolve, reject) => {
    const payload = body == null ? null : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(
      {
        host,
        port,
        method,
        path,
        agent: false,
        headers: { ...(payload ? { 'Content-Length': payload.length } : {}), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`HTTP ${method} ${path} on ${host}:${port} timed out`)));
    req.on('error', reject);
    if (payload) req.end(payload);
    else req.end();
  });
}

/** httpRequest that returns null instead of throwing. */
export async function tryHttp(opts) {
  try {
    return await httpRequest(opts);
  } catch {
    return null;
  }
}

/**
 * Send `data` on a fresh TCP connection and collect the reply until
 * `isComplete(buffer)` says so (or timeout). Resolves the Buffer or null.
 */
export function tcpExchange(host, port, data, isComplete, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (v) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(null));
    sock.once('error', () => done(null));
    sock.once('connect', () => sock.write(data));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (isComplete(buf)) done(buf);
    });
    sock.once('end', () => done(isComplete(buf) ? buf : null));
  });
}

export class TimeoutError extends Error {}
export class ProcessExitedError extends Error {}

/**
 * Poll `check()` until it returns a truthy value; returns that value.
 * `alive()`, when given, is consulted between polls: if it returns false the
 * server died and waiting is pointless.
 */
export async function waitFor(check, { timeoutMs, intervalMs = 500, alive, what = 'service' }) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (alive && !alive()) {
      // One more look: it may have become ready and handed off (daemonizing servers).
      try {
        const v = await check();
        if (v) return v;
      } catch {
        // fall through
      }
      throw new ProcessExitedError(`${what} exited before it became ready`);
    }
    if (Date.now() >= deadline) {
      throw new TimeoutError(`${what} not ready after ${Math.round(timeoutMs / 1000)} s${lastErr ? ` (last error: ${lastErr.message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}
