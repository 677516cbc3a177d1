// The words Arka quotes for DuckDB (src/sql/duckdb-keywords.ts) are exactly
// those PostgreSQL accepts as a column name and the DuckDB Arka runs on
// refuses: derived here from both parsers, so an upgrade of either that
// changes the set fails this test.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadModule, parseSync } from 'libpg-query';
import { DUCKDB_ONLY_KEYWORDS } from '../src/sql/duckdb-keywords.js';

function postgresAcceptsAsColumn(word: string): boolean {
  try {
    parseSync(`SELECT 1 AS x, ${word} FROM t`);
    return true;
  } catch {
    return false;
  }
}

test('the words quoted for DuckDB are the keywords it reserves that PostgreSQL takes as column names', async () => {
  await loadModule();
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run('CREATE TABLE t (x INTEGER)');
  const keywords = (await conn.runAndReadAll('SELECT keyword_name FROM duckdb_keywords() ORDER BY 1')).getRowsJS().map((row) => row[0] as string);
  assert.ok(keywords.length > 100, 'DuckDB lists its keywords');
  const refused: string[] = [];
  for (const word of keywords) {
    if (!postgresAcceptsAsColumn(word)) continue;
    try {
      await conn.extractStatements(`SELECT 1 AS x, ${word} FROM t`);
    } catch {
      refused.push(word);
    }
  }
  conn.closeSync();
  assert.deepEqual(refused, [...DUCKDB_ONLY_KEYWORDS].sort());
});
