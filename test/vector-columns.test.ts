// DuckDB result vectors copied into Arrow buffers (src/wal/vector-columns.ts)
// hold exactly the values DuckDB's own JavaScript conversion gives, for every
// WAL column kind: NULLs anywhere, strings inline and out of line, multi-byte
// UTF-8, and rows that span many chunks and cut batches.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { decodeChangeBatch, encodeColumns } from '../src/wal/change-batch.js';
import { VectorColumn, type VectorKind } from '../src/wal/vector-columns.js';
import { walBatches } from '../src/write/apply.js';
import type { WriteTable } from '../src/write/tables.js';

/** The query's rows gathered by VectorColumn, `batchRows` at most per batch, encoded and decoded again. */
async function gathered(conn: DuckDBConnection, sql: string, kinds: VectorKind[], capacity: number): Promise<unknown[][]> {
  const result = await conn.stream(sql);
  let columns = kinds.map((kind) => new VectorColumn(kind, capacity));
  const rows: unknown[][] = [];
  const flush = () => {
    const lsn = kinds.length - 3;
    const bytes = encodeColumns('t', kinds.slice(0, lsn).map((kind, i) => ({ name: `c${i}`, kind: kind as never })), columns.map((c) => c.finish()));
    const batch = decodeChangeBatch(bytes);
    for (let r = 0; r < batch.lsns.length; r++) rows.push([...batch.values.map((v) => v[r]), batch.lsns[r], batch.changeTypes[r], batch.timestamps[r]]);
    columns = kinds.map((kind) => new VectorColumn(kind, capacity));
  };
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    columns.forEach((column, i) => column.append(chunk, i));
    if (columns[0]!.rows >= capacity) flush();
  }
  if (columns[0]!.rows > 0) flush();
  return rows;
}

describe('DuckDB vectors into Arrow buffers', () => {
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    conn = await instance.connect();
  });
  after(() => {
    conn.closeSync();
    instance.closeSync();
  });

  const KINDS: VectorKind[] = ['bool', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'text', 'timestamp', 'uint64', 'text', 'timestamp'];
  const SELECT = `SELECT
      CASE WHEN g % 7 = 0 THEN NULL ELSE g % 3 = 0 END,
      CASE WHEN g % 5 = 0 THEN NULL ELSE (g % 256 - 128)::TINYINT END,
      CASE WHEN g % 11 = 0 THEN NULL ELSE (g % 65536 - 32768)::SMALLINT END,
      CASE WHEN g = 3 THEN NULL ELSE (g * 7919 % 2147483647 - 1073741823)::INTEGER END,
      CASE WHEN g % 13 = 0 THEN NULL WHEN g = 1 THEN -9223372036854775808 WHEN g = 2 THEN 9223372036854775807 ELSE g * 1000003 END::BIGINT,
      CASE WHEN g % 17 = 0 THEN NULL WHEN g = 4 THEN 'nan'::FLOAT WHEN g = 5 THEN '-0'::FLOAT ELSE (g / 3.0)::FLOAT END,
      CASE WHEN g % 19 = 0 THEN NULL WHEN g = 6 THEN '-inf'::DOUBLE ELSE g / 7.0 END::DOUBLE,
      CASE WHEN g % 23 = 0 THEN NULL WHEN g % 4 = 0 THEN '' WHEN g % 4 = 1 THEN 'short ✓' || g
           WHEN g % 4 = 2 THEN repeat('long text beyond twelve bytes, é😀 ', 1 + g % 5) ELSE 'exactly12byt' END,
      CASE WHEN g % 29 = 0 THEN NULL ELSE g * 1000000 - 62135596800000000 END::BIGINT,
      g::UBIGINT,
      CASE g % 3 WHEN 0 THEN 'INSERT' WHEN 1 THEN 'UPDATE_BEFORE' ELSE 'UPDATE_AFTER' END,
      (1700000000000000 + g)::BIGINT
    FROM range(1, 10001) AS r(g) ORDER BY g`;

  test('every kind, 10,000 rows in 2,048-row chunks, as one batch and cut into many', async () => {
    const expected = (await conn.runAndReadAll(SELECT)).getRowsJS();
    for (const capacity of [65_536, 3_000, 1]) {
      const rows = await gathered(conn, SELECT, KINDS, capacity);
      assert.equal(rows.length, 10_000, `capacity ${capacity}`);
      rows.forEach((row, r) => {
        const want = expected[r]!.map((value, c) => (KINDS[c] === 'int8' || KINDS[c] === 'int16' || KINDS[c] === 'int32') && typeof value === 'bigint' ? Number(value) : value);
        assert.deepEqual(row, want, `row ${r + 1}, capacity ${capacity}`);
      });
    }
  });

  test('inserts with consecutive LSNs get their change columns made, across 2^32 and batch boundaries', async () => {
    const table = { name: 't', columns: [{ name: 'v', wal: 'int64' }] } as unknown as WriteTable;
    const first = 2n ** 32n - 70_000n; // the second batch of 65,536 rows crosses 2^32
    const records: [unknown, bigint, string, bigint][] = [];
    const bounds: [bigint, bigint][] = [];
    for await (const encoded of walBatches(conn, table, 'SELECT g::BIGINT FROM range(0, 140000) r(g)', { firstLsn: first, timestampMicros: 1700000000000017n })) {
      const batch = decodeChangeBatch(encoded.bytes);
      bounds.push([encoded.firstLsn, encoded.lastLsn]);
      batch.lsns.forEach((lsn, r) => records.push([batch.values[0]![r], lsn, batch.changeTypes[r]!, batch.timestamps[r]!]));
    }
    assert.deepEqual(bounds, [
      [first, first + 65_535n],
      [first + 65_536n, first + 131_071n],
      [first + 131_072n, first + 139_999n],
    ]);
    assert.equal(records.length, 140_000);
    records.forEach(([value, lsn, type, at], r) => {
      assert.equal(value, BigInt(r));
      assert.equal(lsn, first + BigInt(r));
      assert.equal(type, 'INSERT');
      assert.equal(at, 1700000000000017n);
    });
  });

  test('a column of only NULLs, and a batch of no rows', async () => {
    const kinds: VectorKind[] = ['text', 'int64', 'bool', 'uint64', 'text', 'timestamp'];
    const rows = await gathered(conn, "SELECT NULL::VARCHAR, NULL::BIGINT, NULL::BOOLEAN, g::UBIGINT, 'DELETE', 0::BIGINT FROM range(1, 3000) r(g)", kinds, 65_536);
    assert.equal(rows.length, 2999);
    assert.ok(rows.every((row) => row[0] === null && row[1] === null && row[2] === null && row[4] === 'DELETE'));
    const none = await gathered(conn, "SELECT 'x', g::UBIGINT, 'INSERT', 0::BIGINT FROM range(0) r(g)", ['text', 'uint64', 'text', 'timestamp'], 16);
    assert.deepEqual(none, []);
  });
});
