// Differential test of the result codecs: the same value computed by
// PostgreSQL 15 and by DuckDB must come out of textEncoder / binaryEncoder
// byte-for-byte as PostgreSQL sends it, with the RowDescription type PostgreSQL
// reports. Where DuckDB spells a value differently, the pair is explicit.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openEngines } from './support/engines.js';
import type { Engines } from './support/engines.js';
import { textEncoder } from '../src/types/text-out.js';
import { binaryEncoder } from '../src/types/binary-out.js';
import { pgTypeOf } from '../src/types/mapping.js';
import { DuckDBTimestampTZValue } from '@duckdb/node-api';

type Case = {
  /** The PostgreSQL expression; also DuckDB's unless `duck` is given. */
  pg: string;
  duck?: string;
  /** Session TimeZones to compare text under (default UTC only). */
  zones?: string[];
  /** extra_float_digits values to compare text under (default 1). */
  efd?: number[];
};

const ZONES = ['UTC', 'Europe/Paris', 'Asia/Kolkata', 'America/St_Johns', 'America/New_York', '+02', 'UTC+3', '-03:30'];
const EFD = [1, 0, 3, -2, -15];

const CASES: Case[] = [
  // booleans and integers
  { pg: 'true' },
  { pg: 'false' },
  { pg: '1::int2' },
  { pg: '(-32768)::int2' },
  { pg: '2147483647::int4' },
  { pg: '(-2147483648)::int4' },
  { pg: '9223372036854775807::int8' },
  { pg: '(-9223372036854775808)::int8' },
  { pg: '(-5)::int2', duck: '(-5)::TINYINT' },
  { pg: '255::int2', duck: '255::UTINYINT' },
  { pg: '65535::int4', duck: '65535::USMALLINT' },
  { pg: '4294967295::int8', duck: '4294967295::UINTEGER' },
  { pg: '18446744073709551615::numeric', duck: '18446744073709551615::UBIGINT' },
  { pg: '(-170141183460469231731687303715884105728)::numeric', duck: '(-170141183460469231731687303715884105728)::HUGEINT' },
  { pg: '340282366920938463463374607431768211455::numeric', duck: '340282366920938463463374607431768211455::UHUGEINT' },
  // floats
  ...[
    '0.1', '1e20', '1e-7', '123456789.123', '-0.0', "'Infinity'", "'-Infinity'", "'NaN'", '1e15', '1e16', '123456789012345678',
    '0.0001', '0.00001', '1e100', '1e-100', '5e-324', '1.7976931348623157e308', '1234567890123445', '1234567890123455', '100',
    '2.5', '0.3', '1e22', '9007199254740993', '2.2250738585072014e-308', '-1.5e-7',
  ].map((x): Case => ({ pg: `${x}::float8`, duck: `${x}::DOUBLE`, efd: EFD })),
  { pg: '(1/3.0)::float8', duck: '1/3.0', efd: EFD },
  ...[
    '0.1', '1.1', '1e-45', '3.4028235e38', '16777217', '123456', '999999', '1234567', '1e-5', '0.0001', "'NaN'", "'-Infinity'",
    '-0.0', '1e10', '3.14159265', '7e-39', '1.17549435e-38', '0.3', '33554430', '8.589973e9', '1e38',
  ].map((x): Case => ({ pg: `${x}::float4`, duck: `${x}::FLOAT`, efd: EFD })),
  // numeric
  { pg: '1.5' },
  { pg: '0.001' },
  { pg: '-0.001' },
  { pg: '0.00' },
  { pg: '123456789.123456789' },
  { pg: '1.50::numeric(10,2)' },
  { pg: '(-1234567.891)::numeric(18,3)' },
  { pg: '10000.0001::numeric(9,4)' },
  { pg: '12345678901234567890123456789.123456789::numeric(38,9)' },
  { pg: '(-99999999999999999999999999999999999999)::numeric(38,0)' },
  { pg: '0.00000000000000000000000000000000000001::numeric(38,38)' },
  { pg: '100000000::numeric(20,0)' },
  // text, bytea, uuid, json
  { pg: "'hello'::text" },
  { pg: "''::text" },
  { pg: "'héllo wörld ✓ 😀'::text" },
  { pg: "'a\"b\\c'::text" },
  { pg: "'hello'::text", duck: "'hello'::VARCHAR(10)" },
  { pg: "'\\x0102ff'::bytea", duck: "'\\x01\\x02\\xFF'::BLOB" },
  { pg: "''::bytea", duck: "''::BLOB" },
  { pg: "'abc'::bytea", duck: "'abc'::BLOB" },
  { pg: "'12345678-1234-5678-1234-567812345678'::uuid" },
  { pg: "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid" },
  { pg: "'00000000-0000-0000-0000-000000000000'::uuid" },
  { pg: `'{"a": [1, 2.5, "x"], "b": null}'::json` },
  { pg: "'[]'::json" },
  { pg: "'plain'::text", duck: "'plain'::ENUM('plain', 'other')" },
  // dates
  { pg: "'2024-01-02'::date" },
  { pg: "'0001-01-01'::date" },
  { pg: "'0001-12-31 BC'::date", duck: "'0001-12-31 (BC)'::DATE" },
  { pg: "'0044-03-15 BC'::date", duck: "'0044-03-15 (BC)'::DATE" },
  { pg: "'4713-01-01 BC'::date", duck: "'4713-01-01 (BC)'::DATE" },
  { pg: "'9999-12-31'::date" },
  { pg: "'10000-01-01'::date" },
  { pg: "'1970-01-01'::date" },
  { pg: "'2000-02-29'::date" },
  { pg: "'1900-03-01'::date" },
  { pg: "'infinity'::date" },
  { pg: "'-infinity'::date" },
  // times
  { pg: "'04:05:06.5'::time" },
  { pg: "'00:00:00'::time" },
  { pg: "'23:59:59.999999'::time" },
  { pg: "'24:00:00'::time" },
  { pg: "'12:00:00.000100'::time" },
  { pg: "'04:05:06+05:30'::timetz" },
  { pg: "'04:05:06.789-08'::timetz" },
  { pg: "'00:00:00+00'::timetz" },
  { pg: "'23:59:59-03:30:15'::timetz", duck: "'23:59:59-03:30:15'::TIMETZ" },
  { pg: "'04:05:06.5'::time", duck: "'04:05:06.5'::TIME_NS" },
  // timestamps
  { pg: "'2024-01-02 03:04:05.123456'::timestamp" },
  { pg: "'2024-01-02 03:04:05'::timestamp" },
  { pg: "'2024-01-02 03:04:05.1'::timestamp" },
  { pg: "'1970-01-01 00:00:00'::timestamp" },
  { pg: "'1969-12-31 23:59:59.999999'::timestamp" },
  { pg: "'0001-01-01 00:00:00'::timestamp" },
  { pg: "'0044-03-15 12:00:00 BC'::timestamp", duck: "'0044-03-15 (BC) 12:00:00'::TIMESTAMP" },
  { pg: "'9999-12-31 23:59:59.999999'::timestamp" },
  { pg: "'200000-06-01 12:00:00'::timestamp" },
  { pg: "'1500-06-01 12:00:00.5'::timestamp" },
  { pg: "'infinity'::timestamp" },
  { pg: "'-infinity'::timestamp" },
  { pg: "'2024-01-02 03:04:05'::timestamp", duck: "'2024-01-02 03:04:05'::TIMESTAMP_S" },
  { pg: "'2024-01-02 03:04:05.123'::timestamp", duck: "'2024-01-02 03:04:05.123'::TIMESTAMP_MS" },
  { pg: "'2024-01-02 03:04:05.123456'::timestamp", duck: "'2024-01-02 03:04:05.1234567'::TIMESTAMP_NS" },
  { pg: "'1960-01-02 03:04:05.123456'::timestamp", duck: "'1960-01-02 03:04:05.1234567'::TIMESTAMP_NS" },
  // timestamptz under several session zones
  ...[
    '2024-01-02 03:04:05.123456+00', '2024-07-01 12:00:00+00', '1900-01-01 00:00:00+00', '1850-06-01 00:00:00+00',
    '2018-03-11 07:30:00+00', '2018-11-04 05:30:00+00', '2018-11-04 06:30:00+00', '2100-07-01 00:00:00+00',
    '1970-01-01 00:00:00+00', '2000-01-01 00:00:00.5+00', '0044-03-15 12:00:00+00 BC', 'infinity', '-infinity',
  ].map((x): Case => ({
    pg: `'${x}'::timestamptz`,
    duck: `'${x.replace(/ BC$/, '').replace(/^0044-03-15/, '0044-03-15 (BC)')}'::TIMESTAMPTZ`,
    zones: ZONES,
  })),
  // intervals
  { pg: "'1 year 2 mons 3 days 04:05:06.789'::interval", duck: "INTERVAL '1 year 2 months 3 days 04:05:06.789'" },
  { pg: "'-1 days +02:00:00'::interval", duck: "INTERVAL '-1 days 02:00:00'" },
  { pg: "'1 day -02:00:00'::interval", duck: "INTERVAL '1 day -02:00:00'" },
  { pg: "'00:00:00'::interval", duck: "INTERVAL '0 seconds'" },
  { pg: "'-00:30:00'::interval", duck: "INTERVAL '-30 minutes'" },
  { pg: "'1 mon'::interval", duck: "INTERVAL '1 month'" },
  { pg: "'-1 years -2 mons +3 days'::interval", duck: "to_months(-14) + to_days(3)" },
  { pg: "'1 year -1 mons'::interval", duck: 'to_months(11)' },
  { pg: "'-1 year +1 mons'::interval", duck: 'to_months(-11)' },
  { pg: "'100:00:00.000001'::interval", duck: "INTERVAL '100 hours 1 microsecond'" },
  { pg: "'-3 days -04:05:06.5'::interval", duck: "INTERVAL '-3 days -04:05:06.5'" },
  { pg: "'2 years'::interval", duck: "INTERVAL '2 years'" },
  { pg: "'1 year 1 day'::interval", duck: "INTERVAL '1 year 1 day'" },
  { pg: "'00:00:00.1'::interval", duck: "INTERVAL '100 milliseconds'" },
  // arrays
  { pg: 'ARRAY[1,2,NULL]::int4[]', duck: '[1,2,NULL]::INTEGER[]' },
  { pg: "'{}'::int4[]", duck: '[]::INTEGER[]' },
  { pg: 'ARRAY[1,2]::int8[]', duck: '[1,2]::BIGINT[]' },
  { pg: 'ARRAY[1,2]::int2[]', duck: '[1,2]::SMALLINT[]' },
  { pg: 'ARRAY[true,false,NULL]', duck: '[true,false,NULL]' },
  { pg: 'ARRAY[1,2,3]::int4[]', duck: 'array_value(1::INTEGER, 2::INTEGER, 3::INTEGER)' },
  { pg: `ARRAY['a b','c"d',NULL,'NULL','null','',E'x\\\\y','{x}','a,b',E'tab\\there','plain']::text[]`, duck: `['a b','c"d',NULL,'NULL','null','','x\\y','{x}','a,b',E'tab\\there','plain']::VARCHAR[]` },
  { pg: 'ARRAY[[1,2],[3,4]]::int4[]', duck: '[[1,2],[3,4]]::INTEGER[][]' },
  { pg: 'ARRAY[[[1],[2]],[[3],[NULL]]]::int4[]', duck: '[[[1],[2]],[[3],[NULL]]]::INTEGER[][][]' },
  { pg: 'ARRAY[1.5, 2.25, NULL]::numeric(5,2)[]', duck: '[1.5, 2.25, NULL]::DECIMAL(5,2)[]' },
  { pg: "ARRAY[0.1, 'NaN', '-Infinity', 1e20]::float8[]", duck: "[0.1, 'NaN', '-Infinity', 1e20]::DOUBLE[]", efd: [1, 0] },
  { pg: "ARRAY[0.1, 1.5]::float4[]", duck: '[0.1, 1.5]::FLOAT[]' },
  { pg: "ARRAY['2024-01-02', '0044-03-15 BC', 'infinity']::date[]", duck: "['2024-01-02', '0044-03-15 (BC)', 'infinity']::DATE[]" },
  { pg: "ARRAY['2024-01-02 03:04:05', NULL]::timestamp[]", duck: "['2024-01-02 03:04:05', NULL]::TIMESTAMP[]" },
  { pg: "ARRAY['2024-01-02 03:04:05+00']::timestamptz[]", duck: "['2024-01-02 03:04:05+00']::TIMESTAMPTZ[]", zones: ['UTC', 'Asia/Kolkata'] },
  { pg: "ARRAY['04:05:06', '12:00:00.5']::time[]", duck: "['04:05:06', '12:00:00.5']::TIME[]" },
  { pg: "ARRAY['1 day 02:00:00', '-00:30:00']::interval[]", duck: "[INTERVAL '1 day 2 hours', INTERVAL '-30 minutes']" },
  { pg: "ARRAY['12345678-1234-5678-1234-567812345678']::uuid[]", duck: "['12345678-1234-5678-1234-567812345678']::UUID[]" },
  { pg: "ARRAY['\\x01ff', '']::bytea[]", duck: "['\\x01\\xFF'::BLOB, ''::BLOB]" },
  { pg: `ARRAY['{"a": 1}', '[1, 2]']::json[]`, duck: `['{"a": 1}', '[1, 2]']::JSON[]` },
  { pg: "ARRAY['hello', 'x y']::text[]", duck: "['hello', 'x y']::VARCHAR[]" },
];

