import { PostgresCdcSource } from '@ferry/connectors/postgres';
import { silentLogger } from '@ferry/core';
const method = process.argv[2] ?? 'cursor';
const runner = PostgresCdcSource.create().createChunkRunner!('snapshot')!;
let rows = 0;
const t0 = performance.now();
await runner.runChunk({
  config: { 'connection.url': 'postgres://postgres@127.0.0.1:5432/test', 'topic.prefix': 'p', 'snapshot.read.method': method },
  work: 'snapshot', chunk: { schema: 'public', table: 'prof_src', lo: null, hi: null, snapshot: null, lsn: '1', txId: 1, startedAt: Date.now() },
  resumeFrom: null, attempt: 1, logger: silentLogger, signal: new AbortController().signal,
  emit: async (r) => { rows += r.length; },
});
console.log(method, rows, Math.round(rows / ((performance.now() - t0) / 1000)), 'rows/s');
