import { OS_URL, reachable } from './helpers.js';
import { sinkScenarios } from './scenarios.js';

// OpenSearch is optional in the stack: without one, these tests are skipped with the reason.
const version = await reachable(OS_URL);
sinkScenarios(`ElasticsearchSink against OpenSearch (${OS_URL})`, OS_URL, {
  product: 'opensearch',
  skip: version?.startsWith('opensearch') ? false : `no OpenSearch at ${OS_URL} (set OS_URL, or start it with the stack)`,
});
