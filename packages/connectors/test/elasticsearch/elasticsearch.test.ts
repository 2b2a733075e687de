import { ES_URL } from './helpers.js';
import { sinkScenarios } from './scenarios.js';

// Elasticsearch is part of the project's stack: these tests fail (not skip) when it is down.
sinkScenarios(`ElasticsearchSink against Elasticsearch (${ES_URL})`, ES_URL, { product: 'elasticsearch' });
