// S3: the s3rver emulator (npm), installed into .cache/tools, data in .stack/s3/data.
// Clients: @aws-sdk/client-s3 with endpoint http://127.0.0.1:9000,
// forcePathStyle: true, any credentials (lib/s3rver-any-key.cjs; s3rver alone
// knows only S3RVER/S3RVER), region us-east-1.
import fs from 'node:fs';
import path from 'node:path';
import { ensureTools, toolsDir } from '../lib/cache.mjs';
import { stackScriptsDir } from '../lib/paths.mjs';
import { tryHttp } from '../lib/net.mjs';
import { managedService, timeoutFromEnv } from '../lib/managed.mjs';

const HOST = '127.0.0.1';
const PORT = 9000;

function pkgVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(toolsDir(), 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

export default managedService({
  name: 's3',
  host: HOST,
  port: PORT,
  readyTimeoutMs: timeoutFromEnv('s3', 30_000),
  stopGraceMs: 5_000,
  async probe() {
    const res = await tryHttp({ host: HOST, port: PORT, path: '/', timeoutMs: 2000 });
    return res?.status === 200 && res.body.includes('ListAllMyBucketsResult');
  },
  describe: async () => `s3rver ${pkgVersion('s3rver')}`,
  async prepare(ctx) {
    const { filled } = await ensureTools({ log: ctx.log });
    fs.mkdirSync(path.join(ctx.dir, 'data'), { recursive: true });
    return filled ? 'npm tools installed' : '';
  },
  launch(ctx) {
    const pkg = path.join(toolsDir(), 'node_modules', 's3rver');
    return {
      cmd: process.execPath,
      cwd: ctx.dir,
      env: { ...process.env, S3RVER_MODULE_DIR: pkg },
      args: [
        '--require', path.join(stackScriptsDir, 'lib', 's3rver-any-key.cjs'),
        path.join(pkg, 'bin', 's3rver.js'), '-d', path.join(ctx.dir, 'data'), '-a', HOST, '-p', String(PORT),
        '--allow-mismatched-signatures', '--silent',
      ],
    };
  },
});
