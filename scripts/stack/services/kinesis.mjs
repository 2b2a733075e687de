// Kinesis emulator on 127.0.0.1:4568 (plain HTTP).
// Default: kinesis-local (the kinesis-mock emulator, closer to the real API,
// slower). KINESIS_EMULATOR=kinesalite selects kinesalite (in memory, fast).
// Both listen on every interface by themselves; lib/bind-loopback.cjs keeps
// them on loopback. Stream state transitions (CREATING -> ACTIVE, ...) take
// KINESIS_STATE_DELAY_MS (default 100) instead of 500 ms.
// Clients: @aws-sdk/client-kinesis with endpoint http://127.0.0.1:4568 and
// requestHandler: new NodeHttpHandler() (HTTP/1.1), region us-east-1.
import fs from 'node:fs';
import path from 'node:path';
import { ensureTools, toolsDir } from '../lib/cache.mjs';
import { stackScriptsDir } from '../lib/paths.mjs';
import { tryHttp } from '../lib/net.mjs';
import { readPidFile, recordAlive } from '../lib/proc.mjs';
import { managedService, timeoutFromEnv } from '../lib/managed.mjs';

const HOST = '127.0.0.1';
const PORT = 4568;
const TLS_PORT = 4567; // kinesis-local always opens a TLS port too

const variant = () => (process.env.KINESIS_EMULATOR || 'kinesis-local').toLowerCase();
const delayMs = () => String(Number(process.env.KINESIS_STATE_DELAY_MS ?? 100));

function pkgVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(toolsDir(), 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

/** ListStreams, the way the AWS SDK sends it. Resolves the HTTP response or null. */
export function listStreams() {
  return tryHttp({
    host: HOST,
    port: PORT,
    method: 'POST',
    path: '/',
    timeoutMs: 3000,
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'Kinesis_20131202.ListStreams',
      'X-Amz-Date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
      Authorization:
        'AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000',
    },
    body: '{}',
  });
}

export default managedService({
  name: 'kinesis',
  host: HOST,
  port: PORT,
  readyTimeoutMs: timeoutFromEnv('kinesis', 60_000),
  stopGraceMs: 5_000,
  async probe() {
    const res = await listStreams();
    return res?.status === 200 && res.body.includes('StreamNames');
  },
  async describe(ctx, rec) {
    const v = rec?.variant ?? (recordAlive(readPidFile(ctx.pidFile)) ? readPidFile(ctx.pidFile).variant : null);
    return v ? `${v} ${pkgVersion(v)}` : '';
  },
  async prepare(ctx) {
    if (!['kinesis-local', 'kinesalite'].includes(variant())) {
      throw new Error(`KINESIS_EMULATOR must be kinesis-local or kinesalite, not "${variant()}"`);
    }
    const { filled } = await ensureTools({ log: ctx.log });
    return filled ? 'npm tools installed' : '';
  },
  launch(ctx) {
    const preload = ['--require', path.join(stackScriptsDir, 'lib', 'bind-loopback.cjs')];
    const env = { ...process.env, STACK_BIND_HOST: HOST };
    const d = delayMs();
    if (variant() === 'kinesalite') {
      return {
        cmd: process.execPath,
        cwd: ctx.dir,
        env,
        args: [...preload, path.join(toolsDir(), 'node_modules', 'kinesalite', 'cli.js'), '--port', String(PORT),
          '--createStreamMs', d, '--deleteStreamMs', d, '--updateStreamMs', d, '--shardLimit', '50'],
        meta: { variant: 'kinesalite' },
      };
    }
    const pkg = path.join(toolsDir(), 'node_modules', 'kinesis-local');
    const dur = `${d}ms`;
    for (const k of ['CREATE_STREAM', 'DELETE_STREAM', 'REGISTER_STREAM_CONSUMER', 'DEREGISTER_STREAM_CONSUMER', 'START_STREAM_ENCRYPTION',
      'STOP_STREAM_ENCRYPTION', 'MERGE_SHARDS', 'SPLIT_SHARD', 'UPDATE_SHARD_COUNT', 'UPDATE_STREAM_MODE']) {
      env[`${k}_DURATION`] ??= dur;
    }
    Object.assign(env, {
      KINESIS_MOCK_PLAIN_PORT: String(PORT),
      KINESIS_MOCK_TLS_PORT: String(TLS_PORT),
      KINESIS_MOCK_CERT_PATH: path.join(pkg, 'server.json'),
      SHOULD_PERSIST_DATA: 'false',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
    });
    return { cmd: process.execPath, cwd: ctx.dir, env, args: [...preload, path.join(pkg, 'main.js')], meta: { variant: 'kinesis-local' } };
  },
});
