// The type table against PostgreSQL 15's own pg_type and ::regtype, and the
// DuckDB <-> PostgreSQL mapping as a table.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARRAY, BIGINT, BIGNUM, BIT, BLOB, BOOLEAN, DATE, DECIMAL, DOUBLE, DuckDBVarCharType, ENUM, FLOAT, HUGEINT, INTEGER, INTERVAL,
  LIST, MAP, SMALLINT, SQLNULL, STRUCT, TIME, TIMESTAMP, TIMESTAMPTZ, TIMESTAMP_MS, TIMESTAMP_NS, TIMESTAMP_S, TIMETZ,
  TIME_NS, TINYINT, UBIGINT, UHUGEINT, UINTEGER, UNION, USMALLINT, UTINYINT, UUID, VARCHAR,
} from '@duckdb/node-api';
import type { DuckDBType } from '@duckdb/node-api';
import { startPostgres } from './support/postgres.js';
import type { PostgresServer } from './support/postgres.js';
import { RawPgClient } from './support/pg-raw.js';
import { PgOid, pgTypeByName, pgTypeByOid } from '../src/types/pg-types.js';
import { duckTypeOfOid, numericTypmod, pgTypeOf } from '../src/types/mapping.js';

let server: PostgresServer;
let pg: RawPgClient;
before(async () => {
  server = await startPostgres();
  pg = await RawPgClient.connect(server.host, server.port);
});
after(async () => {
  await pg?.close();
  await server?.stop();
});

const ALL_OIDS = [
  ...Object.values(PgOid),
  1000, 1005, 1007, 1009, 1015, 1016, 1021, 1022, 1115, 1182, 1183, 1185, 1187, 1231, 2951, 199, 3807, 1001, 1014, 1003, 1028,
  1002, 1270,
];

test('every type matches pg_type', async () => {
  const result = await pg.query(
    `SELECT oid::int, typname::text, typlen::int, typarray::int, typelem::int, typcategory::text FROM pg_type WHERE oid IN (${ALL_OIDS.join(',')})`,
  );
  assert.equal(result.rows.length, ALL_OIDS.length);
  for (const row of result.rows) {
    const [oid, name, typlen, arrayOid, elemOid, category] = row.map((b) => b!.toString());
    assert.deepEqual(pgTypeByOid(Number(oid)), {
      oid: Number(oid), name, typlen: Number(typlen), arrayOid: Number(arrayOid), elemOid: Number(elemOid), category,
    });
  }
});

test('pgTypeByName resolves names as ::regtype does', async () => {
  const names = [
    'int4', 'integer', 'int', 'INT', 'bigint', 'smallint', 'boolean', 'bool', 'double precision', 'real', 'float', 'float(10)',
    'float(40)', 'numeric', 'numeric(10,2)', 'decimal', 'character varying', 'character varying(10)', 'varchar(3)', 'character',
    'char', 'char(5)', '"char"', 'text', 'name', 'bytea', 'date', 'time', 'time without time zone', 'time with time zone',
    'timestamp', 'timestamp(3)', 'timestamp without time zone', 'timestamp with time zone', 'timestamptz', 'timetz',
    'interval', 'uuid', 'json', 'jsonb', 'xml', 'oid', 'regclass', 'regtype', 'regproc', 'bit', 'bit varying', 'varbit',
    'int4[]', 'integer[]', 'text[]', '_text', 'timestamp with time zone[]', 'numeric(10,2)[]', 'double precision[]',
    'pg_catalog.int8', 'unknown',
  ];
  for (const name of names) {
    const result = await pg.query(`SELECT '${name.replace(/'/g, "''")}'::regtype::oid::int`);
    assert.equal(pgTypeByName(name)?.oid, Number(result.rows[0][0]!.toString()), name);
  }
  assert.equal(pgTypeByName('no such type'), undefined);
});

