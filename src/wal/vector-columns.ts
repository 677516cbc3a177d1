import { strict as assert } from 'node:assert';
import duckdb from '@duckdb/node-bindings';
import { DuckDBTypeId, type DuckDBDataChunk } from '@duckdb/node-api';
import { Bool, Uint64, Utf8, makeData, type Data } from 'apache-arrow';
import { arrowType, type WalColumnKind } from './change-batch.js';

/**
 * DuckDB result vectors copied into Arrow column buffers as they are, with no
 * JavaScript value made per row: fixed-width values are copied byte for byte
 * (DuckDB and Arrow both store them little-endian, one after another), a
 * validity mask bit for bit (both put row i at bit i % 8 of byte i / 8), and
 * strings from DuckDB's string_t (length, then the bytes inline up to 12, else
 * a pointer) straight into Arrow's offsets and UTF-8 bytes. Reading a large
 * statement's change records for the WAL this way costs a fraction of
 * converting them to JavaScript values and encoding those again (and makes
 * almost no garbage).
 */

/** What a column of a WAL batch is read from, as DuckDB types it. */
export type VectorKind = WalColumnKind | 'uint64';

const DUCKDB_TYPES: Record<VectorKind, DuckDBTypeId> = {
  bool: DuckDBTypeId.BOOLEAN,
  int8: DuckDBTypeId.TINYINT,
  int16: DuckDBTypeId.SMALLINT,
  int32: DuckDBTypeId.INTEGER,
  int64: DuckDBTypeId.BIGINT,
  float32: DuckDBTypeId.FLOAT,
  float64: DuckDBTypeId.DOUBLE,
  // epoch_us(…): microseconds as BIGINT.
  timestamp: DuckDBTypeId.BIGINT,
  text: DuckDBTypeId.VARCHAR,
  uint64: DuckDBTypeId.UBIGINT,
};

type FixedWidthKind = Exclude<VectorKind, 'bool' | 'text'>;

/** The typed array of each fixed-width kind's values, laid out as DuckDB and Arrow both store them. */
const ARRAYS: Record<FixedWidthKind, Int8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor | BigInt64ArrayConstructor | BigUint64ArrayConstructor> = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  float32: Float32Array,
  float64: Float64Array,
  timestamp: BigInt64Array,
  uint64: BigUint64Array,
};

const widthOf = (kind: FixedWidthKind): number => ARRAYS[kind].BYTES_PER_ELEMENT;

/** The DuckDB type a column of this kind must have in the result read. */
export function duckdbTypeOf(kind: VectorKind): DuckDBTypeId {
  return DUCKDB_TYPES[kind];
}

/** DuckDB's string_t: 16 bytes, the length first. */
const STRING_T_BYTES = 16;
const INLINE_STRING_BYTES = 12;

/** One column's rows, gathered chunk by chunk into growable Arrow buffers. */
export class VectorColumn {
  private length = 0;
  private nullCount = 0;
  private validity: Uint8Array | undefined;
  private data: Uint8Array;
  /** Text: the end of each row's bytes (row i is offsets[i] … offsets[i + 1]). */
  private offsets: Int32Array | undefined;
  private bytes = 0;

  constructor(
    readonly kind: VectorKind,
    private capacity: number,
  ) {
    if (kind === 'text') {
      this.offsets = new Int32Array(capacity + 1);
      this.data = new Uint8Array(capacity * 8);
    } else {
      this.data = new Uint8Array(kind === 'bool' ? (capacity + 7) >> 3 : capacity * widthOf(kind));
    }
  }

  get rows(): number {
    return this.length;
  }

  /** Bytes of text gathered (a batch is cut early when its text grows large). */
  get textBytes(): number {
    return this.bytes;
  }

