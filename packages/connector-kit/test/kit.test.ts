import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { allPlugins } from '@ferry/connectors';
import { AwsCredentialsConfig, awsCredentials, backoffDelay, checkAwsCredentials, connectionErrorCode, FERRY_VERSION, isConnectionError } from '../src/index.js';

describe('connector-kit', () => {
  it('backoff: doubles per attempt, capped, jitter within [half, all]', () => {
    for (let i = 0; i < 200; i++) {
      const d1 = backoffDelay(1, 100, 5000);
      assert.ok(d1 >= 50 && d1 <= 100, String(d1));
      const d3 = backoffDelay(3, 100, 5000);
      assert.ok(d3 >= 200 && d3 <= 400, String(d3));
      const capped = backoffDelay(30, 100, 5000);
      assert.ok(capped >= 2500 && capped <= 5000, String(capped));
    }
  });

  it('connection errors: codes on the error, along its causes and inside AggregateErrors', () => {
    assert.ok(isConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })));
    assert.equal(connectionErrorCode(new Error('wrapped', { cause: Object.assign(new Error('y'), { code: 'ETIMEDOUT' }) })), 'ETIMEDOUT');
    assert.ok(isConnectionError(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNRESET' })])));
    assert.ok(isConnectionError(Object.assign(new Error('undici'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
    assert.equal(isConnectionError(Object.assign(new Error('answer'), { code: '23505' })), false);
    assert.equal(isConnectionError(null), false);
  });

  it('AWS credentials: a pair, with an optional session token, or the default chain', () => {
    assert.equal(awsCredentials({}), undefined);
    assert.deepEqual(awsCredentials({ 'aws.access.key.id': 'a', 'aws.secret.access.key': 's', 'aws.session.token': 't' }), { accessKeyId: 'a', secretAccessKey: 's', sessionToken: 't' });
    assert.deepEqual(Object.keys(checkAwsCredentials({ 'aws.access.key.id': 'a' })), ['aws.secret.access.key']);
    assert.deepEqual(Object.keys(checkAwsCredentials({ 'aws.session.token': 't' })), ['aws.session.token']);
    assert.deepEqual(AwsCredentialsConfig.secretKeys().sort(), ['aws.secret.access.key', 'aws.session.token']);
    // both AWS connectors take the same credential options, session token included
    for (const cls of ['S3Sink', 'S3Source', 'KinesisSource', 'KinesisSink']) {
      const p = allPlugins.find((x) => x.className === cls)!;
      for (const k of ['aws.access.key.id', 'aws.secret.access.key', 'aws.session.token']) assert.ok(p.config.fields[k], `${cls}: ${k}`);
    }
  });

  it('one version: every package and every bundled plugin', () => {
    for (const pkg of ['core', 'connector-kit', 'connectors', 'worker']) {
      const json = JSON.parse(readFileSync(new URL(`../../${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string };
      assert.equal(json.version, FERRY_VERSION, `packages/${pkg}/package.json`);
    }
    for (const p of allPlugins) assert.equal(p.version, FERRY_VERSION, p.className);
  });
});
