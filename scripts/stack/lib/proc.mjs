// Process helpers: run a command to completion, start a detached server,
// pid files that survive pid reuse, and stopping a whole process group.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Run a command to completion and capture its output.
 * Rejects when it exits non-zero (unless opts.check === false) or times out.
 */
export function run(cmd, args = [], opts = {}) {
  const { cwd, env, input, timeoutMs = 0, check = true } = opts;
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      reject(err);
      return;
    }
    const out = [];
    const errOut = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => errOut.push(d));
    let timer;
    if (timeoutMs > 0) {
      timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    }
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${cmd}: ${err.message}`), { code: err.code }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const res = {
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(errOut).toString('utf8'),
      };
      if (check && res.code !== 0) {
        const what = [cmd, ...args].join(' ');
        const detail = (res.stderr || res.stdout).trim().split('\n').slice(-30).join('\n');
        reject(Object.assign(new Error(`command failed (${signal ?? 'exit ' + code}): ${what}\n${detail}`), res));
      } else {
        resolve(res);
      }
    });
    if (input != null) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** True when `cmd` is found on PATH (or is an executable path). */
export function which(cmd) {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  for (const dir of (process.env.PATH || '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    if (isExecutable(p)) return p;
  }
  return null;
}

/** Where system administration tools live; a non-login shell's PATH (or `env -i`'s) may leave them out. */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** A system administration tool (useradd, runuser): on PATH, or in SBIN_DIRS. */
export function systemTool(cmd) {
  return which(cmd) ?? SBIN_DIRS.map((d) => path.join(d, cmd)).find(isExecutable) ?? null;
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null. */
export function procStartTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parens: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 is rest[19].
    if (rest[0] === 'Z' || rest[0] === 'X') return null; // zombie / dead
    return rest[19];
  } catch {
    return null;
  }
}

/** Resident set size of a process in KiB, or null. */
export function procRssKiB(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** All pids whose process group is `pgid` (from /proc). */
export function groupMembers(pgid) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0]=state(3) rest[1]=ppid(4) rest[2]=pgrp(5)
      if (Number(rest[2]) === pgid && rest[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // process went away while reading
    }
  }
  return pids;
}

/** Summed RSS (KiB) of every live process in a process group. */
export function groupRssKiB(pgid) {
  let total = 0;
  for (const pid of groupMembers(pgid)) total += procRssKiB(pid) ?? 0;
  return total;
}

/**
 * Start a long-running server detached from this process: its own session and
 * process group (so it outlives us and can be stopped as a group), output
 * appended to logFile, stdin closed.
 * Returns the pid (== process group id).
 */
export function spawnDetached({ cmd, args = [], cwd, env, logFile }) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  try {
    fs.writeSync(fd, `\n==== ${new Date().toISOString()} starting: ${[cmd, ...args].join(' ')}\n`);
    const child = spawn(cmd, args, {
      cwd,
      env: env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (!child.pid) throw new Error(`could not start ${cmd}`);
    child.on('error', () => {}); // reported through the readiness wait / log
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

// ---- pid files ---------------------------------------------------------------
// A pid file holds JSON {pid, start, ...extra}. `start` (the process start
// time) guards against a recycled pid being taken for ours.

export function writePidFile(file, pid, extra = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rec = { pid, start: procStartTime(pid), startedAt: new Date().toISOString(), ...extra };
  fs.writeFileSync(file, JSON.stringify(rec) + '\n');
  return rec;
}

export function readPidFile(file) {
  try {
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof rec.pid === 'number' ? rec : null;
  } catch {
    return null;
  }
}

export function removeFile(file) {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * Is the process group recorded in `rec` still ours and alive?
 * - the leader is alive with the recorded start time, or
 * - the leader is gone but members of its group remain (Linux does not hand
 *   out a pid that is still in use as a process group id, so they are ours).
 */
export function recordAlive(rec) {
  if (!rec) return false;
  const start = procStartTime(rec.pid);
  if (start != null) return rec.start == null || start === rec.start;
  if (fs.existsSync(`/proc/${rec.pid}`)) return false; // zombie leader, or a different process
  return groupMembers(rec.pid).length > 0;
}

/** SIGTERM the whole group, wait up to graceMs, then SIGKILL what is left. */
export async function stopGroup(rec, { graceMs = 15000 } = {}) {
  if (!recordAlive(rec)) return 'not running';
  const pgid = rec.pid;
  const signal = (sig) => {
    try {
      process.kill(-pgid, sig);
    } catch (err) {
      if (err.code !== 'ESRCH') throw err;
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return 'stopped';
    await sleep(200);
  }
  signal('SIGKILL');
  for (let i = 0; i < 25 && groupMembers(pgid).length > 0; i++) await sleep(200);
  return groupMembers(pgid).length === 0 ? 'killed after grace period' : 'still running after SIGKILL';
}

/** Last `lines` lines of a text file ('' if missing). */
export function tail(file, lines = 40) {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Keep one previous log: file -> file.1 (when it is bigger than maxBytes). */
export function rotateLog(file, maxBytes = 0) {
  try {
    if (fs.statSync(file).size > maxBytes) fs.renameSync(file, file + '.1');
  } catch {
    // no log yet
  }
}
