// The same statements against a real PostgreSQL 15 and against Arka, compared
// value for value: text output of every supported type, column names and type
// OIDs, command tags, and error SQLSTATEs.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startArka, type ArkaProcess } from './support/arka.js';
import { startPostgres, type PostgresServer } from './support/postgres.js';
import { rawTypes } from './support/raw-types.js';

type Observed =
  | { ok: true; command: string | null; rowCount: number | null; fields: [string, number][]; rows: unknown[][] }
  | { ok: false; code: string };

async function observe(client: pg.Client, sql: string, values?: unknown[], binary = false): Promise<Observed> {
  try {
    const result = await client.query({ text: sql, rowMode: 'array', values, binary } as pg.QueryConfig);
    return {
      ok: true,
      command: result.command,
      rowCount: result.rowCount,
      fields: result.fields.map((f) => [f.name, f.dataTypeID]),
      rows: result.rows,
    };
  } catch (error) {
    return { ok: false, code: (error as { code: string }).code };
  }
}

/** Statements that mean the same in both engines, grouped by what they check. */
const CASES: Record<string, string[]> = {
  'boolean and integers': [
    'SELECT true, false, NULL::boolean',
    'SELECT 1::int2, -32768::int2, 2147483647::int4, -9223372036854775808::int8, 3000000000',
  ],
  floats: [
    'SELECT 0.1::float8, 1e20::float8, 1e15::float8, 123456789012345::float8, 1.5e-7::float8, 1.0::float8 / 3',
    "SELECT 'Infinity'::float8, '-Infinity'::float8, 'NaN'::float8, -0.0::float8, 1.5::float4, 0.1::float4",
    'SELECT 1e-5::float8, 0.0001::float8, 1e16::float8, 2.5e100::float8',
  ],
  numeric: [
    'SELECT 12.50::numeric(10,2), -0.001::numeric(6,3), 1.5, 0::numeric(5,2), 123456789.123456789::numeric(20,9)',
  ],
  text: ["SELECT 'plain', 'with ''quote''', 'ünïcødé ✓', '', NULL::text", "SELECT 'a'::varchar(5), 'abc'::text || 'def'"],
  bytea: ["SELECT '\\x0102ff'::bytea, '\\x'::bytea"],
  'dates and times': [
    "SELECT '2024-02-29'::date, '0001-01-01'::date, '9999-12-31'::date",
    "SELECT '04:05:06.5'::time, '00:00:00'::time, '23:59:59.999999'::time",
    "SELECT '2024-01-02 03:04:05.123456'::timestamp, '2024-01-02 03:04:05'::timestamp, '1999-12-31 23:59:59.5'::timestamp",
    "SELECT '2024-01-02 03:04:05.123+00'::timestamptz, '2024-07-01 12:00:00+02'::timestamptz",
  ],
  intervals: [
    "SELECT '1 year 2 mons 3 days 04:05:06.789'::interval, '1 day'::interval, '-1 days 02:00:00'::interval, '00:00:00'::interval",
    "SELECT '3 months'::interval, '-00:30:00'::interval, '14 months'::interval",
  ],
  'uuid and json': [
    "SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
    'SELECT \'{"a": 1, "b": [1, 2]}\'::json',
  ],
  arrays: [
    'SELECT ARRAY[1, 2, NULL], ARRAY[]::int[], ARRAY[1.5::float8, 2]',
    "SELECT ARRAY['a b', 'c\"d', NULL, 'NULL', '', 'x,y', 'back\\slash']",
    "SELECT ARRAY['2024-01-02'::date], ARRAY[true, false]",
  ],
  'names and expressions': [
    "SELECT 1, 1 + 1, 'x' AS named, abs(-3), upper('a'), CASE WHEN 1 = 1 THEN 'y' END",
    'SELECT x, x * 2 AS double FROM (VALUES (1), (2), (3)) AS t(x) ORDER BY x DESC',
    'SELECT count(*), max(x), min(x) FROM (VALUES (1), (5)) AS t(x)',
    'VALUES (1, 2), (3, 4)',
    'SELECT 7 / 2, 7 % 3, -7 / 2, 2 ^ 10',
    "SELECT 'abc' ~ 'b', 'abc' ~ '^b', 'ABC' ~* 'b', 'abc' !~ 'z'",
    'SELECT NULL IS NULL, coalesce(NULL, 2), nullif(1, 1), greatest(1, 3, 2), least(1, 3, 2)',
    'SELECT x FROM (VALUES (3), (NULL), (1)) AS t(x) ORDER BY x',
    'SELECT x FROM (VALUES (3), (NULL), (1)) AS t(x) ORDER BY x DESC',
  ],
  'window functions': [
    'SELECT x, rank() OVER (ORDER BY x DESC), row_number() OVER (ORDER BY x) FROM (VALUES (1), (2), (2)) AS t(x) ORDER BY x',
  ],
  'tables and command tags': [
    'CREATE TABLE diff_users (user_id INTEGER PRIMARY KEY, name TEXT, age INTEGER)',
    'CREATE TABLE diff_events (ts TIMESTAMPTZ, user_id INTEGER, amount NUMERIC(12,2))',
    'SELECT * FROM diff_users',
    'SELECT u.name, RANK() OVER (ORDER BY u.age DESC) FROM diff_users u',
    'ALTER TABLE diff_events ADD COLUMN note text',
    'SELECT * FROM diff_events',
    'BEGIN',
    'SELECT 1',
    'COMMIT',
    'SET TimeZone = \'UTC\'',
    'SHOW TimeZone',
    'SHOW DateStyle',
    'DROP TABLE diff_events',
    'DROP TABLE IF EXISTS diff_events',
  ],
  // Plain names in PostgreSQL, keywords DuckDB reserves (src/sql/duckdb-keywords.ts).
  'names DuckDB reserves': [
    'CREATE TABLE diff_words (at TIMESTAMP, show TEXT, by INTEGER, qualify INTEGER, pivot TEXT, semi INTEGER, describe TEXT)',
    "INSERT INTO diff_words (at, show, by, qualify, pivot, semi, describe) VALUES ('2024-01-02 03:04:05', 'a', 2, 3, 'p', 4, 'd'), ('2024-01-01 00:00:00', 'b', 1, 5, 'q', 6, 'e')",
    'SELECT at, show, by, qualify, pivot, semi, describe FROM diff_words ORDER BY at',
    "SELECT w.at AT TIME ZONE 'UTC' AS at, count(*) AS by FROM diff_words w GROUP BY w.at ORDER BY at",
    'SELECT by AS show, max(semi) OVER (PARTITION BY show ORDER BY by) AS glob FROM diff_words AS summarize ORDER BY by',
    "SELECT \"at\" FROM diff_words WHERE at > '2024-01-01 12:00' AND show = 'a'",
    'SELECT anti.by FROM diff_words anti ORDER BY 1',
    "SELECT at /* a name */ FROM diff_words ORDER /* a keyword */ BY at -- and a comment\n",
    'DROP TABLE diff_words',
  ],
  'error SQLSTATEs': [
    'SELEC 1',
    'SELECT * FROM no_such_table',
    'SELECT no_such_column FROM diff_users',
    'SELECT no_such_function(1)',
    "SELECT 'abc'::int",
    'SELECT 1 / 0',
    'SELECT 1 % 0',
    'SELECT 1.0 / 0',
    'CREATE TABLE diff_users (a int)',
    'DROP TABLE no_such_table',
    "SELECT current_setting('no_such_setting')",
    'SET no_such_setting = 1',
  ],
};

