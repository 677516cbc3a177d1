// WAL change batches: every column kind survives encoding and decoding
// exactly, and the encoding stays the Arrow IPC stream that apache-arrow's
// own builders produced (the reference encoder below is the implementation
// they replaced), both ways: WAL files written by it decode, and standard
// Arrow readers read what is written now.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Bool, Field, Float32, Float64, Int16, Int32, Int64, Int8, RecordBatch, RecordBatchStreamWriter, Schema, Struct, Table, TimestampMicrosecond,
  Uint64, Utf8, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray, DataType, type Vector,
} from 'apache-arrow';
import { decodeChangeBatch, encodeChangeBatch, type ChangeBatch, type WalColumn, type WalColumnKind } from '../src/wal/change-batch.js';

// ---- The reference: the encoder built on apache-arrow's builders, as it was.

function referenceType(kind: WalColumnKind): DataType {
  switch (kind) {
    case 'bool':
      return new Bool();
    case 'int8':
      return new Int8();
    case 'int16':
      return new Int16();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float32':
      return new Float32();
    case 'float64':
      return new Float64();
    case 'timestamp':
      return new TimestampMicrosecond('UTC');
    case 'text':
      return new Utf8();
  }
}

function referenceEncode(batch: ChangeBatch): Uint8Array {
  const length = batch.lsns.length;
  const fields: Field[] = [];
  const vectors = [];
  batch.columns.forEach((column, i) => {
    const type = referenceType(column.kind);
    fields.push(new Field(column.name, type, true, new Map([['arka.kind', column.kind]])));
    vectors.push(column.kind === 'timestamp' ? referenceTimestamps(batch.values[i] as (bigint | null)[]) : vectorFromArray(batch.values[i]!, type));
  });
  fields.push(new Field('__lsn', new Uint64(), false), new Field('__change_type', new Utf8(), false), new Field('__timestamp', new TimestampMicrosecond('UTC'), false));
  vectors.push(vectorFromArray(BigUint64Array.from(batch.lsns)), vectorFromArray(batch.changeTypes, new Utf8()), referenceTimestamps(batch.timestamps));
  const schema = new Schema(fields, new Map([['arka.table', batch.table]]));
  const data = makeData({ type: new Struct(fields), length, nullCount: 0, children: vectors.map((v) => v.data[0]!) });
  return tableToIPC(new Table(schema, [new RecordBatch(schema, data)]), 'stream');
}

function referenceTimestamps(micros: readonly (bigint | null)[]): Vector {
  const values = new BigInt64Array(micros.length);
  const validity = new Uint8Array((micros.length + 7) >> 3);
  let nullCount = 0;
  micros.forEach((value, i) => {
    if (value === null) nullCount++;
    else {
      values[i] = value;
      validity[i >> 3]! |= 1 << (i & 7);
    }
  });
  const type = new TimestampMicrosecond('UTC');
  return makeVector(makeData({ type, length: micros.length, nullCount, data: values as never, nullBitmap: nullCount ? validity : undefined }));
}

// ---- Batches.

const T0 = 1_700_000_000_123_456n;

