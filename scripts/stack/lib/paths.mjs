// Where the stack keeps things. Read lazily so that a test script can set
// STACK_DIR / STACK_CACHE before calling up().
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (scripts/stack/lib/ is three levels below it). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Folder of scripts/stack/ itself (poms, tool manifests, launch helpers). */
export const stackScriptsDir = path.join(repoRoot, 'scripts', 'stack');

/** Runtime state: pid files, logs, data. Default <repo>/.stack */
export function stackDir() {
  return path.resolve(process.env.STACK_DIR || path.join(repoRoot, '.stack'));
}

/** Downloads: Maven repo, jars, unpacked distributions, npm tools. Default <repo>/.cache */
export function cacheDir() {
  return path.resolve(process.env.STACK_CACHE || path.join(repoRoot, '.cache'));
}

/** Runtime folder of one service, e.g. .stack/kafka */
export function serviceDir(name) {
  return path.join(stackDir(), name);
}
