// OpenSearch 2.19.x, single node, on 127.0.0.1:9201 (opt-in: start it with
// `up opensearch`), from OpenSearch's "integ-test" zip on Maven Central
// (scripts/stack/opensearch/pom.xml). Newer 3.x needs Java 21. Same layout as
// Elasticsearch: unpacked under .cache/opensearch/<version>/, config/data/logs
// in .stack/opensearch/, run as user ferry-es when we are root, 512 MiB heap,
// no security plugin (plain HTTP). Use @opensearch-project/opensearch.
//
// The integ-test distribution has the core server and only the
// transport-netty4 module: index/bulk/get/update (partial doc, upsert)/search/
// mappings/aliases work; painless scripts, _delete_by_query/_reindex, ingest
// processors and most non-standard analyzers do not.
import fs from 'node:fs';
import path from 'node:path';
import { stackScriptsDir } from '../lib/paths.mjs';
import { httpJson, searchService } from '../lib/search.mjs';

const HOST = '127.0.0.1';
const PORT = 9201;
const TRANSPORT_PORT = 9301;
const POM = path.join(stackScriptsDir, 'opensearch', 'pom.xml');
export const VERSION = fs.readFileSync(POM, 'utf8').match(/<opensearch\.version>([^<]+)</)[1];

const service = searchService({
  name: 'opensearch',
  product: 'OpenSearch',
  host: HOST,
  port: PORT,
  pom: POM,
  version: VERSION,
  distName: 'opensearch',
  envPrefix: 'OPENSEARCH',
  configFile: 'opensearch.yml',
  heap: '512m',
  readyTimeoutMs: 180_000,
  async isOurs() {
    const r = await httpJson(HOST, PORT, '/', 2000);
    return r?.json?.version?.distribution === 'opensearch';
  },
  async versionOf() {
    return (await httpJson(HOST, PORT, '/', 1500))?.json?.version?.number ?? null;
  },
  yml: (dir) => `# Written by scripts/stack/services/opensearch.mjs on every start; edit there.
cluster.name: ferry-stack-os
node.name: ferry-os
path.data: ${path.join(dir, 'data')}
path.logs: ${path.join(dir, 'logs')}
network.host: ${HOST}
http.port: ${PORT}
transport.port: ${TRANSPORT_PORT}
discovery.type: single-node
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
`,
});

export default { ...service, optIn: true };