/** A batch of `rows` inserts with these columns; the change columns vary too, so they are checked as much as the user's. */
function batchOf(columns: WalColumn[], values: unknown[][], table = 'things'): ChangeBatch {
  const rows = values[0]?.length ?? 0;
  return {
    table,
    columns,
    values,
    lsns: Array.from({ length: rows }, (_, i) => 1000n + BigInt(i)),
    changeTypes: Array.from({ length: rows }, (_, i) => ['INSERT', 'UPDATE_BEFORE', 'UPDATE_AFTER', 'DELETE'][i % 4]!),
    timestamps: Array.from({ length: rows }, (_, i) => T0 + BigInt(i)),
  };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** 9999-12-31 23:59:59.999999 and 0001-01-01: far from any double's exact integers. */
const FAR_FUTURE = 253_402_300_799_999_999n;
const YEAR_ONE = -62_135_596_800_000_000n;
const LONG = 'long text, long enough to be encoded by Node rather than in JS: ' + 'x'.repeat(1000);

/** Every kind with its awkward values; the expected values are what decoding must give back, exactly. */
const EVERY_KIND: { column: WalColumn; values: unknown[]; expected?: unknown[] }[] = [
  { column: { name: 'b', kind: 'bool' }, values: [true, false, null, true, false, null, true, true, false, true, null, false, true] },
  { column: { name: 'i1', kind: 'int8' }, values: [-128, 127, 0, null, -1, 1, 42, -42, null, 100, -100, 7, 0] },
  { column: { name: 'i2', kind: 'int16' }, values: [-32768, 32767, 0, null, -1, 1, 300, -300, null, 1000, -1000, 7, 0] },
  { column: { name: 'i4', kind: 'int32' }, values: [-(2 ** 31), 2 ** 31 - 1, 0, null, -1, 1, 70000, -70000, null, 123456789, -123456789, 7, 0] },
  { column: { name: 'i8', kind: 'int64' }, values: [INT64_MIN, INT64_MAX, 0n, null, -1n, 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, null, 123n, -123n, 7n, 0n] },
  {
    column: { name: 'f4', kind: 'float32' },
    values: [0.1, -0, NaN, Infinity, -Infinity, null, 3.4028234663852886e38, -1.5, 1e-45, null, 0, 16777217, 2.5],
    expected: [Math.fround(0.1), -0, NaN, Infinity, -Infinity, null, 3.4028234663852886e38, -1.5, Math.fround(1e-45), null, 0, 16777216, 2.5],
  },
  { column: { name: 'f8', kind: 'float64' }, values: [0.1, -0, NaN, Infinity, -Infinity, null, Number.MAX_VALUE, Number.MIN_VALUE, -1.5, null, 0, 2 ** 53 + 2, 1 / 3] },
  {
    column: { name: 't', kind: 'text' },
    values: ['plain', '', null, 'é', '日本語', '😀', 'a😀b𝄞c', LONG, LONG + ' é 😀', '', null, 'nul \0 byte', 'quote \' backslash \\ tab \t newline \n'],
  },
  { column: { name: 'ts', kind: 'timestamp' }, values: [0n, -1n, YEAR_ONE, FAR_FUTURE, null, INT64_MIN, INT64_MAX, T0, null, 1n, -T0, 86_400_000_000n, 0n] },
];

const everyKind = (): ChangeBatch => batchOf(EVERY_KIND.map((k) => k.column), EVERY_KIND.map((k) => k.values));
const expectedEveryKind = (): ChangeBatch => ({ ...everyKind(), values: EVERY_KIND.map((k) => k.expected ?? k.values) });

/** A large batch of the columns a COPY typically has, NULLs and non-ASCII text scattered through it. */
function largeBatch(rows: number): ChangeBatch {
  const columns: WalColumn[] = [
    { name: 'id', kind: 'int64' },
    { name: 'name', kind: 'text' },
    { name: 'amount', kind: 'text' },
    { name: 'at', kind: 'timestamp' },
    { name: 'n', kind: 'int32' },
    { name: 'ok', kind: 'bool' },
    { name: 'score', kind: 'float64' },
  ];
  const ids: bigint[] = [], names: (string | null)[] = [], amounts: (string | null)[] = [], ats: (bigint | null)[] = [];
  const ns: (number | null)[] = [], oks: (boolean | null)[] = [], scores: (number | null)[] = [];
  for (let i = 0; i < rows; i++) {
    ids.push(BigInt(i) * 7_919n - 3n);
    names.push(i % 17 === 0 ? null : i % 11 === 0 ? `naïve ${i} 😀` : i % 13 === 0 ? '' : `name-${i}`);
    amounts.push(i % 23 === 0 ? null : `${i}.${String(i % 1000).padStart(3, '0')}`);
    ats.push(i % 29 === 0 ? null : T0 + BigInt(i) * 1_000_003n);
    ns.push(i % 31 === 0 ? null : (i * 2_654_435_761) | 0);
    oks.push(i % 37 === 0 ? null : i % 3 === 0);
    scores.push(i % 41 === 0 ? null : i / 7);
  }
  return batchOf(columns, [ids, names, amounts, ats, ns, oks, scores], 'events');
}

// ---- What standard Arrow readers see.

/** Everything apache-arrow's reader makes of a stream: schema, and each column's values (timestamps as their int64 micros). */
function asArrowReads(bytes: Uint8Array) {
  const table = tableFromIPC(bytes);
  return {
    batches: table.batches.length,
    metadata: table.schema.metadata,
    fields: table.schema.fields.map((f) => ({ name: f.name, type: String(f.type), typeId: f.typeId, nullable: f.nullable, metadata: f.metadata })),
    columns: table.schema.fields.map((f) => {
      const vector = table.getChild(f.name)!;
      return Array.from({ length: table.numRows }, (_, i) => (!vector.isValid(i) ? null : DataType.isTimestamp(f.type) ? rawTimestamp(vector, i) : vector.get(i)));
    }),
  };
}

function rawTimestamp(vector: Vector, index: number): bigint {
  assert.equal(vector.data.length, 1);
  return (vector.data[0]!.values as BigInt64Array)[index]!;
}

// ---- Tests.

describe('change batch round trip', () => {
  test('every kind, with NULLs, extremes, -0, NaN, infinities, empty and 4-byte UTF-8 text, timestamps beyond doubles', () => {
    assert.deepEqual(decodeChangeBatch(encodeChangeBatch(everyKind())), expectedEveryKind());
  });

  test('each kind alone, all NULL and with one row', () => {
    for (const { column } of EVERY_KIND) {
      const allNull = batchOf([column], [[null, null, null]]);
      assert.deepEqual(decodeChangeBatch(encodeChangeBatch(allNull)), allNull, column.kind);
      const one = batchOf([column], [[EVERY_KIND.find((k) => k.column === column)!.values[1]]]);
      assert.deepEqual(decodeChangeBatch(encodeChangeBatch(one)), one, column.kind);
    }
  });

  test('a batch of no rows', () => {
    const empty = batchOf(EVERY_KIND.map((k) => k.column), EVERY_KIND.map(() => []));
    assert.deepEqual(decodeChangeBatch(encodeChangeBatch(empty)), empty);
  });

  test('a batch of no user columns', () => {
    const deletes: ChangeBatch = { table: 't', columns: [], values: [], lsns: [7n, 2n ** 64n - 1n], changeTypes: ['DELETE', 'DELETE'], timestamps: [YEAR_ONE, FAR_FUTURE] };
    assert.deepEqual(decodeChangeBatch(encodeChangeBatch(deletes)), deletes);
  });

  test('a batch of 70,000 rows', () => {
    const batch = largeBatch(70_000);
    assert.deepEqual(decodeChangeBatch(encodeChangeBatch(batch)), batch);
  });

  test('int64 and timestamp values given as numbers are exact bigints; a fraction is refused', () => {
    const batch = batchOf([{ name: 'n', kind: 'int64' }, { name: 'ts', kind: 'timestamp' }], [[1, -2, 2 ** 53, null], [0, -1, 2 ** 60, 5n]]);
    assert.deepEqual(decodeChangeBatch(encodeChangeBatch(batch)).values, [[1n, -2n, 2n ** 53n, null], [0n, -1n, 2n ** 60n, 5n]]);
    assert.throws(() => encodeChangeBatch(batchOf([{ name: 'n', kind: 'int64' }], [[1.5]])), RangeError);
  });

  test('undefined is NULL, as the apply takes it', () => {
    const kinds = EVERY_KIND.map((k) => k.column);
    const batch = batchOf(kinds, kinds.map(() => [undefined, null]));
    assert.deepEqual(decodeChangeBatch(encodeChangeBatch(batch)).values, kinds.map(() => [null, null]));
  });

  test('a lone surrogate is written as U+FFFD, as TextEncoder writes it', () => {
    const batch = batchOf([{ name: 't', kind: 'text' }], [['a\uD800b', '\uDC00', LONG + '\uD83D']]);
    assert.deepEqual(decodeChangeBatch(encodeChangeBatch(batch)).values, [['a\uFFFDb', '\uFFFD', LONG + '\uFFFD']]);
    assert.deepEqual(encodeChangeBatch(batch), referenceEncode(batch));
  });
});

describe('change batch compatibility with apache-arrow', () => {
  const cases: [string, () => ChangeBatch][] = [
    ['every kind', everyKind],
    ['no rows', () => batchOf(EVERY_KIND.map((k) => k.column), EVERY_KIND.map(() => []))],
    ['70,000 rows', () => largeBatch(70_000)],
  ];

  for (const [name, make] of cases) {
    test(`${name}: what apache-arrow's builders wrote decodes to the same batch`, () => {
      const batch = make();
      const expected = name === 'every kind' ? expectedEveryKind() : batch;
      assert.deepEqual(decodeChangeBatch(referenceEncode(batch)), expected);
    });

    test(`${name}: apache-arrow reads what is written now as it read what its builders wrote`, () => {
      const batch = make();
      const now = asArrowReads(encodeChangeBatch(batch));
      assert.deepEqual(now, asArrowReads(referenceEncode(batch)));
      assert.equal(now.metadata.get('arka.table'), batch.table);
      assert.deepEqual(
        now.fields.map((f) => [f.name, f.nullable, f.metadata.get('arka.kind')]),
        [...batch.columns.map((c) => [c.name, true, c.kind]), ['__lsn', false, undefined], ['__change_type', false, undefined], ['__timestamp', false, undefined]],
      );
      assert.deepEqual(now.columns.at(-3), batch.lsns);
      assert.deepEqual(now.columns.at(-2), batch.changeTypes);
      assert.deepEqual(now.columns.at(-1), batch.timestamps);
    });
  }

  test('the bytes are those apache-arrow\'s stream writer writes for the same columns', () => {
    const kinds = EVERY_KIND.map((k) => k.column);
    const batches: [string, ChangeBatch][] = [
      ['every kind', everyKind()],
      ['no rows', batchOf(kinds, kinds.map(() => []))],
      ['all NULL', batchOf(kinds, kinds.map(() => [null, null, null, null, null, null, null, null, null]))],
      ['70,000 rows', largeBatch(70_000)],
      ['no user columns', { table: 't', columns: [], values: [], lsns: [7n], changeTypes: ['DELETE'], timestamps: [YEAR_ONE] }],
    ];
    for (const [name, batch] of batches) {
      const written = encodeChangeBatch(batch);
      assert.deepEqual(written, tableToIPC(tableFromIPC(written), 'stream'), name);
      // A second batch of the same table reuses its schema message.
      assert.deepEqual(encodeChangeBatch(batch), written, `${name}, again`);
    }
  });

  test('the values apache-arrow reads are the batch values', () => {
    const read = asArrowReads(encodeChangeBatch(everyKind()));
    const expected = expectedEveryKind();
    assert.deepEqual(read.fields.map((f) => f.type), [
      'Bool', 'Int8', 'Int16', 'Int32', 'Int64', 'Float32', 'Float64', 'Utf8', 'Timestamp<MICROSECOND, UTC>', 'Uint64', 'Utf8', 'Timestamp<MICROSECOND, UTC>',
    ]);
    assert.deepEqual(read.columns.slice(0, -3), expected.values);
  });

  test('a stream of several record batches decodes to all their rows', () => {
    const rotated = (values: unknown[], by: number) => [...values.slice(by), ...values.slice(0, by)];
    const first = everyKind();
    const second = batchOf(first.columns, EVERY_KIND.map((k, c) => rotated(k.values, c)));
    second.lsns = second.lsns.map((lsn) => lsn + 100n);
    const batches = [first, second].map((b) => tableFromIPC(referenceEncode(b)).batches[0]!);
    const decoded = decodeChangeBatch(RecordBatchStreamWriter.writeAll(batches).toUint8Array(true));
    assert.deepEqual(decoded, {
      ...first,
      values: EVERY_KIND.map((k, c) => [...(k.expected ?? k.values), ...rotated(k.expected ?? k.values, c)]),
      lsns: [...first.lsns, ...second.lsns],
      changeTypes: [...first.changeTypes, ...second.changeTypes],
      timestamps: [...first.timestamps, ...second.timestamps],
    });
  });

  test('a column whose Arrow type is not its kind is refused, not misread', () => {
    const batch = batchOf([{ name: 'n', kind: 'int32' }], [[1, 2]]);
    const table = tableFromIPC(encodeChangeBatch(batch));
    const fields = table.schema.fields.map((f) => (f.name === 'n' ? new Field('n', f.type, true, new Map([['arka.kind', 'int64']])) : f));
    const schema = new Schema(fields, table.schema.metadata);
    const relabelled = tableToIPC(new Table(schema, [new RecordBatch(schema, table.batches[0]!.data)]), 'stream');
    assert.throws(() => decodeChangeBatch(relabelled), /WAL column n is missing or not of type Int64/);
  });

  test('a stream without its table is refused', () => {
    const table = tableFromIPC(encodeChangeBatch(everyKind()));
    const schema = new Schema(table.schema.fields, new Map());
    const anonymous = tableToIPC(new Table(schema, [new RecordBatch(schema, table.batches[0]!.data)]), 'stream');
    assert.throws(() => decodeChangeBatch(anonymous), /WAL batch without its table/);
  });
});
