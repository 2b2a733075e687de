/**
 * Snapshot chunks read with COPY (rows parsed from the raw bytes) and with a
 * cursor (pg's text rows) produce the same records, on the real PostgreSQL:
 * NULLs, escapes (tab, newline, backslash), multi-byte text, negative and
 * 64-bit keys, timestamps, numerics, JSON, arrays and bytea; pages of
 * `snapshot.fetch.size`, positions that resume right after a page.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { silentLogger, type JsonObject, type SourceRecord } from '@ferry/core';
import { PostgresCdcSource, planSnapshot } from '../../src/postgres/index.js';
import { objectFactory } from '../../src/postgres/cdc-chunks.js';
import { admin, PG_URL, uid } from './helpers.js';

const table = `ferry_chunks_${uid()}`;
let db: pg.Client;

before(async () => {
  db = await admin();
  await db.query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, small int2, v text, amount numeric(12,2), free numeric, at timestamptz, d date, doc jsonb, tags text[], raw bytea, "weird col" varchar)`);
  await db.query(
    `INSERT INTO ${table}
       SELECT g, (g % 300 - 150)::int2, 'row ' || g, g / 100.0, g / 7.0, '2024-01-01'::timestamptz + g * interval '1.5 ms', '2024-02-29'::date + g,
              jsonb_build_object('g', g, 's', E'a\\tb'), ARRAY['x', 'y ' || g], decode(lpad(to_hex(g), 8, '0'), 'hex'), NULL
         FROM generate_series(1, 2500) g`,
  );
  const tricky: Array<[string, unknown[]]> = [
    ['tabs, newlines, backslashes, NULLs', ['-9007199254740993', -5, 'a\tb\nc\\d\re\\N', null, null, null, null, null, null, null, '\\N']],
    ['multi-byte text', ['-3', 0, 'žluťoučký kůň 🐎 \u2028', '-0.50', '1e-3', '1999-12-31 23:59:59.999999+02', '0044-03-15', '{"k": "ü\\\\"}', '{"a,b","c\\"d",NULL}', Buffer.from([0, 92, 9, 10, 255]), 'x\\y']],
    ['big key', ['9223372036854775807', 32767, '', '0.00', '-12345678901234567890.123', 'infinity', '2024-01-01', '[]', '{}', Buffer.alloc(0), '']],
  ];
  for (const [, row] of tricky) await db.query(`INSERT INTO ${table} VALUES (${row.map((_, i) => `$${i + 1}`).join(', ')})`, row);
  await db.query(`ANALYZE ${table}`);
});
after(async () => {
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

async function readChunk(method: 'cursor' | 'copy', chunk: JsonObject, resumeFrom: JsonObject | null = null) {
  const runner = (await PostgresCdcSource.create()).createChunkRunner!('snapshot')!;
  const pages: Array<{ records: SourceRecord[]; position: JsonObject }> = [];
  await runner.runChunk({
    config: { 'connection.url': PG_URL, 'topic.prefix': 'chunks', 'snapshot.fetch.size': '700', 'snapshot.read.method': method },
    work: 'snapshot',
    chunk,
    resumeFrom,
    attempt: 1,
    logger: silentLogger,
    signal: new AbortController().signal,
    emit: async (records, position) => {
      pages.push({ records, position: JSON.parse(JSON.stringify(position)) });
    },
  });
  return pages;
}

/** Records without the processing time (ts_ms), comparable across reads. */
function comparable(records: SourceRecord[]) {
  return records.map((r) => {
    const v = r.value as Record<string, unknown>;
    return { topic: r.topic, key: r.key, keySchema: r.keySchema, valueSchema: r.valueSchema, value: { ...v, ts_ms: 0 }, timestamp: r.timestamp };
  });
}

describe('snapshot chunks: COPY and cursor read the same records', () => {
  it('one chunk, every row, same values and pages', async () => {
    const { items } = await planSnapshot({ 'connection.url': PG_URL } as never, [{ schema: 'public', table }], { snapshotName: null, threads: 1, lsn: 1n, txId: null });
    const chunk = items[0]!.chunk;
    const cursor = await readChunk('cursor', chunk);
    const copy = await readChunk('copy', chunk);
    assert.equal(copy.flatMap((p) => p.records).length, 2503);
    assert.deepEqual(
      copy.map((p) => p.records.length),
      cursor.map((p) => p.records.length),
    );
    assert.deepEqual(copy.map((p) => p.position), cursor.map((p) => p.position));
    assert.deepEqual(comparable(copy.flatMap((p) => p.records)), comparable(cursor.flatMap((p) => p.records)));
    const byId = new Map(copy.flatMap((p) => p.records).map((r) => [String((r.key as { id: unknown }).id), (r.value as { after: Record<string, unknown> }).after]));
    const t = byId.get('-9007199254740993')!;
    assert.equal(t.v, 'a\tb\nc\\d\re\\N');
    assert.equal(t.amount, null);
    assert.equal(t['weird col'], '\\N');
    const m = byId.get('-3')!;
    assert.equal(m.v, 'žluťoučký kůň 🐎 \u2028');
    assert.deepEqual(m.tags, ['a,b', 'c"d', null]);
    assert.deepEqual(m.raw, Buffer.from([0, 92, 9, 10, 255]));
    assert.equal(typeof byId.get('9223372036854775807')!.id, 'bigint');
    assert.equal(byId.get('42')!.small, 42 % 300 - 150);
    assert.deepEqual(byId.get('42')!.at, new Date(Date.UTC(2024, 0, 1) + 63));
  });

  it('parallel chunks resume right after a page', async () => {
    const { items } = await planSnapshot({ 'connection.url': PG_URL } as never, [{ schema: 'public', table }], { snapshotName: null, threads: 2, lsn: 1n, txId: null });
    assert.equal(items.length, 2);
    for (const method of ['copy', 'cursor'] as const) {
      const all: string[] = [];
      let resumed = 0;
      for (const it of items) {
        const first = await readChunk(method, it.chunk);
        all.push(...first.flatMap((p) => p.records).map((r) => String((r.key as { id: unknown }).id)));
        if (first.length < 2) continue;
        const rest = await readChunk(method, it.chunk, first[0]!.position);
        assert.deepEqual(
          rest.flatMap((p) => p.records).map((r) => String((r.key as { id: unknown }).id)),
          first.slice(1).flatMap((p) => p.records).map((r) => String((r.key as { id: unknown }).id)),
          `${method}: a resumed chunk reads what followed its first page`,
        );
        resumed++;
      }
      assert.ok(resumed > 0, `${method}: a chunk of several pages was resumed`);
      assert.equal(all.length, 2503, method);
      assert.equal(new Set(all).size, 2503, method);
    }
  });
});

describe('compiled record shapes', () => {
  it('keep any column name as a plain own property', () => {
    const o = objectFactory(['a', '__proto__', 'we"ird\u2028\\'])([1, { x: 1 }, 3]);
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.deepEqual(Object.keys(o), ['a', '__proto__', 'we"ird\u2028\\']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, { x: 1 });
    assert.deepEqual(objectFactory(['k1', 'k2'], [2, 0])(['x', 'y', 'z']), { k1: 'z', k2: 'x' });
  });
});
