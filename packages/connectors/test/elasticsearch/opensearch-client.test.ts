import { ES_URL } from './helpers.js';
import { sinkScenarios } from './scenarios.js';

// The OpenSearch client implementation (server.type=opensearch) against the stack's Elasticsearch:
// _bulk, _count and the error shapes are wire-compatible, so this runs that code path on a real
// server even where no OpenSearch is available (opensearch.test.ts covers a real OpenSearch).
sinkScenarios(`ElasticsearchSink with the OpenSearch client against Elasticsearch (${ES_URL})`, ES_URL, {
  product: 'elasticsearch',
  serverType: 'opensearch',
});
