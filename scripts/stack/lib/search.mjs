// Shared by Elasticsearch and OpenSearch: both come as an "integ-test" zip
// from Maven Central (fetched with a checked-in pom), are unpacked once under
// .cache/<name>/<version>/, and run from a config copy in .stack/<name>/config
// with data/logs/tmp beside it, as a system user when we are root (both
// refuse to run as root).
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from './paths.mjs';
import { ensureDir, fingerprint, mvnCopyDependencies } from './cache.mjs';
import { javaHome } from './java.mjs';
import { run } from './proc.mjs';
import { tryHttp } from './net.mjs';
import { managedService, timeoutFromEnv } from './managed.mjs';
import { asUser, ensureServiceUser, giveToServiceUser } from './user.mjs';

/** unzip keeping permissions; falls back to `jar` (then marks bin/ executable). */
export async function unzip(zip, dest) {
  try {
    await run('unzip', ['-q', '-o', zip, '-d', dest]);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    await run('jar', ['xf', zip], { cwd: dest });
    for (const d of fs.readdirSync(dest)) {
      const bin = path.join(dest, d, 'bin');
      if (fs.existsSync(bin)) for (const f of fs.readdirSync(bin)) fs.chmodSync(path.join(bin, f), 0o755);
    }
  }
}

export async function httpJson(host, port, p, timeoutMs = 3000) {
  const res = await tryHttp({ host, port, path: p, timeoutMs });
  if (!res || res.status !== 200) return null;
  try {
    return { json: JSON.parse(res.body), headers: res.headers };
  } catch {
    return null;
  }
}

/**
 * opts = {
 *   name, product ('Elasticsearch' | 'OpenSearch'), host, port,
 *   pom, version, distName ('elasticsearch' | 'opensearch'),
 *   envPrefix ('ES' | 'OPENSEARCH'), configFile ('elasticsearch.yml' | 'opensearch.yml'),
 *   yml(dir) -> text, isOurs(healthResponse) -> bool, versionOf() -> Promise<string>,
 *   extraSources: [files in the fingerprint], afterUnpack?(home, log),
 *   heap ('512m'), readyTimeoutMs
 * }
 */
export function searchService(opts) {
  const { name, host, port, version, distName, envPrefix } = opts;
  const home = () => path.join(cacheDir(), name, version, `${distName}-${version}`);

  async function ensureDistribution(log) {
    const dir = path.join(cacheDir(), name, version);
    return ensureDir(
      dir,
      fingerprint([opts.pom, ...(opts.extraSources ?? [])]),
      async (tmp) => {
        log(`fetching ${opts.product} ${version} (integ-test zip) from Maven Central (first run only)`);
        const dl = path.join(tmp, 'download');
        await mvnCopyDependencies(opts.pom, dl, { log });
        const zip = fs.readdirSync(dl).find((f) => f.endsWith('.zip'));
        if (!zip) throw new Error(`no zip in ${dl}`);
        log('unpacking');
        await unzip(path.join(dl, zip), tmp);
        fs.rmSync(dl, { recursive: true, force: true });
        if (opts.afterUnpack) await opts.afterUnpack(path.join(tmp, `${distName}-${version}`), log);
      },
      { log, what: `the ${opts.product} download` },
    );
  }

  /** Config dir for a run: the distribution's files (jvm.options without heap/GC-log/heap-dump lines) + our yml; keeps the keystore. */
  function writeConfig(confDir, ymlText) {
    fs.mkdirSync(path.join(confDir, 'jvm.options.d'), { recursive: true });
    const distConf = path.join(home(), 'config');
    for (const f of fs.readdirSync(distConf)) {
      const src = path.join(distConf, f);
      if (!fs.statSync(src).isFile()) continue;
      if (f === 'jvm.options') {
        const drop = /^\s*(\d+-?\d*:)?-(Xms|Xmx|Xlog:|Xloggc|XX:\+HeapDumpOnOutOfMemoryError|XX:HeapDumpPath|XX:ErrorFile|XX:\+PrintGC|XX:\+UseGCLogFileRotation|XX:NumberOfGCLogFiles|XX:GCLogFileSize|XX:\+PrintTenuring)/;
        const lines = fs.readFileSync(src, 'utf8').split('\n').filter((l) => !drop.test(l));
        fs.writeFileSync(path.join(confDir, f), lines.join('\n'));
      } else if (f === 'log4j2.properties' || !fs.existsSync(path.join(confDir, f))) {
        fs.copyFileSync(src, path.join(confDir, f));
      }
    }
    fs.writeFileSync(path.join(confDir, opts.configFile), ymlText);
  }

  return managedService({
    name,
    host,
    port,
    readyTimeoutMs: timeoutFromEnv(name, opts.readyTimeoutMs ?? 180_000),
    stopGraceMs: 30_000,
    async probe() {
      const res = await tryHttp({ host, port, path: '/_cluster/health?wait_for_status=yellow&timeout=2s', timeoutMs: 5000 });
      if (res?.status !== 200 || !(await opts.isOurs(res))) return false;
      const health = JSON.parse(res.body);
      return !health.timed_out && health.status !== 'red';
    },
    async describe() {
      return `${opts.product} ${(await opts.versionOf().catch(() => null)) ?? version}`;
    },
    async prepare(ctx) {
      const filled = await ensureDistribution(ctx.log);
      const user = await ensureServiceUser({ log: ctx.log });
      const dirs = ['config', 'data', 'logs', 'tmp'].map((d) => path.join(ctx.dir, d));
      for (const d of dirs) fs.mkdirSync(d, { recursive: true });
      writeConfig(path.join(ctx.dir, 'config'), opts.yml(ctx.dir));
      await giveToServiceUser(user, dirs);
      if (user) {
        const { cmd, args } = asUser(user, 'test', ['-w', path.join(ctx.dir, 'data'), '-a', '-x', path.join(home(), 'bin', distName)]);
        const probe = await run(cmd, args, { check: false });
        if (probe.code !== 0) {
          throw new Error(`user ${user} cannot reach ${ctx.dir} or ${home()}: every parent folder needs o+x (check STACK_DIR/STACK_CACHE)`);
        }
      }
      ctx.user = user;
      return filled ? 'distribution downloaded' : '';
    },
    launch(ctx) {
      const env = { ...process.env };
      delete env.JAVA_HOME; // the launch scripts warn about it and use <PREFIX>_JAVA_HOME
      const userOpts = process.env[`${envPrefix}_JAVA_OPTS`] ?? '';
      Object.assign(env, {
        [`${envPrefix}_JAVA_HOME`]: process.env[`${envPrefix}_JAVA_HOME`] || javaHome(),
        [`${envPrefix}_PATH_CONF`]: path.join(ctx.dir, 'config'),
        [`${envPrefix}_TMPDIR`]: path.join(ctx.dir, 'tmp'),
        [`${envPrefix}_JAVA_OPTS`]: `-Xms${opts.heap ?? '512m'} -Xmx${opts.heap ?? '512m'} ${userOpts}`.trim(),
      });
      const { cmd, args } = asUser(ctx.user, path.join(home(), 'bin', distName), []);
      return { cmd, args, env, cwd: path.join(ctx.dir, 'tmp'), meta: { version, user: ctx.user } };
    },
  });
}
