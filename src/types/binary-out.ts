// PostgreSQL's binary send format of DuckDB values, for result columns a
// client asks to receive in binary. The PostgreSQL type is the one pgTypeOf
// reports for the DuckDB type.

import { DuckDBTypeId } from '@duckdb/node-api';
import type {
  DuckDBArrayValue, DuckDBBlobValue, DuckDBDateValue, DuckDBDecimalValue, DuckDBIntervalValue, DuckDBListValue,
  DuckDBTimeNSValue, DuckDBTimeTZValue, DuckDBTimeValue, DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue, DuckDBTimestampSecondsValue, DuckDBTimestampTZValue, DuckDBTimestampValue,
  DuckDBType, DuckDBUUIDValue, DuckDBValue,
} from '@duckdb/node-api';
import { PG_EPOCH_DAYS, PG_EPOCH_MICROS } from './datetime.js';
import { pgOidOf } from './mapping.js';
import { pgTypeByOid } from './pg-types.js';

export type BinaryEncoder = (value: DuckDBValue) => Uint8Array;

const INT32_MAX = 2_147_483_647;
const INT64_MAX = 9_223_372_036_854_775_807n;
const INT64_MIN = -9_223_372_036_854_775_808n;

/** The binary encoder for a column of `type`, or undefined if it has no binary form; the caller handles NULL. */
export function binaryEncoder(type: DuckDBType): BinaryEncoder | undefined {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return (v) => Buffer.from([v ? 1 : 0]);
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return (v) => int16(v as number);
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return (v) => int32(v as number);
    case DuckDBTypeId.BIGINT:
      return (v) => int64(v as bigint);
    case DuckDBTypeId.UINTEGER:
      return (v) => int64(BigInt(v as number));
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return (v) => numericBinary(v as bigint, 0);
    case DuckDBTypeId.DECIMAL:
      return (v) => numericBinary((v as DuckDBDecimalValue).value, (v as DuckDBDecimalValue).scale);
    case DuckDBTypeId.FLOAT:
      return (v) => {
        const b = Buffer.allocUnsafe(4);
        b.writeFloatBE(v as number);
        return b;
      };
    case DuckDBTypeId.DOUBLE:
      return (v) => {
        const b = Buffer.allocUnsafe(8);
        b.writeDoubleBE(v as number);
        return b;
      };
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
      return (v) => Buffer.from(v as string, 'utf8');
    case DuckDBTypeId.BLOB:
      return (v) => (v as DuckDBBlobValue).bytes;
    case DuckDBTypeId.DATE:
      return (v) => int32(dateBinary((v as DuckDBDateValue).days));
    case DuckDBTypeId.TIME:
      return (v) => int64((v as DuckDBTimeValue).micros);
    case DuckDBTypeId.TIME_NS:
      return (v) => int64((v as DuckDBTimeNSValue).nanos / 1000n);
    case DuckDBTypeId.TIME_TZ:
      return (v) => {
        const b = Buffer.allocUnsafe(12);
        b.writeBigInt64BE((v as DuckDBTimeTZValue).micros);
        // PostgreSQL stores the zone as seconds west of UTC.
        b.writeInt32BE(-(v as DuckDBTimeTZValue).offset, 8);
        return b;
      };
    case DuckDBTypeId.TIMESTAMP:
      return (v) => int64(timestampBinary((v as DuckDBTimestampValue).micros, 1n));
    case DuckDBTypeId.TIMESTAMP_TZ:
      return (v) => int64(timestampBinary((v as DuckDBTimestampTZValue).micros, 1n));
    case DuckDBTypeId.TIMESTAMP_S:
      return (v) => int64(timestampBinary((v as DuckDBTimestampSecondsValue).seconds, 1_000_000n));
    case DuckDBTypeId.TIMESTAMP_MS:
      return (v) => int64(timestampBinary((v as DuckDBTimestampMillisecondsValue).millis, 1000n));
    case DuckDBTypeId.TIMESTAMP_NS:
      return (v) => int64(timestampBinary((v as DuckDBTimestampNanosecondsValue).nanos, -1000n));
    case DuckDBTypeId.INTERVAL:
      return (v) => {
        const interval = v as DuckDBIntervalValue;
        const b = Buffer.allocUnsafe(16);
        b.writeBigInt64BE(interval.micros);
        b.writeInt32BE(interval.days, 8);
        b.writeInt32BE(interval.months, 12);
        return b;
      };
    case DuckDBTypeId.UUID:
      return (v) => {
        const b = Buffer.allocUnsafe(16);
        const n = (v as DuckDBUUIDValue).toUint128();
        b.writeBigUInt64BE(n >> 64n);
        b.writeBigUInt64BE(n & 0xffffffffffffffffn, 8);
        return b;
      };
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return arrayEncoder(type);
    case DuckDBTypeId.ANY:
      return undefined;
    // Everything else is reported as text: its binary form is the text's bytes.
    default:
      return (v) => Buffer.from(String(v), 'utf8');
  }
}

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
}

function int64(n: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(n);
  return b;
}

