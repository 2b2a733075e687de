// A server that this stack starts itself (Kafka, Elasticsearch, emulators):
// the common up/down/status logic around a service-specific definition.
//
// def = {
//   name, port, host?,                 // the address users connect to
//   readyTimeoutMs, stopGraceMs?,
//   probe(ctx)   -> truthy when the service answers correctly (used by up and status)
//   ready?(ctx)  -> truthy when fully ready (defaults to probe); polled after start
//   prepare(ctx) -> downloads / config files; may return a note (string)
//   launch(ctx)  -> {cmd, args, cwd?, env?, meta?}: how to run it in the foreground
//   describe?(ctx, rec) -> extra text for status (version, variant, ...)
// }
import fs from 'node:fs';
import path from 'node:path';
import { serviceDir } from './paths.mjs';
import { readPidFile, recordAlive, removeFile, spawnDetached, stopGroup, tail, writePidFile, groupRssKiB, rotateLog } from './proc.mjs';
import { tcpProbe, waitFor } from './net.mjs';
import { withLock } from './lock.mjs';

export function timeoutFromEnv(name, defMs) {
  const specific = process.env[`STACK_${name.toUpperCase()}_TIMEOUT`];
  const general = process.env.STACK_READY_TIMEOUT;
  const s = Number(specific ?? general);
  return Number.isFinite(s) && s > 0 ? s * 1000 : defMs;
}

export function managedService(def) {
  const host = def.host ?? '127.0.0.1';
  const address = `${host}:${def.port}`;

  function ctxFor(log) {
    const dir = serviceDir(def.name);
    return {
      name: def.name,
      dir,
      pidFile: path.join(dir, `${def.name}.pid`),
      logFile: path.join(dir, `${def.name}.log`),
      log: (msg) => log?.(`[${def.name}] ${msg}`),
    };
  }

  async function probe(ctx) {
    try {
      return await def.probe(ctx);
    } catch {
      return false;
    }
  }

  async function status({ log } = {}) {
    const ctx = ctxFor(log);
    const rec = readPidFile(ctx.pidFile);
    const owned = recordAlive(rec);
    const healthy = await probe(ctx);
    const extra = def.describe ? await def.describe(ctx, owned ? rec : null).catch(() => '') : '';
    let state;
    let detail = [];
    if (owned) detail.push(`pid ${rec.pid}`, `rss ${Math.round(groupRssKiB(rec.pid) / 1024)} MiB`);
    if (healthy && owned) state = 'running';
    else if (healthy) {
      state = 'running';
      detail.push('not started by stack.mjs');
    } else if (owned) state = 'unhealthy';
    else if (await tcpProbe(host, def.port, 500)) {
      state = 'port busy';
      detail.push(`something else listens on ${def.port}`);
    } else state = 'stopped';
    if (extra) detail.push(extra);
    return { name: def.name, address, state, owned, healthy: !!healthy, pid: owned ? rec.pid : null, detail: detail.join(', ') };
  }

  async function up({ log } = {}) {
    const ctx = ctxFor(log);
    fs.mkdirSync(ctx.dir, { recursive: true });
    return withLock(
      path.join(ctx.dir, 'up.lock'),
      async () => {
        const t0 = Date.now();
        const rec0 = readPidFile(ctx.pidFile);
        const owned0 = recordAlive(rec0);
        if (await probe(ctx)) {
          const st = await status({ log });
          return { ...st, state: 'running', detail: ['already running', st.detail].filter(Boolean).join(', ') };
        }
        const timeoutMs = def.readyTimeoutMs;
        let rec = rec0;
        let note = '';
        if (owned0) {
          ctx.log(`pid ${rec0.pid} is alive but not answering yet; waiting`);
        } else {
          removeFile(ctx.pidFile);
          if (await tcpProbe(host, def.port, 500)) {
            throw new Error(`${def.name}: port ${def.port} is in use by another process that does not answer like ${def.name}`);
          }
          note = (await def.prepare(ctx)) || '';
          const spec = await def.launch(ctx);
          rotateLog(ctx.logFile, 0);
          ctx.log(`starting: ${spec.cmd} ${spec.args.join(' ').slice(0, 160)}${spec.args.join(' ').length > 160 ? ' ...' : ''}`);
          const pid = spawnDetached({ ...spec, logFile: ctx.logFile });
          rec = writePidFile(ctx.pidFile, pid, spec.meta ?? {});
        }
        const ready = def.ready ?? def.probe;
        try {
          await waitFor(() => ready(ctx), {
            timeoutMs,
            intervalMs: 500,
            alive: () => recordAlive(rec),
            what: def.name,
          });
        } catch (err) {
          const logTail = tail(ctx.logFile, 40);
          if (recordAlive(rec)) {
            ctx.log('not ready in time; stopping it');
            await stopGroup(rec, { graceMs: 5000 });
          }
          removeFile(ctx.pidFile);
          throw Object.assign(new Error(`${def.name}: ${err.message}\n--- last lines of ${ctx.logFile} ---\n${logTail}`), { logTail });
        }
        const secs = ((Date.now() - t0) / 1000).toFixed(1);
        const st = await status({ log });
        return { ...st, state: 'running', detail: [`${owned0 ? 'became ready' : 'started'} in ${secs} s`, note, st.detail].filter(Boolean).join(', ') };
      },
      { onWait: () => ctx.log('another `up` is starting it; waiting') },
    );
  }

  async function down({ log } = {}) {
    const ctx = ctxFor(log);
    const rec = readPidFile(ctx.pidFile);
    if (recordAlive(rec)) {
      ctx.log(`stopping pid ${rec.pid} (process group)`);
      const how = await stopGroup(rec, { graceMs: def.stopGraceMs ?? 20000 });
      removeFile(ctx.pidFile);
      return { name: def.name, address, state: 'stopped', detail: how === 'stopped' ? '' : how };
    }
    removeFile(ctx.pidFile);
    if (await probe(ctx)) return { name: def.name, address, state: 'running', detail: 'not started by stack.mjs, left alone' };
    return { name: def.name, address, state: 'stopped', detail: 'was not running' };
  }

  return { name: def.name, port: def.port, host, address, kind: 'managed', up, down, status, def };
}
