// Differential test of Bind parameter decoding: PostgreSQL 15 reads a
// parameter (SELECT $1::type) and prints it; decodeParameter reads the same
// bytes, DuckDB takes the value back through a prepared statement, and
// textEncoder must print what PostgreSQL printed. Bad input must fail with
// PostgreSQL's SQLSTATE and message.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openEngines } from './support/engines.js';
import type { Engines } from './support/engines.js';
import { PgServerError } from './support/pg-raw.js';
import { FormatCode } from '../protocol/messages.js';
import { InvalidParameterError, decodeParameter } from '../src/types/params.js';
import { pgTypeByName } from '../src/types/pg-types.js';
import { textEncoder } from '../src/types/text-out.js';

let engines: Engines;
before(async () => {
  engines = await openEngines();
});
after(async () => {
  await engines?.close();
});

/** What DuckDB prints, in PostgreSQL's format, for a decoded parameter. */
async function roundTrip(oid: number, format: FormatCode, data: Buffer, zone: string): Promise<string> {
  const decoded = decodeParameter(oid, format, data, { timeZone: zone, parameterNumber: 1 });
  const statement = await engines.duck.prepare('SELECT $1');
  statement.bind([decoded.value], [decoded.type]);
  const result = await statement.run();
  const value = (await result.getRows())[0][0];
  assert.notEqual(value, null);
  return textEncoder(result.columnType(0), { timeZone: zone, extraFloatDigits: 1 })(value!);
}

async function pgParam(typeName: string, format: 0 | 1, data: Buffer, zone: string): Promise<string> {
  const oid = pgTypeByName(typeName)!.oid;
  await engines.pg.query(`SET TimeZone = '${zone}'`);
  const result = await engines.pg.query(`SELECT $1::${typeName}`, 0, [{ oid, format, data }]);
  return result.rows[0][0]!.toString('utf8');
}

// [type, text inputs as a client may send them]
const TEXT_INPUTS: [string, string[]][] = [
  ['bool', ['t', 'true', 'TRUE', ' yes ', 'on', '1', 'f', 'false', 'no', 'off', '0', 'y', 'n', 'tr', 'of']],
  ['int2', ['0', '-32768', '32767', ' 42 ', '+7']],
  ['int4', ['0', '2147483647', '-2147483648', '  -12  ']],
  ['int8', ['9223372036854775807', '-9223372036854775808', '0012']],
  ['float4', ['0.1', '1e3', '-1.5e-7', 'NaN', 'nan', 'Infinity', '-Infinity', 'inf', ' 3.25 ', '1e-45', '.5', '5.']],
  ['float8', ['0.1', '1e3', '1E+20', '-0', 'NaN', '-inf', '123456789.123', '5e-324', '1.7976931348623157e308', '.25']],
  ['numeric', ['1.5', '-0.001', '0', '00012.3400', '1e3', '1.5e-3', '-1.5E+2', '123456789012345678901234567890.12345678', '.5', '5.', 'NaN', ' 7 ', '0.00000000000000000000000000000000000001']],
  ['text', ['hello', '', 'héllo ✓ 😀', 'a"b\\c', ' spaced ']],
  ['varchar', ['hello']],
  ['bpchar', ['abc']],
  ['name', ['pg_class']],
  ['json', ['{"a": [1, 2.5, "x"], "b": null}', '[]', ' 1 ', '"s"']],
  ['jsonb', ['{"a": 1}']],
  ['bytea', ['\\x0102ff', '\\x', 'abc', '\\\\', '\\001\\377x', '\\x01 02']],
  ['uuid', ['12345678-1234-5678-1234-567812345678', '{12345678-1234-5678-1234-567812345678}', 'A0EEBC999C0B4EF8BB6D6BB9BD380A11', 'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11']],
  ['date', ['2024-01-02', '0044-03-15 BC', '1-1-1', '20240102', '01/02/2024', 'infinity', '-infinity', 'epoch', '2024-01-02 03:04:05', '9999-12-31', '10000-01-01', '2000-02-29', '2024-01-02 AD']],
  ['time', ['04:05:06.5', '04:05', '23:59:59.999999', '24:00:00', '00:00:00', '04:05:06.1234567', '2024-01-02 04:05:06']],
  ['timetz', ['04:05:06+02', '04:05:06.5-03:30', '04:05:06 UTC', '04:05:06+0530', '04:05:06Z']],
  ['timestamp', ['2024-01-02 03:04:05', '2024-01-02T03:04:05.123456', '2024-01-02', '2024-01-02 03:04:05+02', '0044-03-15 12:00:00 BC', 'infinity', '-infinity', 'epoch', '2024-01-02 03:04', '1999-12-31 23:59:59.9999995']],
  ['timestamptz', ['2024-01-02 03:04:05+02', '2024-01-02T03:04:05Z', '2024-01-02 03:04:05.5-03:30', '2024-01-02 03:04:05', '2024-07-01 12:00:00', '2018-03-11 02:30:00', '2018-11-04 01:30:00', '2024-01-02', 'infinity', '2024-01-02 03:04:05 Europe/Paris', '2024-01-02 03:04:05 UTC', '2024-01-02 03:04:05+05:30:15', '1900-01-01 00:00:00']],
  ['interval', [
    '1 day 02:00:00', 'P1D', '1 year 2 mons', '-00:30', '1 year 2 mons 3 days 04:05:06.789', '-1 days +02:00:00', '1-2', '5', '1.5 years',
    '1.1 years', '1.5 months', '1.01 months', '1.5 days', '-1 2:00:00', '1 day ago', '@ 1 hour', 'P1.5Y', '1.5 weeks', '0.1 sec',
    '1 day -02:00', 'PT1.5S', '-1 year -2 mons +3 days', '1:2', '1.5', '100:00:00', 'P1Y2M3DT4H5M6S', 'P1W', '2 hours 30 minutes',
    '1 millisecond', '3 microseconds', '1 decade', '2 centuries', '1 millennium', '10 mins', '1h', '3 days 4 hours ago', '1:02.5',
    '-1.5 days', 'PT0.000001S', '1 week 2 days', '90 seconds',
  ]],
  ['int4[]', ['{1,2,NULL}', '{}', ' { 1 , 2 } ', '{{1,2},{3,4}}']],
  ['text[]', ['{"a b","c\\"d",NULL,"NULL",""}', '{a,b}', '{ x y , z }', '{"\\\\"}', '{{a,b},{c,d}}']],
  // DuckDB lists have one DECIMAL scale, PostgreSQL numerics one each: same-scale elements only.
  ['numeric[]', ['{1.50,2.25,NULL}', '{1.000,10.125,-3.000}', '{}']],
  ['float8[]', ['{0.1,NaN,-Infinity}']],
  ['date[]', ['{2024-01-02,"0044-03-15 BC",infinity}']],
  ['timestamptz[]', ['{"2024-01-02 03:04:05+02"}']],
  ['bool[]', ['{t,f,NULL}']],
  ['uuid[]', ['{12345678-1234-5678-1234-567812345678}']],
  ['interval[]', ['{"1 day","-00:30:00"}']],
  ['bytea[]', ['{"\\\\x01ff"}']],
  ['varbit', ['101', '', '0000000011']],
];

