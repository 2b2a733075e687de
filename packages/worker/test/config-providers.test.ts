import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '@ferry/core';
import { ConfigProviders, restorePlaceholders } from '../src/config/config-providers.js';
import { parseCredentials } from '../src/rest/auth.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-providers-'));
const allowed = join(dir, 'secrets');
const outside = join(dir, 'elsewhere');
mkdirSync(allowed);
mkdirSync(outside);
writeFileSync(join(allowed, 'db.properties'), 'password=inside-s3cret\nuser: app\n');
writeFileSync(join(allowed, 'token'), 'dir-t0ken\n');
writeFileSync(join(outside, 'db.properties'), 'password=outside-s3cret\n');
writeFileSync(join(outside, 'token'), 'outside-t0ken\n');
symlinkSync(join(outside, 'token'), join(allowed, 'link'));

const declared = (extra: Record<string, string> = {}) =>
  ConfigProviders.fromWorkerConfig(
    {
      'config.providers': 'file,env,directory',
      'config.providers.file.class': 'org.apache.kafka.common.config.provider.FileConfigProvider',
      'config.providers.file.param.allowed.paths': allowed,
      'config.providers.env.class': 'EnvVarConfigProvider',
      'config.providers.env.param.allowlist.pattern': 'APP_.*',
      'config.providers.directory.class': 'directory',
      'config.providers.directory.param.allowed.paths': allowed,
      ...extra,
    },
    { APP_PASSWORD: 'env-s3cret', HOME_SECRET: 'not-for-you' },
  );

function errorsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return JSON.stringify(err.fieldErrors);
  }
  assert.fail('expected a ConfigError');
}

describe('config providers', () => {
  it('resolve nothing unless declared, with an error naming the provider', () => {
    const msg = errorsOf(() => ConfigProviders.none().resolve({ p: `\${file:${allowed}/db.properties:password}` }));
    assert.match(msg, /provider \\"file\\" is not declared/);
    assert.ok(!msg.includes('inside-s3cret'));
  });

  it('resolve declared references inside the allowed paths, by Kafka Connect class names or aliases', () => {
    const r = declared().resolve({
      a: `\${file:${allowed}/db.properties:password}`,
      b: '${env:APP_PASSWORD}',
      c: `\${directory:${allowed}:token}`,
      name: '${env:APP_PASSWORD}',
    });
    assert.deepEqual(r.config, { a: 'inside-s3cret', b: 'env-s3cret', c: 'dir-t0ken', name: '${env:APP_PASSWORD}' });
    assert.deepEqual(r.secrets.sort(), ['dir-t0ken', 'env-s3cret', 'inside-s3cret']);
  });

  it('refuse paths outside allowed.paths (KIP-993), naming the path and never the content', () => {
    const p = declared();
    for (const ref of [
      `\${file:${outside}/db.properties:password}`,
      `\${file:${allowed}/../elsewhere/db.properties:password}`,
      `\${directory:${outside}:token}`,
      `\${directory:${allowed}:../elsewhere/token}`,
      `\${directory:${allowed}:link}`,
      '${file:/etc/hostname:x}',
    ]) {
      const msg = errorsOf(() => p.resolve({ k: ref }));
      assert.match(msg, /not allowed|not a file name/, ref);
      assert.ok(!/outside-s3cret|outside-t0ken/.test(msg), ref);
    }
    assert.match(errorsOf(() => p.resolve({ k: `\${file:${outside}/db.properties:password}` })), new RegExp(`Path ${outside}/db.properties is not allowed by config.providers.file.param.allowed.paths`));
  });

  it('read only the environment variables the allowlist names', () => {
    const msg = errorsOf(() => declared().resolve({ k: '${env:HOME_SECRET}' }));
    assert.match(msg, /HOME_SECRET is not allowed by config.providers.env.param.allowlist.pattern/);
    assert.ok(!msg.includes('not-for-you'));
    assert.match(errorsOf(() => declared().resolve({ k: '${env:APP_MISSING}' })), /APP_MISSING is not set/);
  });

  it('check() reports missing references without returning values', () => {
    const p = declared();
    assert.deepEqual(p.check({ a: '${env:APP_PASSWORD}' }), {});
    const e = p.check({ a: `\${file:${allowed}/db.properties:nokey}` });
    assert.match(e.a![0]!, /No key nokey/);
  });

  it('refuse a declaration without a class, with an unknown class, or without its allowlist', () => {
    assert.throws(() => ConfigProviders.fromWorkerConfig({ 'config.providers': 'file' }), /config.providers.file.class is not set/);
    assert.throws(() => ConfigProviders.fromWorkerConfig({ 'config.providers': 'x', 'config.providers.x.class': 'com.example.Vault' }), /unknown config provider/);
    assert.throws(() => ConfigProviders.fromWorkerConfig({ 'config.providers': 'file', 'config.providers.file.class': 'FileConfigProvider' }), /allowed.paths is required/);
    assert.throws(() => ConfigProviders.fromWorkerConfig({ 'config.providers': 'env', 'config.providers.env.class': 'env' }), /allowlist.pattern is required/);
    assert.throws(() => ConfigProviders.fromWorkerConfig({ 'config.providers': 'file', 'config.providers.file.class': 'file', 'config.providers.file.param.allowed.paths': 'relative/dir' }), /not an absolute path/);
  });

  it('put placeholders back into task configs (by key and inside derived values)', () => {
    const p = declared();
    const raw = { pw: '${env:APP_PASSWORD}', url: 'http://x', n: '2' };
    const r = p.resolve(raw);
    const tasks = restorePlaceholders({ pw: 'env-s3cret', url: 'http://x', dsn: 'user:env-s3cret@host', n: '2' }, raw, r.config, r.references);
    assert.deepEqual(tasks, { pw: '${env:APP_PASSWORD}', url: 'http://x', dsn: 'user:${env:APP_PASSWORD}@host', n: '2' });
    assert.deepEqual(p.resolve(tasks).config.dsn, 'user:env-s3cret@host');
  });
});

describe('REST credentials files', () => {
  it('parse users, roles (read-only by default) and passwords containing commas', () => {
    const entries = parseCredentials('# users\nalice: a,b,c,admin\nbob= pw\ncarol: x,y\n', 'f');
    assert.deepEqual(entries, [
      { name: 'alice', secret: 'a,b,c', role: 'admin' },
      { name: 'bob', secret: 'pw', role: 'read-only' },
      { name: 'carol', secret: 'x,y', role: 'read-only' },
    ]);
    assert.throws(() => parseCredentials('nobody\n', 'creds.txt'), /creds.txt line 1/);
  });
});
