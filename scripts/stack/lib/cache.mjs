// Download-once helpers: fingerprinted "complete" markers, Maven fetches into
// the repository-local Maven cache, and the npm tool folder.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { cacheDir, stackScriptsDir } from './paths.mjs';
import { run, which } from './proc.mjs';
import { withLock } from './lock.mjs';

const MARKER = '.complete';

/** sha256 over the contents of the given files (missing files count as empty). */
export function fingerprint(files) {
  const h = crypto.createHash('sha256');
  for (const f of files) {
    h.update(f);
    try {
      h.update(fs.readFileSync(f));
    } catch {
      h.update('<missing>');
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** True when `dir` holds a marker with this fingerprint. */
export function isComplete(dir, fp) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8')).fingerprint === fp;
  } catch {
    return false;
  }
}

export function markComplete(dir, fp, extra = {}) {
  fs.writeFileSync(path.join(dir, MARKER), JSON.stringify({ fingerprint: fp, at: new Date().toISOString(), ...extra }) + '\n');
}

/**
 * Fill `dir` once: when it lacks a marker for `fp`, run `fill(tmpDir)` into a
 * fresh temporary folder beside it, then swap it in atomically and mark it.
 * Returns true when it had to fill, false when the cache was already there.
 */
export async function ensureDir(dir, fp, fill, { log, what } = {}) {
  if (isComplete(dir, fp)) return false;
  return withLock(
    dir + '.lock',
    async () => {
      if (isComplete(dir, fp)) return false; // someone else filled it meanwhile
      const tmp = `${dir}.tmp-${process.pid}`;
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(tmp, { recursive: true });
      try {
        await fill(tmp);
        markComplete(tmp, fp);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(tmp, dir);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
      return true;
    },
    { onWait: () => log?.(`waiting for another process to finish ${what ?? dir}`) },
  );
}

/**
 * mvn with the repository-local cache (.cache/m2). Serialized by a lock: the
 * Maven 3 local repository is not safe for concurrent writers.
 */
export async function mvn(args, { log } = {}) {
  if (!which('mvn')) throw new Error('mvn not found on PATH (apt-get install maven)');
  const m2 = path.join(cacheDir(), 'm2');
  fs.mkdirSync(m2, { recursive: true });
  return withLock(
    path.join(cacheDir(), 'm2.lock'),
    () => {
      log?.(`mvn ${args.filter((a) => !a.startsWith('-Dmaven.repo.local')).join(' ')}`);
      return run('mvn', ['-B', '-q', `-Dmaven.repo.local=${m2}`, ...args]);
    },
    { onWait: () => log?.('waiting for another mvn run on the shared cache') },
  );
}

/** Copy every dependency of `pom` (runtime scope) into `outDir`. */
export function mvnCopyDependencies(pom, outDir, { log } = {}) {
  return mvn(['-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${outDir}`, '-DincludeScope=runtime'], { log });
}

// ---- npm tools (.cache/tools) --------------------------------------------------

const TOOLS_SRC = path.join(stackScriptsDir, 'tools');

export function toolsDir() {
  return path.join(cacheDir(), 'tools');
}

/**
 * Install the emulators listed in scripts/stack/tools/package.json (+ lock)
 * into .cache/tools, once. Never touches the root project.
 */
export async function ensureTools({ log } = {}) {
  const files = ['package.json', 'package-lock.json'].map((f) => path.join(TOOLS_SRC, f));
  const fp = fingerprint(files);
  const dir = toolsDir();
  const filled = await ensureDir(
    dir,
    fp,
    async (tmp) => {
      if (!which('npm')) throw new Error('npm not found on PATH');
      for (const f of files) if (fs.existsSync(f)) fs.copyFileSync(f, path.join(tmp, path.basename(f)));
      const hasLock = fs.existsSync(path.join(tmp, 'package-lock.json'));
      log?.(`npm ${hasLock ? 'ci' : 'install'} into ${dir}`);
      // No install scripts are needed: leveldown (optional, kinesalite's
      // on-disk mode, which we do not use) ships prebuilt binaries.
      await run('npm', [hasLock ? 'ci' : 'install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: tmp });
    },
    { log, what: 'the npm tools install' },
  );
  return { dir, filled };
}
