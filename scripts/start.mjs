#!/usr/bin/env node
// `npm start`: installs what is missing, starts the local servers the demo
// pipelines need, builds, and runs the worker in standalone mode with the
// pipelines of configs/ (REST API on http://127.0.0.1:8083).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeExit } from './exit-status.mjs';
import { build, ensureInstalled, ROOT, say, stackUp } from './lib.mjs';

ensureInstalled();
await stackUp(['kafka', 'postgres', 'redis']);
build();

const workerFile = process.env.FERRY_WORKER_CONFIG ?? 'configs/worker.json';
mkdirSync(join(ROOT, 'data'), { recursive: true });
const logFile = join(ROOT, 'data/worker.log');
const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
const port = JSON.parse(readFileSync(join(ROOT, workerFile), 'utf8'))['rest.port'] ?? 8083;
say(`worker starting: REST http://127.0.0.1:${port}, logs in data/worker.log, connectors from configs/connectors/`);
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
// --max-semi-space-size=8: see packages/worker/bin/connect-worker.mjs.
const child = spawn(process.execPath, ['--max-semi-space-size=8', join(ROOT, 'packages/worker/bin/connect-worker.mjs'), 'standalone', workerFile], {
  cwd: ROOT,
  env: { ...process.env, FERRY_COMMIT: process.env.FERRY_COMMIT ?? (commit || 'unknown') },
  stdio: ['ignore', 'pipe', 'pipe'],
});
// Full JSON logs go to the file; warnings and errors also to the terminal.
const relay = (d) => {
  log.write(d);
  for (const line of d.toString().split('\n')) if (/"level":"(warn|error|fatal)"/.test(line)) process.stderr.write(`${line}\n`);
};
child.stdout.on('data', relay);
child.stderr.on('data', relay);

const demoFile = join(ROOT, 'data/demo-orders.jsonl');
const countLines = () => (existsSync(demoFile) ? readFileSync(demoFile, 'utf8').split('\n').length - 1 : 0);
const timer = setInterval(async () => {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/connectors?expand=status`);
    const all = await res.json();
    const states = Object.entries(all)
      .map(([n, v]) => `${n} ${v.status.connector.state} (${v.status.tasks.map((t) => t.state).join(',') || 'no tasks'})`)
      .join(' | ');
    const lines = countLines();
    const last = lines ? readFileSync(demoFile, 'utf8').trimEnd().split('\n').pop() : '';
    say(`${states} | ${lines} records in data/demo-orders.jsonl${last ? `, latest: ${last.slice(0, 120)}` : ''}`);
  } catch {
    /* not up yet */
  }
}, 5000);

let stopRequested = false;
const stop = (sig) => {
  stopRequested = true;
  say(`stopping the worker (${sig})`);
  child.kill('SIGTERM');
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
child.on('exit', (code, signal) => {
  clearInterval(timer);
  const end = describeExit('worker', code, signal, stopRequested);
  say(`${end.message}${end.crashed ? ' (see data/worker.log)' : ''}; the local servers keep running: \`npm run stack -- down\` stops them`);
  process.exit(end.exitCode);
});
