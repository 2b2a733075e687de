#!/usr/bin/env node
// `npm test`: installs what is missing, starts the servers the tests need,
// builds and lints, then runs every unit and integration test.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { build, ensureInstalled, ROOT, run, say, stackUp } from './lib.mjs';

const SERVICES = ['kafka', 'postgres', 'redis', 'elasticsearch', 'opensearch', 's3', 'kinesis'];

function testFiles(dir) {
  const out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (e === 'node_modules' || e === 'fixtures' || e === 'harness') continue;
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (e.endsWith('.test.ts')) out.push(relative(ROOT, p));
  }
  return out.sort();
}

/**
 * Debian packages some tests drive: Chromium (console tests) and Podman with
 * its helpers and podman-compose (the container test). Installed when missing (as root), else
 * the run stops saying what is needed.
 */
const DEBIAN_TOOLS = [
  { bin: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', pkg: 'chromium', why: 'the console tests' },
  { bin: '/usr/bin/podman', pkg: 'podman', why: 'the container test' },
  { bin: '/usr/bin/podman-compose', pkg: 'podman-compose', why: 'the container test' },
  { bin: '/usr/sbin/runc', pkg: 'runc', why: 'the container test' },
  // `podman run --init` (the container test) runs catatonit, which apt installs only as a recommendation of podman.
  { bin: '/usr/libexec/podman/catatonit', pkg: 'catatonit', why: 'the container test' },
  { bin: '/usr/bin/fuse-overlayfs', pkg: 'fuse-overlayfs', why: 'the container test' },
  { bin: '/usr/bin/newuidmap', pkg: 'uidmap', why: 'the container test' },
  { bin: '/usr/sbin/debootstrap', pkg: 'debootstrap', why: 'the container test' },
];

function ensureDebianTools() {
  const missing = DEBIAN_TOOLS.filter((t) => !existsSync(t.bin));
  if (missing.length === 0) return;
  const pkgs = missing.map((t) => t.pkg);
  if (process.getuid?.() !== 0) {
    say(`missing: ${missing.map((t) => `${t.bin} (${t.why})`).join(', ')}. Install them as root: apt-get install -y ${pkgs.join(' ')}`);
    process.exit(1);
  }
  say(`installing ${pkgs.join(', ')} (apt-get) for ${[...new Set(missing.map((t) => t.why))].join(' and ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...pkgs]]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) {
      say(`apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${missing.map((t) => `${t.why} need ${t.bin}`).join('; ')}`);
      process.exit(1);
    }
  }
}

ensureInstalled();
ensureDebianTools();
try {
  await stackUp(SERVICES);
} catch (err) {
  say(err.message);
  process.exit(1);
}
build();
say('lint: package boundaries and circular imports (dependency-cruiser)');
run(join(ROOT, 'node_modules/.bin/depcruise'), ['packages', '--config', '.dependency-cruiser.cjs']);

const only = process.argv.slice(2);
const files = only.length ? only : [...['core', 'connector-kit', 'connectors', 'worker'].flatMap((p) => testFiles(join(ROOT, 'packages', p, 'test'))), ...testFiles(join(ROOT, 'test'))];
say(`running ${files.length} test files`);
run(process.execPath, [
  '--import',
  'tsx',
  '--conditions=development',
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 1}`,
  '--test-timeout=600000',
  ...files,
]);