/** Parameterised statements: node-postgres sends each value as text with an unspecified type. */
const PARAMETER_CASES: [string, unknown[]][] = [
  ['SELECT $1::bool, $2::bool, $3::bool', ['t', 'false', null]],
  ['SELECT $1::int2, $2::int4, $3::int8', ['-7', ' 42 ', '9223372036854775807']],
  ['SELECT $1::float4, $2::float8, $3::float8', ['1.5', '0.1', 'NaN']],
  ['SELECT $1::numeric(12,2), $2::numeric(20,6)', ['12.5', '-123456.000001']],
  ['SELECT $1::text, $2::varchar, $3::text', ['héllo', 'with "quotes"', '']],
  ['SELECT $1::bytea', ['\\xdeadbeef']],
  ['SELECT $1::date, $2::time, $3::timestamp', ['2024-02-29', '13:14:15.5', '2024-01-02 03:04:05.123']],
  ['SELECT $1::timestamptz, $2::timestamptz', ['2024-01-02 03:04:05+02', '2024-06-30T23:59:59Z']],
  ['SELECT $1::interval, $2::interval', ['1 day 02:00:00', '-1 year 2 mons']],
  ['SELECT $1::uuid', ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11']],
  ['SELECT $1::json', ['{"k": [1, 2]}']],
  ['SELECT $1::int4[], $2::text[]', ['{1,2,NULL}', '{a,"b c",NULL}']],
  ['SELECT x FROM (VALUES (1), (2), (3)) AS t(x) WHERE x >= $1 ORDER BY x', [2]],
  ["SELECT $1::text || 'x' AS joined", ['a']],
];

describe('differential: Arka against PostgreSQL 15', () => {
  let postgres: PostgresServer;
  let arka: ArkaProcess;
  let reference: pg.Client;
  let subject: pg.Client;

  before(async () => {
    [postgres, arka] = await Promise.all([startPostgres(), startArka()]);
    reference = new pg.Client({ host: postgres.host, port: postgres.port, user: 'postgres', database: 'postgres', types: rawTypes });
    subject = await arka.client({ types: rawTypes });
    await reference.connect();
    for (const client of [reference, subject]) await client.query("SET TimeZone = 'UTC'");
  });
  after(async () => {
    await reference?.end();
    await subject?.end();
    await arka?.destroy();
    await postgres?.stop();
  });

  for (const [group, statements] of Object.entries(CASES)) {
    test(group, async () => {
      for (const sql of statements) {
        const expected = await observe(reference, sql);
        const actual = await observe(subject, sql);
        assert.deepEqual(actual, expected, `for: ${sql}`);
      }
    });
  }

  test('parameters of every supported type (extended protocol, text format)', async () => {
    for (const [sql, values] of PARAMETER_CASES) {
      assert.deepEqual(await observe(subject, sql, values), await observe(reference, sql, values), `for: ${sql}`);
    }
  });

  test('binary results are byte for byte PostgreSQL\'s', async () => {
    for (const [sql, values] of PARAMETER_CASES) {
      assert.deepEqual(await observe(subject, sql, values, true), await observe(reference, sql, values, true), `for: ${sql}`);
    }
  });

  test('timestamptz in other time zones', async () => {
    for (const zone of ['Europe/Paris', 'Asia/Kolkata', 'America/St_Johns', 'America/New_York']) {
      const sql = "SELECT '2024-01-02 03:04:05.5+00'::timestamptz, '2024-07-02 03:04:05+00'::timestamptz";
      for (const client of [reference, subject]) await client.query(`SET TimeZone = '${zone}'`);
      assert.deepEqual(await observe(subject, sql), await observe(reference, sql), `in ${zone}`);
    }
    for (const client of [reference, subject]) await client.query("SET TimeZone = 'UTC'");
  });

  test('psql prints the quick start the same', async () => {
    const script = [
      'CREATE TABLE qs_users (user_id INTEGER PRIMARY KEY, name TEXT, age INTEGER);',
      'CREATE TABLE qs_events (ts TIMESTAMPTZ, user_id INTEGER, amount NUMERIC(12,2));',
      "SELECT g AS id, 'n' || g AS name FROM generate_series(1, 5) g;",
      'SELECT u.name, RANK() OVER (ORDER BY u.age DESC) FROM qs_users u;',
      "SELECT 1 AS one, 'two' AS two, 3.5 AS three, true AS four, NULL AS five;",
      '\\x',
      "SELECT 1 AS a, 'b' AS b;",
    ].join('\n');
    const runScript = (port: number, user: string, database: string) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(
          'psql',
          ['-X', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', database, '-f', '-'],
          (error, stdout, stderr) => (error ? reject(new Error(`psql failed: ${stderr}`)) : resolve(stdout)),
        );
        child.stdin!.end(script);
      });
    const expected = await runScript(postgres.port, 'postgres', 'postgres');
    const actual = await runScript(arka.port, 'arka', 'arka');
    assert.equal(actual, expected);
  });
});
