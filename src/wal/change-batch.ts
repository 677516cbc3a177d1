import { strict as assert } from 'node:assert';
import {
  Bool, Field, Float32, Float64, Int16, Int32, Int64, Int8, Schema, Table, TimestampMicrosecond, Uint64, Utf8,
  makeData, tableFromIPC, tableToIPC, util, type Data, type DataType,
} from 'apache-arrow';
import { BufferRegion, FieldNode, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';

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

export function arrowType(kind: WalColumnKind): DataType {
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

/** The change columns that follow the user columns, in this order. */
const CHANGE_FIELDS = [new Field('__lsn', new Uint64(), false), new Field('__change_type', new Utf8(), false), new Field('__timestamp', new TimestampMicrosecond('UTC'), false)];

/**
 * One Arrow IPC stream (schema + one record batch): the user columns, then
 * `__lsn` (uint64), `__change_type`, `__timestamp`. The schema's metadata
 * names the table, so a batch read back needs nothing else.
 *
 * The columns' buffers are filled here directly rather than by apache-arrow's
 * builders, which cost most of a large COPY's JS time (value-by-value UTF-8
 * encoding, buffer resizing, garbage); and the stream is laid out here, with
 * the schema message encoded once per table layout, rather than by
 * apache-arrow's stream writer, which cost most of a small commit group's
 * time. test/change-batch.test.ts checks the bytes are the writer's.
 */
export function encodeChangeBatch(batch: ChangeBatch): Uint8Array {
  const length = batch.lsns.length;
  return encodeColumns(batch.table, batch.columns, [
    ...batch.columns.map((column, i) => columnData(column.kind, batch.values[i]!, length)),
    bigIntData(new Uint64(), BigUint64Array, batch.lsns, length),
    utf8Data(batch.changeTypes, length),
    bigIntData(new TimestampMicrosecond('UTC'), BigInt64Array, batch.timestamps, length),
  ]);
}

/**
 * encodeChangeBatch for columns already in Arrow's form: the user columns,
 * then `__lsn` (Uint64), `__change_type` (Utf8), `__timestamp` (microseconds).
 */
export function encodeColumns(table: string, columns: WalColumn[], children: Data[]): Uint8Array {
  assert.equal(children.length, columns.length + CHANGE_FIELDS.length);
  const length = children[0]!.length;
  assert(children.every((data) => data.length === length), 'columns of different lengths');
  const { schemaMessage } = layoutOf({ table, columns });
  const body = new BodyAssembler();
  for (const data of children) body.add(data);
  const metadata = recordBatchMetadata(length, body);
  const metadataBytes = padded(IPC_PREFIX_BYTES + metadata.length);
  const out = new Uint8Array(schemaMessage.length + metadataBytes + body.byteLength + IPC_PREFIX_BYTES);
  const view = new DataView(out.buffer);
  out.set(schemaMessage, 0);
  let at = schemaMessage.length;
  view.setInt32(at, -1, true);
  view.setInt32(at + 4, metadataBytes - IPC_PREFIX_BYTES, true);
  out.set(metadata, at + IPC_PREFIX_BYTES);
  at += metadataBytes;
  body.buffers.forEach((buffer, i) => out.set(buffer, at + body.regions[2 * i]!));
  at += body.byteLength;
  // End of stream: the continuation marker and a zero length.
  view.setInt32(at, -1, true);
  assert.equal(at + IPC_PREFIX_BYTES, out.length);
  return out;
}

/** An IPC message starts with the continuation marker (0xFFFFFFFF) and its metadata's length, both int32. */
const IPC_PREFIX_BYTES = 8;
const padded = (bytes: number) => (bytes + 7) & ~7;

type Layout = { schemaMessage: Uint8Array };
/** By table name and columns; bounded, as the tables of a database are. */
const layouts = new Map<string, Layout>();
const MAX_LAYOUTS = 1024;
/** The same, by the identity of a batch's column list (the writer keeps one per table definition), then table name: no key to build. */
const layoutsByColumns = new WeakMap<WalColumn[], Map<string, Layout>>();

/** The schema message (framed, without the end of stream) of the batch's table and columns, encoded once. */
function layoutOf(batch: Pick<ChangeBatch, 'table' | 'columns'>): Layout {
  let byTable = layoutsByColumns.get(batch.columns);
  const known = byTable?.get(batch.table);
  if (known) return known;
  const key = JSON.stringify([batch.table, batch.columns]);
  let layout = layouts.get(key);
  if (!layout) {
    const fields = [
      ...batch.columns.map((column) => new Field(column.name, arrowType(column.kind), true, new Map([['arka.kind', column.kind]]))),
      ...CHANGE_FIELDS,
    ];
    const stream = tableToIPC(new Table(new Schema(fields, new Map([['arka.table', batch.table]]))), 'stream');
    layout = { schemaMessage: stream.slice(0, stream.length - IPC_PREFIX_BYTES) };
    if (layouts.size >= MAX_LAYOUTS) layouts.clear();
    layouts.set(key, layout);
  }
  if (!byTable) {
    byTable = new Map();
    layoutsByColumns.set(batch.columns, byTable);
  }
  byTable.set(batch.table, layout);
  return layout;
}

/**
 * A record batch message's metadata (flatbuffers), as apache-arrow encodes it.
 * Flatbuffers lays out every message with the same number of field nodes and
 * buffers the same way, whatever the values, as long as none of the table
 * fields is zero (the batch's length and the body's, here; field nodes and
 * buffers are structs, always written whole). So each shape is encoded once,
 * by apache-arrow, with marker values, and then copied with the values put
 * where the markers were: a tenth of the cost of building it each time.
 */
function recordBatchMetadata(length: number, body: BodyAssembler): Uint8Array {
  // A batch of no rows leaves its length fields out, so its layout is not the template's: it is encoded as it is.
  if (length === 0) {
    const nodes = pairs(body.nodes).map(([count, nulls]) => new FieldNode(count, nulls));
    const regions = pairs(body.regions).map(([offset, bytes]) => new BufferRegion(offset, bytes));
    return Message.encode(Message.from(new RecordBatchHeader(0, nodes, regions, null), body.byteLength));
  }
  const template = metadataTemplate(body.nodes.length / 2, body.regions.length / 2);
  const out = template.bytes.slice();
  const view = new DataView(out.buffer);
  const put = (slot: number, value: number) => {
    const at = template.slots[slot]!;
    view.setUint32(at, value % 2 ** 32, true);
    view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
  };
  put(0, length);
  put(1, body.byteLength);
  body.nodes.forEach((value, i) => put(2 + i, value));
  body.regions.forEach((value, i) => put(2 + body.nodes.length + i, value));
  return out;
}

function pairs(values: number[]): [number, number][] {
  return Array.from({ length: values.length / 2 }, (_, i) => [values[2 * i]!, values[2 * i + 1]!]);
}

/** A shape's metadata with markers, and where each value goes: the batch's length, the body's, the nodes' (length, null count) and the buffers' (offset, length). */
type MetadataTemplate = { bytes: Uint8Array; slots: number[] };
/** By shape: as many as the widths of the tables written. */
const metadataTemplates = new Map<string, MetadataTemplate>();
/** Far above any length or offset a batch has, and each one's bytes unlike any flatbuffers offset or header. */
const MARKER_BASE = 0x5ac0ffee000;

function metadataTemplate(nodeCount: number, bufferCount: number): MetadataTemplate {
  const key = `${nodeCount}:${bufferCount}`;
  let template = metadataTemplates.get(key);
  if (!template) {
    const marker = (slot: number) => MARKER_BASE + slot;
    const nodes = Array.from({ length: nodeCount }, (_, i) => new FieldNode(marker(2 + 2 * i), marker(3 + 2 * i)));
    const regions = Array.from({ length: bufferCount }, (_, i) => new BufferRegion(marker(2 + 2 * nodeCount + 2 * i), marker(3 + 2 * nodeCount + 2 * i)));
    const bytes = Message.encode(Message.from(new RecordBatchHeader(marker(0), nodes, regions, null), marker(1)));
    const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const slots = Array.from({ length: 2 + 2 * nodeCount + 2 * bufferCount }, (_, slot) => {
      const needle = Buffer.alloc(8);
      needle.writeBigUInt64LE(BigInt(marker(slot)));
      const at = haystack.indexOf(needle);
      assert(at >= 0 && haystack.indexOf(needle, at + 1) < 0, 'a record batch metadata marker is not where exactly one value goes');
      return at;
    });
    template = { bytes, slots };
    metadataTemplates.set(key, template);
  }
  return template;
}

/** A record batch's body as Arrow's writer lays it out: per column a field node and its buffers, each 8-byte aligned. */
class BodyAssembler {
  /** (length, null count) per column. */
  readonly nodes: number[] = [];
  /** (offset, length) per buffer. */
  readonly regions: number[] = [];
  readonly buffers: Uint8Array[] = [];
  byteLength = 0;

  add(data: Data): void {
    const { length, nullCount } = data;
    this.nodes.push(length, nullCount);
    this.buffer(nullCount > 0 ? data.nullBitmap!.subarray(0, (length + 7) >> 3) : new Uint8Array(0));
    if (data.type instanceof Utf8) {
      const offsets = data.valueOffsets as Int32Array;
      this.buffer(bytesOf(offsets.subarray(0, length + 1)));
      this.buffer(bytesOf(data.values as Uint8Array).subarray(0, offsets[length]));
    } else if (data.type instanceof Bool) {
      this.buffer(bytesOf(data.values as Uint8Array).subarray(0, (length + 7) >> 3));
    } else {
      const values = data.values as NumberArray | BigInt64Array | BigUint64Array;
      this.buffer(bytesOf(values.subarray(0, length)));
    }
  }

  private buffer(bytes: Uint8Array): void {
    this.buffers.push(bytes);
    this.regions.push(this.byteLength, padded(bytes.length));
    this.byteLength += padded(bytes.length);
  }
}

function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function columnData(kind: WalColumnKind, values: readonly unknown[], length: number): Data {
  switch (kind) {
    case 'bool':
      return boolData(values, length);
    case 'int8':
      return numberData(new Int8(), Int8Array, values, length);
    case 'int16':
      return numberData(new Int16(), Int16Array, values, length);
    case 'int32':
      return numberData(new Int32(), Int32Array, values, length);
    case 'int64':
      return bigIntData(new Int64(), BigInt64Array, values, length);
    case 'float32':
      return numberData(new Float32(), Float32Array, values, length);
    case 'float64':
      return numberData(new Float64(), Float64Array, values, length);
    case 'timestamp':
      return bigIntData(new TimestampMicrosecond('UTC'), BigInt64Array, values, length);
    case 'text':
      return utf8Data(values, length);
  }
}

/** NULL is null, and undefined too (as the apply treats it): a value missing from `values` is not a zero. */
function isNull(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** A validity bitmap, allocated at the first NULL: a column without NULLs carries none. */
class Validity {
  bitmap: Uint8Array | undefined;
  nullCount = 0;

  constructor(private readonly length: number) {}

  setNull(index: number): void {
    this.bitmap ??= this.allValid();
    this.bitmap[index >> 3]! &= ~(1 << (index & 7));
    this.nullCount++;
  }

  /** Every bit up to `length` set; the padding bits past it stay clear, as Arrow's own writers leave them. */
  private allValid(): Uint8Array {
    const bitmap = new Uint8Array((this.length + 7) >> 3).fill(0xff);
    if (this.length & 7) bitmap[bitmap.length - 1] = (1 << (this.length & 7)) - 1;
    return bitmap;
  }
}

type NumberArray = Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
type NumberType = Int8 | Int16 | Int32 | Float32 | Float64;
type BigIntType = Int64 | Uint64 | TimestampMicrosecond;

/** Typed-array assignment converts (and truncates or wraps) exactly as apache-arrow's builders did. */
function numberData(type: NumberType, ArrayType: new (length: number) => NumberArray, values: readonly unknown[], length: number): Data {
  const data = new ArrayType(length);
  const validity = new Validity(length);
  for (let i = 0; i < length; i++) {
    const value = values[i];
    if (isNull(value)) validity.setNull(i);
    else data[i] = value as number;
  }
  return fixedWidthData(type, data, validity);
}

/** int64 values may come as numbers: they are converted exactly (a fraction throws rather than being rounded). */
function bigIntData(type: BigIntType, ArrayType: BigInt64ArrayConstructor | BigUint64ArrayConstructor, values: readonly unknown[], length: number): Data {
  const data = new ArrayType(length);
  const validity = new Validity(length);
  for (let i = 0; i < length; i++) {
    const value = values[i];
    if (isNull(value)) validity.setNull(i);
    else data[i] = typeof value === 'number' ? BigInt(value) : (value as bigint);
  }
  return fixedWidthData(type, data, validity);
}

/** The cast: makeData's overloads take one type each, and none takes a union of them. */
function fixedWidthData(type: NumberType | BigIntType, data: NumberArray | BigInt64Array | BigUint64Array, validity: Validity): Data {
  return makeData({ type, length: data.length, nullCount: validity.nullCount, nullBitmap: validity.bitmap, data } as Parameters<typeof makeData>[0]);
}

function boolData(values: readonly unknown[], length: number): Data {
  const data = new Uint8Array((length + 7) >> 3);
  const validity = new Validity(length);
  for (let i = 0; i < length; i++) {
    const value = values[i];
    if (isNull(value)) validity.setNull(i);
    else if (value) data[i >> 3]! |= 1 << (i & 7);
  }
  return makeData({ type: new Bool(), length, nullCount: validity.nullCount, nullBitmap: validity.bitmap, data });
}

/** Longer strings are encoded by Node (one native call each); shorter ones are cheaper to encode in JS than to call out for. */
const NATIVE_UTF8_FROM = 24;

/** A non-string value is written as its string, as the builders' TextEncoder did. */
function utf8Data(values: readonly unknown[], length: number): Data {
  const strings: (string | null)[] = new Array(length);
  const validity = new Validity(length);
  let units = 0;
  let longest = 0;
  for (let i = 0; i < length; i++) {
    const value = values[i];
    if (isNull(value)) {
      validity.setNull(i);
      strings[i] = null;
    } else {
      const text = typeof value === 'string' ? value : String(value);
      strings[i] = text;
      units += text.length;
      if (text.length > longest) longest = text.length;
    }
  }
  const valueOffsets = new Int32Array(length + 1);
  // Room for each string's worst case (3 bytes per UTF-16 unit) before it is written: ASCII text never outgrows this.
  let bytes: Buffer = Buffer.allocUnsafe(units + 2 * longest);
  let end = 0;
  for (let i = 0; i < length; i++) {
    const text = strings[i];
    if (text) {
      if (end + 3 * text.length > bytes.length) bytes = grown(bytes, end, end + 3 * text.length);
      end = text.length >= NATIVE_UTF8_FROM ? end + bytes.write(text, end) : writeUtf8(text, bytes, end);
    }
    valueOffsets[i + 1] = end;
  }
  return makeData({ type: new Utf8(), length, nullCount: validity.nullCount, nullBitmap: validity.bitmap, valueOffsets, data: bytes.subarray(0, end) });
}

function grown(bytes: Buffer, used: number, needed: number): Buffer {
  const larger = Buffer.allocUnsafe(Math.max(needed, 2 * bytes.length));
  bytes.copy(larger, 0, 0, used);
  return larger;
}

/** UTF-8 as TextEncoder and Buffer write it: a lone surrogate becomes U+FFFD. Returns the end of what was written. */
function writeUtf8(text: string, bytes: Uint8Array, at: number): number {
  for (let k = 0; k < text.length; k++) {
    let code = text.charCodeAt(k);
    if (code < 0x80) {
      bytes[at++] = code;
    } else if (code < 0x800) {
      bytes[at++] = 0xc0 | (code >> 6);
      bytes[at++] = 0x80 | (code & 0x3f);
    } else {
      if (code >= 0xd800 && code < 0xe000) {
        const next = k + 1 < text.length ? text.charCodeAt(k + 1) : 0;
        if (code < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          bytes[at++] = 0xf0 | (code >> 18);
          bytes[at++] = 0x80 | ((code >> 12) & 0x3f);
          bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
          bytes[at++] = 0x80 | (code & 0x3f);
          k++;
          continue;
        }
        code = 0xfffd;
      }
      bytes[at++] = 0xe0 | (code >> 12);
      bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
      bytes[at++] = 0x80 | (code & 0x3f);
    }
  }
  return at;
}

export function decodeChangeBatch(bytes: Uint8Array): ChangeBatch {
  const table = tableFromIPC(bytes);
  const tableName = table.schema.metadata.get('arka.table');
  if (tableName === undefined) throw new Error('WAL batch without its table');
  const userFields = table.schema.fields.filter((f) => !f.name.startsWith('__'));
  const columns: WalColumn[] = userFields.map((f) => {
    const kind = f.metadata.get('arka.kind');
    if (!kind || !KINDS.has(kind)) throw new Error(`WAL column ${f.name} has no known kind`);
    return { name: f.name, kind: kind as WalColumnKind };
  });
  const values = columns.map((column) => columnValues(table, column.name, arrowType(column.kind)));
  const lsns = columnValues(table, '__lsn', new Uint64()) as bigint[];
  const changeTypes = columnValues(table, '__change_type', new Utf8()) as string[];
  const timestamps = columnValues(table, '__timestamp', new TimestampMicrosecond('UTC')) as bigint[];
  return { table: tableName, columns, values, lsns, changeTypes, timestamps };
}

/**
 * A column's values read straight from its buffers: bigints for 64-bit
 * integers and timestamps (microseconds, which JS numbers could round),
 * numbers, booleans, strings; null for NULL. The buffers are read as `type`,
 * so the column must have exactly that type.
 */
function columnValues(table: Table, name: string, type: DataType): unknown[] {
  const field = table.schema.fields.find((f) => f.name === name);
  if (!field || !util.compareTypes(field.type, type)) throw new Error(`WAL column ${name} is missing or not of type ${type}`);
  const vector = table.getChild(name)!;
  // Preallocated and filled by index: the cheapest way V8 has to build a large array.
  const out: unknown[] = new Array(vector.length);
  let start = 0;
  for (const data of vector.data) {
    if (type instanceof Bool) readBools(data, out, start);
    else if (type instanceof Utf8) readStrings(data, out, start);
    else readFixedWidth(data, out, start);
    if (data.nullCount > 0) readNulls(data, out, start);
    start += data.length;
  }
  return out;
}

/** Fixed-width values are already sliced to the chunk; bitmaps (validity, bools) are indexed from its `offset`. */
function readFixedWidth(data: Data, out: unknown[], start: number): void {
  const values = data.values as ArrayLike<unknown>;
  for (let i = 0; i < data.length; i++) out[start + i] = values[i];
}

function readBools(data: Data, out: unknown[], start: number): void {
  const bits = data.values as Uint8Array;
  for (let i = 0; i < data.length; i++) {
    const bit = data.offset + i;
    out[start + i] = (bits[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }
}

/** A value with the same bytes as the one before it is that same string: a run (`__change_type`'s, mostly) is decoded once. */
function readStrings(data: Data, out: unknown[], start: number): void {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = Buffer.from(data.values.buffer, data.values.byteOffset, data.values.byteLength);
  let last = '';
  let lastStart = 0;
  let lastEnd = 0;
  for (let i = 0; i < data.length; i++) {
    const from = offsets[i]!;
    const to = offsets[i + 1]!;
    if (!sameBytes(bytes, from, to, lastStart, lastEnd)) {
      // No encoding named: Buffer goes straight to its UTF-8 decoding, which is what makes one call per value cheap.
      last = bytes.toString(undefined, from, to);
      lastStart = from;
      lastEnd = to;
    }
    out[start + i] = last;
  }
}

function sameBytes(bytes: Uint8Array, start: number, end: number, otherStart: number, otherEnd: number): boolean {
  if (end - start !== otherEnd - otherStart) return false;
  for (let i = 0; i < end - start; i++) if (bytes[start + i] !== bytes[otherStart + i]) return false;
  return true;
}

function readNulls(data: Data, out: unknown[], start: number): void {
  const validity = data.nullBitmap!;
  for (let i = 0; i < data.length; i++) {
    const bit = data.offset + i;
    if ((validity[bit >> 3]! & (1 << (bit & 7))) === 0) out[start + i] = null;
  }
}
