import assert from 'node:assert/strict';
import { OS_URL, reachable } from './helpers.js';
import { sinkScenarios } from './scenarios.js';

// npm test starts OpenSearch: without one the run fails with the server named, coverage is not hidden.
const version = await reachable(OS_URL);
assert.ok(version?.startsWith('opensearch'), `OpenSearch not reachable at ${OS_URL} (answered ${version ?? 'nothing'}): node scripts/stack.mjs up opensearch`);
sinkScenarios(`ElasticsearchSink against OpenSearch (${OS_URL})`, OS_URL, { product: 'opensearch' });
