// Elasticsearch 8.x, single node, from Elastic's minimal "integ-test" zip on
// Maven Central (scripts/stack/elasticsearch/pom.xml). Unpacked once into
// .cache/elasticsearch/<version>/; config, data and logs in .stack/elasticsearch/.
// Security is off (plain HTTP, no auth). Runs as user ferry-es when we are root.
// Use the @elastic/elasticsearch client of the same major (8).
//
// The integ-test distribution has only the core server plus the modules
// transport-netty4, x-pack-core, x-pack-security and apm: index/bulk/get/
// update (partial doc, upsert)/search/count/mappings/aliases/data streams work;
// painless scripts, _delete_by_query/_update_by_query/_reindex, ingest
// processors and most non-standard analyzers do not. GET / and HEAD /
// (client.ping/info) come from a small module of ours
// (scripts/stack/elasticsearch/rest-root), compiled at unpack time.
import fs from 'node:fs';
import path from 'node:path';
import { stackScriptsDir } from '../lib/paths.mjs';
import { run, which } from '../lib/proc.mjs';
import { httpJson, searchService } from '../lib/search.mjs';

const HOST = '127.0.0.1';
const PORT = 9200;
const TRANSPORT_PORT = 9300;
const POM = path.join(stackScriptsDir, 'elasticsearch', 'pom.xml');
export const VERSION = fs.readFileSync(POM, 'utf8').match(/<elasticsearch\.version>([^<]+)</)[1];

const ROOT_INFO_DIR = path.join(stackScriptsDir, 'elasticsearch', 'rest-root');
const ROOT_INFO_SRC = path.join(ROOT_INFO_DIR, 'src', 'dev', 'ferry', 'stack', 'esroot', 'RootInfoPlugin.java');
const ROOT_INFO_DESC = path.join(ROOT_INFO_DIR, 'plugin-descriptor.properties.in');

/** Compile the GET / module against the distribution's jars and install it into modules/. */
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

export default searchService({
  name: 'elasticsearch',
  product: 'Elasticsearch',
  host: HOST,
  port: PORT,
  pom: POM,
  version: VERSION,
  distName: 'elasticsearch',
  envPrefix: 'ES',
  configFile: 'elasticsearch.yml',
  heap: '512m',
  readyTimeoutMs: 180_000,
  extraSources: [ROOT_INFO_SRC, ROOT_INFO_DESC],
  afterUnpack: buildRootInfoModule,
  // Identify the product by the header: GET / may be missing (see above).
  isOurs: (res) => res.headers['x-elastic-product'] === 'Elasticsearch',
  async versionOf() {
    const r = await httpJson(HOST, PORT, '/_nodes/_local?filter_path=nodes.*.version', 1500);
    return Object.values(r?.json?.nodes ?? {})[0]?.version ?? null;
  },
  yml: (dir) => `# Written by scripts/stack/services/elasticsearch.mjs on every start; edit there.
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
`,
});
