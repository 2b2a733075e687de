// A lock file so that two `stack.mjs up` runs (say, two test suites started at
// once) do not both download, format or start the same service. Works across
// processes and within one (each holder is a separate acquisition).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { procStartTime, sleep } from './proc.mjs';

function ownerAlive(file) {
  try {
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
    const start = procStartTime(rec.pid);
    return start != null && start === rec.start;
  } catch {
    // unreadable: being written right now, or garbage; treat a fresh file as held
    try {
      return Date.now() - fs.statSync(file).mtimeMs < 5000;
    } catch {
      return false;
    }
  }
}

/**
 * Run fn() while holding `file`. Waits (polling) while another live process —
 * or another call in this one — holds it; takes over a lock whose owner died.
 */
export async function withLock(file, fn, { timeoutMs = 20 * 60 * 1000, onWait } = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const token = crypto.randomUUID();
  const body = JSON.stringify({ pid: process.pid, start: procStartTime(process.pid), token });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(file, body, { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (!ownerAlive(file)) {
        // stale: remove and retry (another waiter may win the race; fine)
        try {
          fs.unlinkSync(file);
        } catch {
          // someone else removed it
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${file}`);
      if (!told && onWait) {
        onWait();
        told = true;
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      const cur = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (cur.token === token) fs.unlinkSync(file);
    } catch {
      // gone already
    }
  }
}
