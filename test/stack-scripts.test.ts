/**
 * The local stack scripts run by hand (`node scripts/stack.mjs up`) from a
 * shell whose PATH lacks the sbin folders (a non-login shell, `env -i`):
 * the search servers still start through runuser, and their user is still
 * created through useradd, both of which live there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

describe('stack scripts', () => {
  it('find runuser and useradd in the sbin folders when PATH leaves them out', () => {
    for (const tool of ['runuser', 'useradd']) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const { systemTool } = await import(${JSON.stringify(join(ROOT, 'scripts/stack/lib/proc.mjs'))}); console.log(JSON.stringify(systemTool(${JSON.stringify(tool)})));`], {
        env: { PATH: '/usr/bin:/bin' },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const found = JSON.parse(r.stdout) as string | null;
      const onPath = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find(executable);
      const inSbin = SBIN.map((d) => join(d, tool)).find(executable);
      assert.equal(found, onPath ?? inSbin ?? null, tool);
    }
  });
});