let engines: Engines;
before(async () => {
  engines = await openEngines();
});
after(async () => {
  await engines?.close();
});

for (const c of CASES) {
  const duckExpr = c.duck ?? c.pg;
  test(`${c.pg}${c.duck ? `  ~  ${c.duck}` : ''}`, async () => {
    const { value, type } = await engines.duckSelect(duckExpr);
    assert.notEqual(value, null, 'DuckDB value is NULL');
    const binary = await engines.pgSelect(c.pg, 1);
    const field = binary.fields[0];
    const pgType = pgTypeOf(type);
    assert.equal(pgType.oid, field.typeOid, `type OID for DuckDB ${type}`);
    if (field.typmod !== -1) assert.equal(pgType.typmod, field.typmod, 'typmod');
    const encodeBinary = binaryEncoder(type);
    assert.ok(encodeBinary, `no binary encoder for ${type}`);
    assert.deepEqual(Buffer.from(encodeBinary(value!)).toString('hex'), binary.rows[0][0]!.toString('hex'), 'binary');
    for (const zone of c.zones ?? ['UTC']) {
      for (const efd of c.efd ?? [1]) {
        await engines.pg.query(`SET TimeZone = '${zone}'`);
        await engines.pg.query(`SET extra_float_digits = ${efd}`);
        const text = (await engines.pgSelect(c.pg, 0)).rows[0][0]!.toString('utf8');
        const ours = textEncoder(type, { timeZone: zone, extraFloatDigits: efd })(value!);
        assert.equal(ours, text, `text under TimeZone ${zone}, extra_float_digits ${efd}`);
      }
    }
    await engines.pg.query("SET TimeZone = 'UTC'");
    await engines.pg.query('SET extra_float_digits = 1');
  });
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('float4 and float8 text of random values matches PostgreSQL', async () => {
  const next = random(42);
  const doubles: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const magnitude = 10 ** Math.floor(next() * 80 - 40);
    doubles.push((next() - 0.5) * magnitude);
  }
  const floats = doubles.map((d) => Math.fround(d));
  // 17 significant digits name a double exactly; a float32 value is a double too.
  const literal = (list: number[], type: string) => `ARRAY[${list.map((d) => `'${d.toPrecision(17)}'::float8`).join(',')}]::${type}[]`;
  for (const efd of [1, 0, -4]) {
    await engines.pg.query(`SET extra_float_digits = ${efd}`);
    for (const [list, type, duckType] of [[doubles, 'float8', 'DOUBLE'], [floats, 'float4', 'FLOAT']] as const) {
      const text = (await engines.pgSelect(`array_to_string(${literal(list, type)}, ' ')`)).rows[0][0]!.toString();
      const encode = textEncoder(duckType === 'DOUBLE' ? (await engines.duckSelect('1::DOUBLE')).type : (await engines.duckSelect('1::FLOAT')).type, { timeZone: 'UTC', extraFloatDigits: efd });
      assert.deepEqual(list.map((v) => encode(v)), text.split(' '), `${type} with extra_float_digits ${efd}`);
    }
  }
  await engines.pg.query('SET extra_float_digits = 1');
});

