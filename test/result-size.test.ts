// Which queries Arka computes whole in one DuckDB call instead of streaming
// (src/sql/result-size.ts): only those whose result is certainly small, so a
// large result is never held in memory.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initParser, parseStatements } from '../src/sql/parse.js';
import { FEW_ROWS, returnsFewRows } from '../src/sql/result-size.js';

before(async () => initParser());

const few = (sql: string) => returnsFewRows(parseStatements(sql)[0]!.ast);

test('a single row: constants without FROM, and aggregates without GROUP BY', () => {
  for (const sql of [
    'SELECT 1',
    'SELECT $1::int, NULL IS NULL, current_user',
    'SELECT version()',
    'SELECT max(seq) AS m FROM fresh',
    'SELECT count(*), max(x) + 1, coalesce(min(y), 0) FROM t WHERE y > 2',
    'WITH c AS (SELECT * FROM t) SELECT count(*) FROM c',
  ]) {
    assert.equal(few(sql), true, sql);
  }
});

test(`a LIMIT of at most ${FEW_ROWS} rows`, () => {
  assert.equal(few('SELECT * FROM t LIMIT 5'), true);
  assert.equal(few(`SELECT * FROM t ORDER BY x LIMIT ${FEW_ROWS}`), true);
  assert.equal(few('SELECT unnest(a) FROM t FETCH FIRST 3 ROWS ONLY'), true);
  assert.equal(few(`SELECT * FROM t LIMIT ${FEW_ROWS + 1}`), false);
});

test('anything that may be large streams', () => {
  for (const sql of [
    'SELECT 1 FROM t',
    'SELECT now() FROM t',
    'SELECT x FROM t',
    'SELECT max(x) FROM t GROUP BY y',
    'SELECT count(*) OVER () FROM t',
    'SELECT generate_series(1, 10)',
    'SELECT unnest(array_agg(x)) FROM t',
    'SELECT 1 UNION SELECT 2',
    'VALUES (1)',
    'SELECT (SELECT max(x) FROM t)',
    'SELECT * FROM t LIMIT ALL',
    'SELECT * FROM t LIMIT $1',
    'SELECT * FROM t ORDER BY x FETCH FIRST 3 ROWS WITH TIES',
  ]) {
    assert.equal(few(sql), false, sql);
  }
});