const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata'];

for (const [typeName, inputs] of TEXT_INPUTS) {
  test(`text input of ${typeName}`, async () => {
    const oid = pgTypeByName(typeName)!.oid;
    const zones = /timestamptz/.test(typeName) ? ZONES : ['UTC'];
    for (const zone of zones) {
      for (const input of inputs) {
        const data = Buffer.from(input, 'utf8');
        const expected = await pgParam(typeName, 0, data, zone);
        assert.equal(await roundTrip(oid, FormatCode.Text, data, zone), expected, `${typeName} '${input}' under ${zone}`);
      }
    }
  });
}

// The binary form of each of these, as PostgreSQL sends it, must decode to the same value.
const BINARY_VALUES: [string, string[]][] = [
  ['bool', ['true', 'false']],
  ['int2', ['(-32768)', '32767']],
  ['int4', ['(-2147483648)', '12']],
  ['int8', ['9223372036854775807', '(-1)']],
  ['float4', ['0.1', "'NaN'", "'-Infinity'", '1e-45']],
  ['float8', ['0.1', '-0.0', '1e300', "'Infinity'"]],
  ['numeric', ['0', '1.5', '(-0.001)', '10000.0001', '123456789012345678901234567890.12345678', '1.50', '1e20', "'NaN'", '(-99999999)', '0.00001000']],
  ['text', ["'héllo'", "''"]],
  ['varchar', ["'abc'"]],
  ['bpchar', ["'abc'"]],
  ['name', ["'pg_class'"]],
  ['json', [`'{"a": 1}'`]],
  ['jsonb', [`'{"a": [1, 2]}'`]],
  ['bytea', ["'\\x0102ff'", "''"]],
  ['uuid', ["'12345678-1234-5678-1234-567812345678'"]],
  ['date', ["'2024-01-02'", "'0044-03-15 BC'", "'infinity'", "'-infinity'"]],
  ['time', ["'04:05:06.5'", "'24:00:00'"]],
  ['timetz', ["'04:05:06+05:30'", "'04:05:06-08'"]],
  ['timestamp', ["'2024-01-02 03:04:05.123456'", "'0044-03-15 12:00:00 BC'", "'infinity'", "'-infinity'"]],
  ['timestamptz', ["'2024-01-02 03:04:05.123456+00'", "'-infinity'"]],
  ['interval', ["'1 year 2 mons -3 days 04:05:06.789'", "'-00:30:00'"]],
  ['int4[]', ["'{1,2,NULL}'", "'{}'", "'{{1,2},{3,4}}'"]],
  ['text[]', [`'{"a b",NULL,""}'`]],
  ['numeric[]', ["'{1.50,2.25,NULL,-3.00}'"]],
  ['timestamptz[]', ["'{\"2024-01-02 03:04:05+02\"}'"]],
  ['varbit', ["'10110'", "''"]],
];