test('timestamptz text of random instants matches PostgreSQL in many zones', async () => {
  const next = random(7);
  const micros: bigint[] = [];
  // 1700 … 2200, to the microsecond.
  for (let i = 0; i < 1000; i++) micros.push(BigInt(Math.floor((next() * 500 - 270) * 365.2425 * 86_400e6)));
  // Exact UTC literals: milliseconds through Date, the last three digits appended.
  const utc = (m: bigint) => {
    const sub = ((m % 1000n) + 1000n) % 1000n;
    const iso = new Date(Number((m - sub) / 1000n)).toISOString();
    return `'${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(sub).padStart(3, '0')}+00'::timestamptz`;
  };
  const literal = `ARRAY[${micros.map(utc).join(',')}]`;
  const type = (await engines.duckSelect("'2024-01-01 00:00:00+00'::TIMESTAMPTZ")).type;
  for (const zone of ['Europe/Paris', 'America/St_Johns', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Sao_Paulo', 'Africa/Casablanca', 'Pacific/Apia', 'Europe/Dublin', 'Etc/GMT+5', 'America/Los_Angeles']) {
    await engines.pg.query(`SET TimeZone = '${zone}'`);
    const text = (await engines.pgSelect(`array_to_string(${literal}, '|')`)).rows[0][0]!.toString();
    const encode = textEncoder(type, { timeZone: zone, extraFloatDigits: 1 });
    const ours = micros.map((m) => encode(new DuckDBTimestampTZValue(m)));
    const theirs = text.split('|');
    const differences = ours.map((o, i) => (o === theirs[i] ? '' : `${o} != ${theirs[i]}`)).filter(Boolean);
    assert.deepEqual(differences, [], zone);
  }
  await engines.pg.query("SET TimeZone = 'UTC'");
});
