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

/** The browser tests drive Debian's Chromium: install it when missing (as root), else say what is needed. */
function ensureChromium() {
  const bin = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(bin)) return;
  if (process.getuid?.() !== 0) {
    say(`Chromium is missing at ${bin}: the console tests need it. Install it as root (apt-get install -y chromium) or set CHROMIUM_PATH.`);
    process.exit(1);
  }
  say('installing chromium (apt-get) for the console tests');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) {
      say(`apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal}): the console tests need Chromium at ${bin}`);
      process.exit(1);
    }
  }
}

ensureInstalled();
ensureChromium();
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
