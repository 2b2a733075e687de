// Every service the stack knows, in start order. To add a service, write
// services/<name>.mjs (default export: {name, port, address, up, down, status},
// usually built with lib/managed.mjs) and list it here. A service with
// `optIn: true` is started only when named.
import kafka from './kafka.mjs';
import postgres from './postgres.mjs';
import redis from './redis.mjs';
import s3 from './s3.mjs';
import kinesis from './kinesis.mjs';
import elasticsearch from './elasticsearch.mjs';
import opensearch from './opensearch.mjs';

export const services = [kafka, postgres, redis, elasticsearch, opensearch, s3, kinesis];
