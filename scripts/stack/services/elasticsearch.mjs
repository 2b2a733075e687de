// Elasticsearch 8.x, single node, from Elastic's minimal "integ-test" zip on
// Maven Central (scripts/stack/elasticsearch/pom.xml). Unpacked once into
// .cache/elasticsearch/<version>/; config, data and logs in .stack/elasticsearch/.
// Security is off (plain HTTP, no auth). Runs as user ferry-es when we are root.
//
// The integ-test distribution has only the core server plus the modules
// transport-netty4, x-pack-core, x-pack-security and apm: index/bulk/search/
// mappings/aliases work; painless scripts, reindex/update_by_query, ingest
// pipelines and most non-standard analyzers do not. GET / (ping/info) comes
// from a small module of ours (scripts/stack/elasticsearch/rest-root).
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, stackScriptsDir } from '../lib/paths.mjs';
import { ensureDir, fingerprint, mvnCopyDependencies } from '../lib/cache.mjs';
import { javaHome } from '../lib/java.mjs';
import { run, which } from '../lib/proc.mjs';
import { tryHttp } from '../lib/net.mjs';
import { managedService, timeoutFromEnv } from '../lib/managed.mjs';
import { asUser, ensureServiceUser, giveToServiceUser } from '../lib/user.mjs';

const HOST = '127.0.0.1';
const PORT = 9200;
const TRANSPORT_PORT = 9300;
const POM = path.join(stackScriptsDir, 'elasticsearch', 'pom.xml');
export const VERSION = fs.readFileSync(POM, 'utf8').match(/<elasticsearch\.version>([^<]+)</)[1];

export function esHome() {
  return path.join(cacheDir(), 'elasticsearch', VERSION, `elasticsearch-${VERSION}`);
}

const ROOT_INFO_DIR = path.join(stackScriptsDir, 'elasticsearch', 'rest-root');
const ROOT_INFO_SRC = path.join(ROOT_INFO_DIR, 'src', 'dev', 'ferry', 'stack', 'esroot', 'RootInfoPlugin.java');
const ROOT_INFO_DESC = path.join(ROOT_INFO_DIR, 'plugin-descriptor.properties.in');

/**
 * Compile scripts/stack/elasticsearch/rest-root (GET / and HEAD /, missing
 * from the integ-test distribution) against the distribution's jars and
 * install it as a module.
 */
