// Podman on machines without Docker (see STACK.md): settings in a cache
// folder (nothing system-wide changes), a Node.js base image made with
// debootstrap (no image registry is reachable), and a helper to run podman.
//   node scripts/podman-env.mjs base     builds localhost/ferry-node-base once
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BASE_IMAGE = 'localhost/ferry-node-base';

const DIR = join(ROOT, '.cache', 'podman');

export function podmanEnv() {
  const dir = DIR;
  mkdirSync(dir, { recursive: true });
  const hardNofile = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim() || '4096';
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    `[containers]\ndefault_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n`,
  );
  const storage = join(dir, 'storage.conf');
  writeFileSync(storage, `[storage]\ndriver = "overlay"\ngraphroot = "${join(dir, 'storage')}"\nrunroot = "${join(dir, 'run')}"\n[storage.options.overlay]\nmount_program = "/usr/bin/fuse-overlayfs"\n`);
  return { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage };
}

export function podman(args, opts = {}) {
  const r = spawnSync('podman', args, { env: podmanEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFailure) throw new Error(`podman ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`.slice(0, 4000));
  return r;
}

/** The Debian mirror this machine's apt uses (debootstrap must use it too: no other host is reachable). */
function debianMirror() {
  for (const f of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(text);
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

/** A minimal Debian with this machine's Node.js and a `node` user, imported as BASE_IMAGE (skipped when it exists). */
export function ensureBaseImage(log = console.log) {
  if (podman(['image', 'exists', BASE_IMAGE], { allowFailure: true }).status === 0) return BASE_IMAGE;
  const rootfs = join(DIR, 'rootfs');
  if (!existsSync(join(rootfs, 'usr/bin/env'))) {
    log('debootstrap: a minimal Debian root file system (about a minute)');
    execFileSync('debootstrap', ['--variant=minbase', '--include=ca-certificates', 'bookworm', rootfs, debianMirror()], { stdio: 'inherit' });
  }
  // This machine's Node.js, and npm (from the Node.js folder when it has one, else the system's).
  const nodeHome = resolve(dirname(process.execPath), '..');
  execFileSync('sh', ['-c', `cp -a ${nodeHome}/bin ${nodeHome}/include ${nodeHome}/share ${rootfs}/usr/local/ 2>/dev/null; [ -d ${nodeHome}/lib ] && cp -a ${nodeHome}/lib ${rootfs}/usr/local/; true`]);
  const npmDir = existsSync(join(nodeHome, 'lib/node_modules/npm')) ? join(nodeHome, 'lib/node_modules/npm') : '/usr/lib/node_modules/npm';
  execFileSync('sh', ['-c', `mkdir -p ${rootfs}/usr/local/lib/node_modules && cp -a ${npmDir} ${rootfs}/usr/local/lib/node_modules/ && ln -sf ../lib/node_modules/npm/bin/npm-cli.js ${rootfs}/usr/local/bin/npm && ln -sf ../lib/node_modules/npm/bin/npx-cli.js ${rootfs}/usr/local/bin/npx`]);
  execFileSync('chroot', [rootfs, 'sh', '-c', 'id node >/dev/null 2>&1 || useradd -m -u 1000 -s /bin/sh node; rm -f /etc/apt/sources.list.d/* /etc/apt/sources.list; :> /etc/apt/sources.list']);
  log(`importing ${BASE_IMAGE}`);
  const tar = spawnSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 2 * 1024 * 1024 * 1024 });
  podman(['import', '--change', 'CMD ["/bin/sh"]', '-', BASE_IMAGE], { input: tar.stdout });
  return BASE_IMAGE;
}

if (process.argv[2] === 'base') ensureBaseImage();
