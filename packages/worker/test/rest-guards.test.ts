import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { allowedHostNames, cors, hostCheck, requireJsonBody } from '../src/rest/guards.js';

/** A real HTTP request with exactly these headers. */
function send(port: number, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/x', headers, setHost: !('host' in headers) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('REST guards', () => {
  let server: Server;
  let port = 0;
  before(async () => {
    const app = express();
    app.use(hostCheck(allowedHostNames(['127.0.0.1'], 'connect.example.com', ['proxy.internal'])));
    app.use(cors({ allowOrigin: 'https://ui.example', allowMethods: '' }));
    app.use(requireJsonBody());
    app.all('/x', (_req, res) => void res.status(200).end());
    server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    port = (server.address() as AddressInfo).port;
  });
  after(() => void server.close());

  it('accept loopback names, the advertised name and extra names; 421 otherwise', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'connect.example.com', 'CONNECT.example.com:443', 'proxy.internal:8083']) {
      assert.equal((await send(port, 'GET', { host })).status, 200, host);
    }
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', '[::2]:1']) {
      assert.equal((await send(port, 'GET', { host })).status, 421, host);
    }
    assert.equal(allowedHostNames(['0.0.0.0'], undefined, ['*']), undefined, '"*" turns the check off');
    assert.ok(allowedHostNames(['0.0.0.0'], undefined, [])!.has('127.0.0.1'));
  });

  it('refuse cross-origin writes from other origins; allow the configured one (GET, POST, HEAD by default)', async () => {
    const host = `127.0.0.1:${port}`;
    const json = { host, 'content-type': 'application/json' };
    assert.equal((await send(port, 'POST', { ...json, origin: 'https://evil.example' }, '{}')).status, 403);
    assert.equal((await send(port, 'POST', { ...json, origin: 'null' }, '{}')).status, 403);
    assert.equal((await send(port, 'POST', { ...json, origin: `http://${host}` }, '{}')).status, 200, 'own origin');
    const ok = await send(port, 'POST', { ...json, origin: 'https://ui.example' }, '{}');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://ui.example');
    assert.equal((await send(port, 'DELETE', { host, origin: 'https://ui.example' })).status, 403, 'DELETE not in the default methods');
    const pre = await send(port, 'OPTIONS', { host, origin: 'https://ui.example', 'access-control-request-method': 'POST' });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-methods'], 'GET,POST,HEAD');
  });

  it('415 for bodies that are not application/json; body-less requests pass', async () => {
    const host = `127.0.0.1:${port}`;
    assert.equal((await send(port, 'POST', { host, 'content-type': 'text/plain' }, '{}')).status, 415);
    assert.equal((await send(port, 'PUT', { host }, '{}')).status, 415);
    assert.equal((await send(port, 'POST', { host, 'content-type': 'application/json; charset=utf-8' }, '{}')).status, 200);
    assert.equal((await send(port, 'POST', { host })).status, 200);
  });
});