async function buildRootInfoModule(home, log) {
  if (!which('javac') || !which('jar')) {
    log('javac/jar not found: GET / (client.ping/info) will answer 405');
    return;
  }
  log('compiling the GET / module');
  const work = fs.mkdtempSync(path.join(path.dirname(home), 'rootinfo-'));
  try {
    const classes = path.join(work, 'classes');
    await run('javac', ['-nowarn', '--release', '17', '-cp', path.join(home, 'lib', '*'), '-d', classes, ROOT_INFO_SRC]);
    const mod = path.join(home, 'modules', 'ferry-root-info');
    fs.mkdirSync(mod, { recursive: true });
    await run('jar', ['cf', path.join(mod, 'ferry-root-info.jar'), '-C', classes, '.']);
    fs.writeFileSync(path.join(mod, 'plugin-descriptor.properties'), fs.readFileSync(ROOT_INFO_DESC, 'utf8').replaceAll('@VERSION@', VERSION));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Download (Maven) and unpack the distribution once. */
async function ensureDistribution(log) {
  const dir = path.join(cacheDir(), 'elasticsearch', VERSION);
  return ensureDir(dir, fingerprint([POM, ROOT_INFO_SRC, ROOT_INFO_DESC]), async (tmp) => {
    log(`fetching Elasticsearch ${VERSION} (integ-test zip, ~100 MB) from Maven Central (first run only)`);
    const dl = path.join(tmp, 'download');
    await mvnCopyDependencies(POM, dl, { log });
    const zip = fs.readdirSync(dl).find((f) => f.endsWith('.zip'));
    if (!zip) throw new Error(`no zip in ${dl}`);
    log('unpacking');
    await unzip(path.join(dl, zip), tmp);
    fs.rmSync(dl, { recursive: true, force: true });
    await buildRootInfoModule(path.join(tmp, `elasticsearch-${VERSION}`), log);
  }, { log, what: 'the Elasticsearch download' });
}

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

function elasticsearchYml(dir) {
  return `# Written by scripts/stack/services/elasticsearch.mjs on every start; edit there.
cluster.name: ferry-stack
node.name: ferry-es
path.data: ${path.join(dir, 'data')}
path.logs: ${path.join(dir, 'logs')}
network.host: ${HOST}
http.port: ${PORT}
transport.port: ${TRANSPORT_PORT}
discovery.type: single-node
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
`;
}

/**
 * Fresh config dir for a run: the distribution's files (jvm.options without
 * its GC log / heap dump lines), our elasticsearch.yml; keeps the keystore.
 */
export function writeConfig(home, confDir, yml) {
  fs.mkdirSync(path.join(confDir, 'jvm.options.d'), { recursive: true });
  const distConf = path.join(home, 'config');
  for (const f of fs.readdirSync(distConf)) {
    const src = path.join(distConf, f);
    if (!fs.statSync(src).isFile()) continue;
    if (f === 'jvm.options') {
      const lines = fs.readFileSync(src, 'utf8').split('\n').filter((l) => !/^\s*(\d+-?\d*:)?-(Xlog:|XX:\+HeapDumpOnOutOfMemoryError|XX:HeapDumpPath)/.test(l));
      fs.writeFileSync(path.join(confDir, f), lines.join('\n'));
    } else if (!fs.existsSync(path.join(confDir, f)) || f === 'log4j2.properties') {
      fs.copyFileSync(src, path.join(confDir, f));
    }
  }
  fs.writeFileSync(path.join(confDir, path.basename(yml.file)), yml.text);
}

export async function httpJson(port, p, timeoutMs = 3000) {
  const res = await tryHttp({ host: HOST, port, path: p, timeoutMs });
  if (!res || res.status !== 200) return null;
  try {
    return JSON.parse(res.body);
  } catch {
    return null;
  }
}

export default managedService({
  name: 'elasticsearch',
  host: HOST,
  port: PORT,
  readyTimeoutMs: timeoutFromEnv('elasticsearch', 180_000),
  stopGraceMs: 30_000,
  // The integ-test distribution has no handler for GET / (the rest-root
  // module is not in it), so identify the product by the X-Elastic-Product
  // header of the health endpoint instead.
  async probe() {
    const res = await tryHttp({ host: HOST, port: PORT, path: '/_cluster/health?wait_for_status=yellow&timeout=2s', timeoutMs: 5000 });
    if (res?.status !== 200 || res.headers['x-elastic-product'] !== 'Elasticsearch') return false;
    const health = JSON.parse(res.body);
    return !health.timed_out && health.status !== 'red';
  },
  async describe() {
    const nodes = await httpJson(PORT, '/_nodes/_local?filter_path=nodes.*.version', 1500);
    const v = nodes ? Object.values(nodes.nodes ?? {})[0]?.version : null;
    return `Elasticsearch ${v ?? VERSION}`;
  },
  async prepare(ctx) {
    const filled = await ensureDistribution(ctx.log);
    const user = await ensureServiceUser({ log: ctx.log });
    for (const d of ['config', 'data', 'logs', 'tmp']) fs.mkdirSync(path.join(ctx.dir, d), { recursive: true });
    writeConfig(esHome(), path.join(ctx.dir, 'config'), { file: 'elasticsearch.yml', text: elasticsearchYml(ctx.dir) });
    fs.writeFileSync(path.join(ctx.dir, 'config', 'jvm.options.d', 'stack.options'), '# heap comes from ES_JAVA_OPTS (scripts/stack/services/elasticsearch.mjs)\n');
    await giveToServiceUser(user, [path.join(ctx.dir, 'config'), path.join(ctx.dir, 'data'), path.join(ctx.dir, 'logs'), path.join(ctx.dir, 'tmp')]);
    ctx.user = user;
    return filled ? 'distribution downloaded' : '';
  },
  launch(ctx) {
    const env = { ...process.env };
    delete env.JAVA_HOME; // ES warns about it; it uses ES_JAVA_HOME
    Object.assign(env, {
      ES_JAVA_HOME: process.env.ES_JAVA_HOME || javaHome(),
      ES_PATH_CONF: path.join(ctx.dir, 'config'),
      ES_TMPDIR: path.join(ctx.dir, 'tmp'),
      ES_JAVA_OPTS: `-Xms512m -Xmx512m ${process.env.ES_JAVA_OPTS ?? ''}`.trim(),
    });
    const { cmd, args } = asUser(ctx.user, path.join(esHome(), 'bin', 'elasticsearch'), []);
    return { cmd, args, env, cwd: path.join(ctx.dir, 'tmp'), meta: { version: VERSION, user: ctx.user } };
  },
});
