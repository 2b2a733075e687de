// Shared by scripts/start.mjs and scripts/test.mjs: install, build, run.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function say(msg) {
  process.stderr.write(`\x1b[1m[ferry]\x1b[0m ${msg}\n`);
}

/** Runs a command in the repo root, inheriting stdio; exits on failure. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...opts.env } });
  if (r.status !== 0) {
    say(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

/** npm ci when node_modules is missing or older than package-lock.json (by content). */
export function ensureInstalled() {
  const lock = join(ROOT, 'package-lock.json');
  const stamp = join(ROOT, 'node_modules/.ferry-lock-hash');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return;
  say('installing dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, hash);
}

/** Type-checks and compiles every package (incrementally). */
export function build() {
  say('building (tsc through turbo)');
  run(join(ROOT, 'node_modules/.bin/turbo'), ['run', 'build', '--output-logs=errors-only']);
}

/** True when every folder from `dir` up to / can be entered by other users (o+x). */
function traversableByOthers(dir) {
  for (let d = dir; ; d = dirname(d)) {
    if (!(statSync(d).mode & 0o001)) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * Elasticsearch and OpenSearch refuse to run as root and run as a service
 * user, who must reach their files. When the checkout sits below a private
 * folder (e.g. /root), the server stack and its download cache move to
 * /var/tmp instead.
 */
function placeStack() {
  if (process.env.STACK_DIR || process.env.STACK_CACHE || process.getuid?.() !== 0 || traversableByOthers(ROOT)) return;
  const base = join('/var/tmp', `ferry-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`);
  process.env.STACK_DIR = join(base, 'stack');
  process.env.STACK_CACHE = join(base, 'cache');
  say(`${ROOT} is not reachable by other users: server files go to ${base}`);
}

export async function stackUp(names) {
  placeStack();
  const { up } = await import('./stack/index.mjs');
  say(`starting local servers: ${names.join(', ')}`);
  await up(names);
}
