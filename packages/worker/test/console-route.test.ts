import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import express from 'express';
import { consoleRouter } from '../src/rest/console.js';

describe('console route', () => {
  it('redirects /ui to /ui/, says when the console is not built, serves files and falls back to index.html', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-ui-')) + '/';
    const app = express();
    app.use('/ui', consoleRouter(dir));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const redirect = await fetch(`${base}/ui`, { redirect: 'manual' });
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get('location'), '/ui/');
      const missing = await fetch(`${base}/ui/`);
      assert.equal(missing.status, 503);
      assert.match((await missing.json()).message, /not built/);
      writeFileSync(join(dir, 'index.html'), '<html>console</html>');
      writeFileSync(join(dir, 'app.js'), 'console.log(1)');
      assert.equal(await (await fetch(`${base}/ui/`)).text(), '<html>console</html>');
      const js = await fetch(`${base}/ui/app.js`);
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
      assert.equal(await (await fetch(`${base}/ui/connectors/x`)).text(), '<html>console</html>');
    } finally {
      server.close();
    }
  });
});
