/**
 * A private Kinesis emulator (kinesalite backed by LevelDB on disk, so its
 * streams survive a restart) on its own port, for tests that kill and
 * restart the emulator: the shared one on 4568 serves everyone else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './util.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

export interface PrivateKinesis {
  endpoint: string;
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      r(true);
    });
    s.on('error', () => r(false));
  });
}

export async function startPrivateKinesis(opts: { port?: number } = {}): Promise<PrivateKinesis> {
  const port = opts.port ?? 14568;
  const tools = join(process.env.STACK_CACHE ?? join(ROOT, '.cache'), 'tools', 'node_modules');
  const cli = join(tools, 'kinesalite', 'cli.js');
  if (!existsSync(cli)) throw new Error(`kinesalite not found at ${cli}: run \`node scripts/stack.mjs up kinesis\` once (it installs the emulators)`);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-kinesis-'));
  let child: ChildProcess | undefined;
  let output = '';
  const handle: PrivateKinesis = {
    endpoint: `http://127.0.0.1:${port}`,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      child = spawn(
        process.execPath,
        ['--require', join(ROOT, 'scripts/stack/lib/bind-loopback.cjs'), cli, '--port', String(port), '--path', join(dir, 'db'), '--createStreamMs', '50', '--deleteStreamMs', '50', '--updateStreamMs', '50', '--shardLimit', '50'],
        { env: { ...process.env, STACK_BIND_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      await waitFor(
        async () => {
          if (child!.exitCode !== null) throw new Error(`the private Kinesis emulator exited: ${output.slice(-1000)}`);
          return listening(port);
        },
        { timeoutMs: 30_000, intervalMs: 100, message: `the private Kinesis emulator on ${port}` },
      );
    },
    async stop(signal = 'SIGTERM') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const ended = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill(signal);
      await ended;
    },
    async destroy() {
      await handle.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  await handle.start();
  return handle;
}
