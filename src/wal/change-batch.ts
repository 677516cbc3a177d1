import {
  Bool, Field, Float32, Float64, Int16, Int32, Int64, Int8, RecordBatch, Schema, Struct, Table, TimestampMicrosecond, Uint64, Utf8,
  makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray, type DataType, type Vector,
} from 'apache-arrow';

/** How a column's values travel in the WAL: Arrow-native, or as DuckDB's text for the value. */
export type WalColumnKind = 'bool' | 'int8' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'text' | 'timestamp';

export type WalColumn = { name: string; kind: WalColumnKind };

/** The changes of one table in one frame, column-major. */
export type ChangeBatch = {
  table: string;
  columns: WalColumn[];
  /** One array per column: numbers, bigints, booleans, strings, timestamp micros as bigint; null for NULL. */
  values: unknown[][];
  lsns: bigint[];
  changeTypes: string[];
  /** Microseconds since the epoch. */
  timestamps: bigint[];
};

export const CHANGE_TYPES = ['INSERT', 'UPDATE_BEFORE', 'UPDATE_AFTER', 'DELETE'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

function arrowType(kind: WalColumnKind): DataType {
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

const KINDS = new Set<string>(['bool', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'text', 'timestamp']);

/**
 * One Arrow IPC stream (schema + one record batch): the user columns, then
 * `__lsn` (uint64), `__change_type`, `__timestamp`. The schema's metadata
 * names the table, so a batch read back needs nothing else.
 */
export function encodeChangeBatch(batch: ChangeBatch): Uint8Array {
  const length = batch.lsns.length;
  const fields: Field[] = [];
  const vectors = [];
  batch.columns.forEach((column, i) => {
    const type = arrowType(column.kind);
    fields.push(new Field(column.name, type, true, new Map([['arka.kind', column.kind]])));
    vectors.push(column.kind === 'timestamp' ? timestampVector(batch.values[i] as (bigint | null)[]) : vectorFromArray(batch.values[i]!, type));
  });
  fields.push(new Field('__lsn', new Uint64(), false), new Field('__change_type', new Utf8(), false), new Field('__timestamp', new TimestampMicrosecond('UTC'), false));
  vectors.push(
    vectorFromArray(BigUint64Array.from(batch.lsns)),
    vectorFromArray(batch.changeTypes, new Utf8()),
    timestampVector(batch.timestamps),
  );
  const schema = new Schema(fields, new Map([['arka.table', batch.table]]));
  const data = makeData({ type: new Struct(fields), length, nullCount: 0, children: vectors.map((v) => v.data[0]!) });
  return tableToIPC(new Table(schema, [new RecordBatch(schema, data)]), 'stream');
}

export function decodeChangeBatch(bytes: Uint8Array): ChangeBatch {
  const table = tableFromIPC(bytes);
  const metadata = table.schema.metadata;
  const tableName = metadata.get('arka.table');
  if (tableName === undefined) throw new Error('WAL batch without its table');
  const userFields = table.schema.fields.filter((f) => !f.name.startsWith('__'));
  const columns: WalColumn[] = userFields.map((f) => {
    const kind = f.metadata.get('arka.kind');
    if (!kind || !KINDS.has(kind)) throw new Error(`WAL column ${f.name} has no known kind`);
    return { name: f.name, kind: kind as WalColumnKind };
  });
  const values = columns.map((column) =>
    column.kind === 'timestamp' ? timestampValues(table.getChild(column.name)!) : [...table.getChild(column.name)!],
  );
  const lsns = [...table.getChild('__lsn')!].map((v) => BigInt(v as bigint));
  const changeTypes = [...table.getChild('__change_type')!] as string[];
  const timestamps = timestampValues(table.getChild('__timestamp')!) as bigint[];
  return { table: tableName, columns, values, lsns, changeTypes, timestamps };
}

/** Timestamps are built from their int64 microseconds: going through JS numbers (milliseconds) would round them. */
function timestampVector(micros: readonly (bigint | null)[]): Vector {
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

function timestampValues(vector: Vector): (bigint | null)[] {
  const out: (bigint | null)[] = [];
  for (const data of vector.data) {
    const raw = data.values as unknown as BigInt64Array;
    for (let i = 0; i < data.length; i++) out.push(data.getValid(i) ? raw[i]! : null);
  }
  return out;
}