test('pgTypeOf maps DuckDB types', () => {
  const table: [DuckDBType, number, number][] = [
    [BOOLEAN, 16, -1],
    [TINYINT, 21, -1],
    [SMALLINT, 21, -1],
    [UTINYINT, 21, -1],
    [INTEGER, 23, -1],
    [USMALLINT, 23, -1],
    [BIGINT, 20, -1],
    [UINTEGER, 20, -1],
    [UBIGINT, 1700, -1],
    [HUGEINT, 1700, -1],
    [UHUGEINT, 1700, -1],
    [BIGNUM, 1700, -1],
    [FLOAT, 700, -1],
    [DOUBLE, 701, -1],
    [DECIMAL(10, 2), 1700, numericTypmod(10, 2)],
    [DECIMAL(38, 0), 1700, (38 << 16) + 4],
    [VARCHAR, 25, -1],
    [DuckDBVarCharType.create('JSON'), 114, -1],
    [BLOB, 17, -1],
    [DATE, 1082, -1],
    [TIME, 1083, -1],
    [TIME_NS, 1083, -1],
    [TIMETZ, 1266, -1],
    [TIMESTAMP, 1114, -1],
    [TIMESTAMP_S, 1114, -1],
    [TIMESTAMP_MS, 1114, -1],
    [TIMESTAMP_NS, 1114, -1],
    [TIMESTAMPTZ, 1184, -1],
    [INTERVAL, 1186, -1],
    [UUID, 2950, -1],
    [ENUM(['a', 'b']), 25, -1],
    [LIST(INTEGER), 1007, -1],
    [ARRAY(DOUBLE, 3), 1022, -1],
    [LIST(LIST(BIGINT)), 1016, -1],
    [LIST(DECIMAL(5, 2)), 1231, numericTypmod(5, 2)],
    [LIST(DuckDBVarCharType.create('JSON')), 199, -1],
    [LIST(STRUCT({ a: INTEGER })), 1009, -1],
    [LIST(MAP(VARCHAR, INTEGER)), 1009, -1],
    [STRUCT({ a: INTEGER }), 25, -1],
    [MAP(VARCHAR, INTEGER), 25, -1],
    [UNION({ n: INTEGER, s: VARCHAR }), 25, -1],
    [BIT, 25, -1],
    [SQLNULL, 25, -1],
  ];
  for (const [type, oid, typmod] of table) {
    assert.deepEqual(pgTypeOf(type), { oid, typlen: pgTypeByOid(oid)!.typlen, typmod }, type.toString());
  }
});

test('duckTypeOfOid maps declared parameter types', () => {
  const table: [number, string | undefined][] = [
    [16, 'BOOLEAN'], [21, 'SMALLINT'], [23, 'INTEGER'], [20, 'BIGINT'], [700, 'FLOAT'], [701, 'DOUBLE'],
    [1700, 'DECIMAL(38,10)'], [25, 'VARCHAR'], [1043, 'VARCHAR'], [1042, 'VARCHAR'], [19, 'VARCHAR'], [705, 'VARCHAR'],
    [114, 'VARCHAR'], [3802, 'VARCHAR'], [17, 'BLOB'], [1082, 'DATE'], [1083, 'TIME'], [1266, 'TIME WITH TIME ZONE'],
    [1114, 'TIMESTAMP'], [1184, 'TIMESTAMP WITH TIME ZONE'], [1186, 'INTERVAL'], [2950, 'UUID'], [26, 'UINTEGER'],
    [1562, 'BIT'], [1007, 'INTEGER[]'], [1009, 'VARCHAR[]'], [1231, 'DECIMAL(38,10)[]'], [0, undefined], [999_999, undefined],
  ];
  for (const [oid, expected] of table) assert.equal(duckTypeOfOid(oid)?.toString(), expected, String(oid));
  assert.equal(duckTypeOfOid(114)?.alias, 'JSON');
  assert.equal(duckTypeOfOid(3802)?.alias, 'JSON');
  // Declared types map back to themselves, where DuckDB has the type.
  for (const oid of [16, 21, 23, 20, 700, 701, 25, 17, 1082, 1083, 1266, 1114, 1184, 1186, 2950, 114, 1007, 1022, 1009]) {
    assert.equal(pgTypeOf(duckTypeOfOid(oid)!).oid, oid, String(oid));
  }
});
