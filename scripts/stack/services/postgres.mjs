// PostgreSQL: preinstalled (Debian's cluster, trust auth). The stack only makes
// sure it runs with wal_level=logical (CDC) and that database `test` exists.
// It stops the cluster on `down` only if it was the one that started it.
import fs from 'node:fs';
import path from 'node:path';
import { serviceDir } from '../lib/paths.mjs';
import { run, which, removeFile } from '../lib/proc.mjs';
import { waitFor } from '../lib/net.mjs';
import { withLock } from '../lib/lock.mjs';
import { timeoutFromEnv } from '../lib/managed.mjs';

const HOST = '127.0.0.1';
const PORT = 5432;
const ADDRESS = `${HOST}:${PORT}`;
const NAME = 'postgres';
const MIN_SLOTS = 10;

const dir = () => serviceDir(NAME);
const marker = () => path.join(dir(), 'started-by-stack.json');

/** Run SQL as the postgres superuser over TCP (trust auth). Returns trimmed stdout. */
export async function psql(sql, { db = 'postgres', check = true } = {}) {
  const res = await run('psql', ['-h', HOST, '-p', String(PORT), '-U', 'postgres', '-d', db, '-tAqX', '-v', 'ON_ERROR_STOP=1', '-c', sql], { check, timeoutMs: 30_000 });
  return res.code === 0 ? res.stdout.trim() : null;
}

async function isReady() {
  try {
    return (await psql('SELECT 1', { check: false })) === '1';
  } catch {
    return false;
  }
}

/** Debian cluster id: [version, 'main'] (newest version under /etc/postgresql). */
function cluster() {
  const versions = fs
    .readdirSync('/etc/postgresql')
    .filter((v) => fs.existsSync(path.join('/etc/postgresql', v, 'main')))
    .sort((a, b) => Number(a) - Number(b));
  if (!versions.length) throw new Error('no cluster under /etc/postgresql/*/main');
  return [versions.at(-1), 'main'];
}

async function ctl(action) {
  if (!which('pg_ctlcluster')) throw new Error('pg_ctlcluster not found (is postgresql installed?)');
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', ...cluster(), action], { timeoutMs: 120_000 });
}

async function waitReady(log) {
  await waitFor(isReady, { timeoutMs: timeoutFromEnv(NAME, 60_000), intervalMs: 300, what: NAME });
}

async function settings() {
  const out = await psql("SELECT name || '=' || setting FROM pg_settings WHERE name IN ('wal_level','max_replication_slots','max_wal_senders')");
  return Object.fromEntries(out.split('\n').map((l) => l.split('=')));
}

function weStartedIt() {
  return fs.existsSync(marker());
}

async function status() {
  const ready = await isReady();
  if (!ready) return { name: NAME, address: ADDRESS, state: 'stopped', detail: weStartedIt() ? 'was started by stack.mjs' : '' };
  const s = await settings().catch(() => ({}));
  const version = (await psql('SHOW server_version').catch(() => '')).split(' ')[0];
  return {
    name: NAME,
    address: ADDRESS,
    state: 'running',
    detail: [weStartedIt() ? 'started by stack.mjs' : 'preinstalled', `PostgreSQL ${version}`, `wal_level=${s.wal_level}`].join(', '),
  };
}

async function up({ log } = {}) {
  const say = (m) => log?.(`[${NAME}] ${m}`);
  fs.mkdirSync(dir(), { recursive: true });
  return withLock(path.join(dir(), 'up.lock'), async () => {
    const t0 = Date.now();
    const notes = [];
    if (!(await isReady())) {
      say(`not answering on ${ADDRESS}; starting cluster ${cluster().join('/')}`);
      await ctl('start');
      fs.writeFileSync(marker(), JSON.stringify({ startedAt: new Date().toISOString() }) + '\n');
      await waitReady(log);
      notes.push(`started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } else {
      notes.push('already running');
    }
    const s = await settings();
    const changes = [];
    if (s.wal_level !== 'logical') changes.push("wal_level = 'logical'");
    if (Number(s.max_replication_slots) < MIN_SLOTS) changes.push(`max_replication_slots = ${MIN_SLOTS}`);
    if (Number(s.max_wal_senders) < MIN_SLOTS) changes.push(`max_wal_senders = ${MIN_SLOTS}`);
    if (changes.length) {
      say(`setting ${changes.join(', ')} and restarting (needed for CDC)`);
      for (const c of changes) await psql(`ALTER SYSTEM SET ${c}`);
      await ctl('restart');
      await waitReady(log);
      const after = await settings();
      if (after.wal_level !== 'logical') throw new Error(`wal_level is still ${after.wal_level} after restart`);
      notes.push('set wal_level=logical and restarted');
    }
    if ((await psql("SELECT 1 FROM pg_database WHERE datname = 'test'")) !== '1') {
      say('creating database test');
      await psql('CREATE DATABASE test');
    }
    const st = await status();
    return { ...st, detail: [...notes, st.detail].join(', ') };
  });
}

async function down({ log } = {}) {
  if (!weStartedIt()) {
    const st = await status();
    return { name: NAME, address: ADDRESS, state: st.state, detail: st.state === 'running' ? 'preinstalled, left running' : '' };
  }
  log?.(`[${NAME}] stopping the cluster this script started`);
  if (await isReady()) await ctl('stop');
  removeFile(marker());
  return { name: NAME, address: ADDRESS, state: 'stopped', detail: 'was started by stack.mjs' };
}

export default { name: NAME, port: PORT, host: HOST, address: ADDRESS, kind: 'system', up, down, status };