  /** Appends the chunk's column `index`. */
  append(chunk: DuckDBDataChunk, index: number): void {
    const rows = chunk.rowCount;
    if (this.length + rows > this.capacity) this.grow(this.length + rows);
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
    this.appendValidity(duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8), rows);
    switch (this.kind) {
      case 'text':
        this.appendStrings(duckdb.vector_get_data(vector, rows * STRING_T_BYTES), rows);
        break;
      case 'bool':
        this.appendBools(duckdb.vector_get_data(vector, rows), rows);
        break;
      default: {
        const width = widthOf(this.kind);
        this.data.set(duckdb.vector_get_data(vector, rows * width), this.length * width);
      }
    }
    this.length += rows;
  }

  /** The gathered rows as Arrow data (views of this column's buffers). */
  finish(): Data {
    const length = this.length;
    const nullBitmap = this.validity?.subarray(0, (length + 7) >> 3);
    const common = { length, nullCount: this.nullCount, nullBitmap };
    if (this.kind === 'bool') return makeData({ type: new Bool(), ...common, data: this.data.subarray(0, (length + 7) >> 3) });
    if (this.kind === 'text') {
      return makeData({ type: new Utf8(), ...common, valueOffsets: this.offsets!.subarray(0, length + 1), data: this.data.subarray(0, this.bytes) });
    }
    const type = this.kind === 'uint64' ? new Uint64() : arrowType(this.kind);
    const data = new ARRAYS[this.kind](this.data.buffer as ArrayBuffer, this.data.byteOffset, length);
    // makeData's overloads take one type each, and none takes a union of them.
    return makeData({ type, ...common, data } as Parameters<typeof makeData>[0]);
  }

  /** Empties the column for the next batch, keeping its buffers (what finish() gave must no longer be in use). */
  reset(): void {
    this.length = 0;
    this.nullCount = 0;
    this.validity = undefined;
    this.bytes = 0;
  }

  /** The first and last values of a uint64 column (the LSNs). */
  bounds(): [bigint, bigint] {
    assert(this.kind === 'uint64' && this.length > 0 && this.nullCount === 0);
    const values = new BigUint64Array(this.data.buffer, this.data.byteOffset, this.length);
    return [values[0]!, values[this.length - 1]!];
  }

  private appendValidity(mask: Uint8Array | null, rows: number): void {
    if (!mask) {
      if (this.validity) this.setValid(this.length, rows);
      return;
    }
    for (let i = 0; i < rows; i++) {
      const valid = (mask[i >> 3]! >> (i & 7)) & 1;
      const row = this.length + i;
      if (valid) {
        if (this.validity) this.validity[row >> 3]! |= 1 << (row & 7);
      } else {
        this.validity ??= this.allValidBefore(row);
        this.validity[row >> 3]! &= ~(1 << (row & 7));
        this.nullCount++;
      }
    }
  }

  /** A bitmap with every row before `row` valid (allocated at the first NULL). */
  private allValidBefore(row: number): Uint8Array {
    const bitmap = new Uint8Array((this.capacity + 7) >> 3);
    this.setValid(0, row, bitmap);
    return bitmap;
  }

  private setValid(from: number, count: number, bitmap = this.validity!): void {
    for (let row = from; row < from + count; row++) bitmap[row >> 3]! |= 1 << (row & 7);
  }

  private appendBools(values: Uint8Array, rows: number): void {
    for (let i = 0; i < rows; i++) {
      const row = this.length + i;
      if (values[i]) this.data[row >> 3]! |= 1 << (row & 7);
      else this.data[row >> 3]! &= ~(1 << (row & 7));
    }
  }

  private appendStrings(strings: Uint8Array, rows: number): void {
    const view = new DataView(strings.buffer, strings.byteOffset, strings.byteLength);
    const offsets = this.offsets!;
    for (let i = 0; i < rows; i++) {
      const row = this.length + i;
      const at = i * STRING_T_BYTES;
      // A NULL's string_t is not a string (DuckDB leaves it as it was).
      const valid = !this.validity || (this.validity[row >> 3]! >> (row & 7)) & 1;
      if (valid) {
        const length = view.getUint32(at, true);
        if (this.bytes + length > this.data.length) this.growBytes(this.bytes + length);
        if (length <= INLINE_STRING_BYTES) {
          // Byte by byte: a view per short string would be most of the work (and of the garbage).
          const data = this.data;
          for (let k = 0, from = at + 4, to = this.bytes; k < length; k++) data[to + k] = strings[from + k]!;
        } else {
          this.data.set(duckdb.get_data_from_pointer(strings.buffer as ArrayBuffer, strings.byteOffset + at + 8, length), this.bytes);
        }
        this.bytes += length;
      }
      offsets[row + 1] = this.bytes;
    }
  }

  private grow(rows: number): void {
    const capacity = Math.max(rows, 2 * this.capacity);
    if (this.kind === 'text') {
      const offsets = new Int32Array(capacity + 1);
      offsets.set(this.offsets!.subarray(0, this.length + 1));
      this.offsets = offsets;
    } else {
      const data = new Uint8Array(this.kind === 'bool' ? (capacity + 7) >> 3 : capacity * widthOf(this.kind));
      data.set(this.data);
      this.data = data;
    }
    if (this.validity) {
      const validity = new Uint8Array((capacity + 7) >> 3);
      validity.set(this.validity);
      this.validity = validity;
    }
    this.capacity = capacity;
  }

  private growBytes(needed: number): void {
    assert(needed <= 0x7fffffff, 'a WAL batch holds at most 2 GiB of text');
    const data = new Uint8Array(Math.min(0x7fffffff, Math.max(needed, 2 * this.data.length)));
    data.set(this.data.subarray(0, this.bytes));
    this.data = data;
  }
}
