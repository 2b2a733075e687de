// Elasticsearch and OpenSearch refuse to run as root: when we are root, they
// run as a system user of their own (created on first use), via runuser.
import path from 'node:path';
import { cacheDir } from './paths.mjs';
import { run, systemTool } from './proc.mjs';
import { withLock } from './lock.mjs';

export const SERVICE_USER = process.env.STACK_SERVICE_USER || 'ferry-es';

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

async function userExists(name) {
  return (await run('id', ['-u', name], { check: false })).code === 0;
}

/** Make sure SERVICE_USER exists (root only). Returns the user to run as, or null for "as we are". */
export async function ensureServiceUser({ log } = {}) {
  if (!isRoot()) return null;
  if (await userExists(SERVICE_USER)) return SERVICE_USER;
  return withLock(path.join(cacheDir(), 'useradd.lock'), async () => {
    if (await userExists(SERVICE_USER)) return SERVICE_USER;
    const useradd = systemTool('useradd');
    if (!useradd) throw new Error('useradd not found; cannot create the user that runs the search server');
    log?.(`creating system user ${SERVICE_USER}`);
    await run(useradd, ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', SERVICE_USER]);
    return SERVICE_USER;
  });
}

/** chown -R dirs to the service user (no-op when not root). */
export async function giveToServiceUser(user, dirs) {
  if (!user) return;
  await run('chown', ['-R', `${user}:${user}`, ...dirs]);
}

/** Wrap a command so it runs as `user` (or unchanged when user is null). */
export function asUser(user, cmd, args) {
  if (!user) return { cmd, args };
  const runuser = systemTool('runuser');
  if (!runuser) throw new Error('runuser not found (util-linux)');
  return { cmd: runuser, args: ['-u', user, '--', cmd, ...args] };
}