for (const [typeName, expressions] of BINARY_VALUES) {
  test(`binary input of ${typeName}`, async () => {
    const oid = pgTypeByName(typeName)!.oid;
    for (const expression of expressions) {
      const sql = `${expression}::${typeName}`;
      const binary = (await engines.pgSelect(sql, 1)).rows[0][0]!;
      const text = (await engines.pgSelect(sql, 0)).rows[0][0]!.toString('utf8');
      assert.equal(await roundTrip(oid, FormatCode.Binary, binary, 'UTC'), text, sql);
    }
  });
}

// [type, format, input]: PostgreSQL must reject it, and so must decodeParameter, alike.
const BAD_INPUTS: [string, 0 | 1, Buffer][] = [
  ...([
    ['int4', 'abc'], ['int4', '1.5'], ['int4', ''], ['int2', '99999'], ['int4', '2147483648'], ['int8', '9223372036854775808'],
    ['bool', 'maybe'], ['bool', 'o'], ['float8', 'abc'], ['float8', '1e400'], ['float8', '1e-400'], ['float4', '1e39'],
    ['float4', '1e-50'], ['numeric', 'abc'], ['numeric', '1.2.3'], ['uuid', 'xyz'], ['uuid', '12345678-1234-5678-1234-56781234567'],
    ['date', 'x'], ['date', '2024-13-01'], ['date', '2023-02-29'], ['date', '0000-01-01'], ['time', 'x'], ['time', '25:00'],
    ['time', '12:60:00'], ['timestamp', 'x'], ['timestamptz', 'x'], ['timestamptz', '2024-01-02 03:04:05+25'],
    ['interval', 'x'], ['interval', '1 day 2 day'], ['interval', '1 fortnight'], ['interval', 'ago'],
    ['int4[]', '{1,2'], ['int4[]', '{x}'], ['int4[]', '1,2'], ['text[]', '{a,{b}}'], ['json', '{x'], ['varbit', '2'], ['oid', 'x'],
    ['bytea', '\\x0g'], ['bytea', '\\9'],
  ] as [string, string][]).map(([t, s]): [string, 0, Buffer] => [t, 0, Buffer.from(s)]),
  ['int4', 1, Buffer.from([0, 0, 1])],
  ['int8', 1, Buffer.from([0, 0, 0, 0, 1])],
  ['bool', 1, Buffer.from([])],
  ['float8', 1, Buffer.from([0, 0, 0, 0])],
  ['uuid', 1, Buffer.alloc(15)],
  ['date', 1, Buffer.alloc(8)],
  ['timestamptz', 1, Buffer.alloc(4)],
  ['interval', 1, Buffer.alloc(12)],
];

test('bad parameters fail with PostgreSQL SQLSTATE and message', async () => {
  const mismatches: string[] = [];
  for (const [typeName, format, data] of BAD_INPUTS) {
    const label = `${typeName} ${format === 0 ? `'${data.toString()}'` : `binary ${data.toString('hex')}`}`;
    const pgError = await pgParam(typeName, format, data, 'UTC').then(
      () => assert.fail(`PostgreSQL accepted ${label}`),
      (error: unknown) => error as PgServerError,
    );
    assert.ok(pgError instanceof PgServerError, label);
    const oid = pgTypeByName(typeName)!.oid;
    try {
      decodeParameter(oid, format === 0 ? FormatCode.Text : FormatCode.Binary, data, { parameterNumber: 1 });
      mismatches.push(`${label}: accepted, PostgreSQL says ${pgError.code} ${pgError.message}`);
    } catch (error) {
      const ours = error instanceof InvalidParameterError ? `${error.code} ${error.message}` : String(error);
      if (ours !== `${pgError.code} ${pgError.message}`) mismatches.push(`${label}: ${ours} / PostgreSQL: ${pgError.code} ${pgError.message}`);
    }
  }
  assert.deepEqual(mismatches, []);
});

test('unspecified and unknown types decode text as VARCHAR', () => {
  for (const oid of [0, 705]) {
    const { value, type } = decodeParameter(oid, FormatCode.Text, Buffer.from('42'));
    assert.equal(value, '42');
    assert.equal(type.toString(), 'VARCHAR');
  }
});
