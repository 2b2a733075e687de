// Redis: preinstalled, keeps nothing on disk. Started only when it does not
// answer PING; stopped on `down` only if this script started it.
import fs from 'node:fs';
import path from 'node:path';
import { serviceDir } from '../lib/paths.mjs';
import { run, which, readPidFile, writePidFile, recordAlive, removeFile, sleep, procRssKiB } from '../lib/proc.mjs';
import { tcpExchange, waitFor } from '../lib/net.mjs';
import { withLock } from '../lib/lock.mjs';
import { timeoutFromEnv } from '../lib/managed.mjs';

const HOST = '127.0.0.1';
const PORT = 6379;
const ADDRESS = `${HOST}:${PORT}`;
const NAME = 'redis';

const pidFile = () => path.join(serviceDir(NAME), 'redis.pid');

/** Send one inline command; resolve the raw reply text or null. */
async function command(cmd) {
  const buf = await tcpExchange(HOST, PORT, `${cmd}\r\n`, (b) => {
    const s = b.toString('utf8');
    if (s.startsWith('$')) {
      const n = Number(s.slice(1, s.indexOf('\r\n')));
      return n < 0 || b.length >= s.indexOf('\r\n') + 2 + n + 2;
    }
    return s.includes('\r\n');
  });
  return buf ? buf.toString('utf8') : null;
}

const ping = async () => (await command('PING'))?.startsWith('+PONG') ?? false;

async function info() {
  const txt = (await command('INFO server')) ?? '';
  return Object.fromEntries(
    txt
      .split('\r\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

async function status() {
  const rec = readPidFile(pidFile());
  const ours = recordAlive(rec);
  if (!(await ping())) return { name: NAME, address: ADDRESS, state: 'stopped', detail: '' };
  const i = await info();
  const rss = procRssKiB(Number(i.process_id));
  return {
    name: NAME,
    address: ADDRESS,
    state: 'running',
    detail: [ours ? 'started by stack.mjs' : 'preinstalled', `Redis ${i.redis_version}`, `pid ${i.process_id}`, rss != null ? `rss ${Math.round(rss / 1024)} MiB` : '']
      .filter(Boolean)
      .join(', '),
  };
}

async function up({ log } = {}) {
  fs.mkdirSync(serviceDir(NAME), { recursive: true });
  return withLock(path.join(serviceDir(NAME), 'up.lock'), async () => {
    const t0 = Date.now();
    let note = 'already running';
    if (!(await ping())) {
      if (!which('redis-server')) throw new Error('redis-server not found (apt-get install redis-server)');
      log?.(`[${NAME}] not answering on ${ADDRESS}; starting redis-server`);
      for (const d of ['/var/lib/redis', '/var/log/redis']) fs.mkdirSync(d, { recursive: true });
      await run('redis-server', [
        '--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', String(PORT),
        '--save', '', '--appendonly', 'no', '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log',
      ]);
      await waitFor(ping, { timeoutMs: timeoutFromEnv(NAME, 20_000), intervalMs: 200, what: NAME });
      const pid = Number((await info()).process_id);
      if (pid) writePidFile(pidFile(), pid);
      note = `started in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
    }
    const st = await status();
    return { ...st, detail: [note, st.detail].join(', ') };
  });
}

async function down({ log } = {}) {
  const rec = readPidFile(pidFile());
  if (!recordAlive(rec)) {
    removeFile(pidFile());
    const st = await status();
    return { name: NAME, address: ADDRESS, state: st.state, detail: st.state === 'running' ? 'preinstalled, left running' : '' };
  }
  log?.(`[${NAME}] stopping pid ${rec.pid} (started by stack.mjs)`);
  process.kill(rec.pid, 'SIGTERM');
  for (let i = 0; i < 50 && recordAlive(rec); i++) await sleep(200);
  if (recordAlive(rec)) process.kill(rec.pid, 'SIGKILL');
  removeFile(pidFile());
  return { name: NAME, address: ADDRESS, state: 'stopped', detail: 'was started by stack.mjs' };
}

export default { name: NAME, port: PORT, host: HOST, address: ADDRESS, kind: 'system', up, down, status };