/** Days since 2000-01-01; DuckDB's ±infinity (±INT32_MAX) become PostgreSQL's (INT32_MAX, INT32_MIN). */
function dateBinary(days: number): number {
  if (days === INT32_MAX) return INT32_MAX;
  if (days === -INT32_MAX) return -INT32_MAX - 1;
  return days - PG_EPOCH_DAYS;
}

/**
 * Micros since 2000-01-01 of a DuckDB timestamp in some unit (a negative
 * factor divides, flooring). DuckDB's ±infinity (±INT64_MAX) become
 * PostgreSQL's (INT64_MAX, INT64_MIN).
 */
function timestampBinary(value: bigint, factor: bigint): bigint {
  if (value === INT64_MAX) return INT64_MAX;
  if (value === -INT64_MAX) return INT64_MIN;
  let micros: bigint;
  if (factor > 0n) micros = value * factor;
  else {
    micros = value / -factor;
    if (micros * -factor > value) micros -= 1n;
  }
  return micros - PG_EPOCH_MICROS;
}

/**
 * numeric_send of value / 10^scale: ndigits, weight, sign, dscale, then
 * base-10000 digits with leading and trailing zero digits stripped.
 */
function numericBinary(value: bigint, scale: number): Buffer {
  const negative = value < 0n;
  const text = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const intPart = text.slice(0, text.length - scale);
  const fracPart = text.slice(text.length - scale);
  // Align both parts to 4-digit groups around the decimal point.
  const intPadded = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const fracPadded = fracPart.padEnd(Math.ceil(fracPart.length / 4) * 4, '0');
  const all = intPadded + fracPadded;
  const digits: number[] = [];
  for (let i = 0; i < all.length; i += 4) digits.push(Number(all.slice(i, i + 4)));
  let weight = intPadded.length / 4 - 1;
  let first = 0;
  while (first < digits.length && digits[first] === 0) {
    first++;
    weight--;
  }
  let last = digits.length;
  while (last > first && digits[last - 1] === 0) last--;
  const kept = digits.slice(first, last);
  if (kept.length === 0) weight = 0;
  const b = Buffer.allocUnsafe(8 + 2 * kept.length);
  b.writeInt16BE(kept.length, 0);
  b.writeInt16BE(weight, 2);
  b.writeUInt16BE(negative && kept.length > 0 ? 0x4000 : 0, 4);
  b.writeInt16BE(scale, 6);
  for (let i = 0; i < kept.length; i++) b.writeInt16BE(kept[i], 8 + 2 * i);
  return b;
}

export class ArrayShapeError extends Error {
  readonly code = '2202E';
  constructor() {
    super('multidimensional arrays must have array expressions with matching dimensions');
  }
}

/**
 * array_send: ndim, has-null flag, element OID, (length, lower bound 1) per
 * dimension, then each element as a length-prefixed value or -1 for NULL.
 * Nested lists are dimensions, so they must be rectangular, as in PostgreSQL.
 */
function arrayEncoder(type: DuckDBType): BinaryEncoder | undefined {
  let ndim = 0;
  let leaf: DuckDBType = type;
  while (leaf.typeId === DuckDBTypeId.LIST || leaf.typeId === DuckDBTypeId.ARRAY) {
    leaf = leaf.valueType;
    ndim++;
  }
  const encodeLeaf = binaryEncoder(leaf);
  if (!encodeLeaf) return undefined;
  const elementOid = pgTypeByOid(pgOidOf(type))!.elemOid;
  return (v) => {
    const dims: number[] = [];
    let level: DuckDBValue = v;
    for (let d = 0; d < ndim; d++) {
      const items: readonly DuckDBValue[] = (level as DuckDBListValue | DuckDBArrayValue).items;
      dims.push(items.length);
      if (items.length === 0) break;
      level = items[0];
      if (level === null && d < ndim - 1) throw new ArrayShapeError();
    }
    const parts: Uint8Array[] = [];
    let hasNull = false;
    let total = 0;
    const visit = (value: DuckDBValue, depth: number): void => {
      if (depth === dims.length) {
        const bytes = value === null ? null : encodeLeaf(value);
        if (bytes === null) hasNull = true;
        const length = int32(bytes === null ? -1 : bytes.length);
        parts.push(length);
        total += 4;
        if (bytes) {
          parts.push(bytes);
          total += bytes.length;
        }
        return;
      }
      const items = value === null ? null : (value as DuckDBListValue | DuckDBArrayValue).items;
      if (items === null || items.length !== dims[depth]) throw new ArrayShapeError();
      for (const item of items) visit(item, depth + 1);
    };
    // An empty array at any level is the zero-dimensional empty array.
    const empty = dims.includes(0);
    if (!empty) visit(v, 0);
    const header = Buffer.allocUnsafe(12 + (empty ? 0 : 8 * dims.length));
    header.writeInt32BE(empty ? 0 : dims.length, 0);
    header.writeInt32BE(hasNull ? 1 : 0, 4);
    header.writeUInt32BE(elementOid, 8);
    if (!empty) {
      dims.forEach((length, i) => {
        header.writeInt32BE(length, 12 + 8 * i);
        header.writeInt32BE(1, 16 + 8 * i);
      });
    }
    return Buffer.concat([header, ...parts], header.length + total);
  };
}
