// Bind parameters: PostgreSQL's text input and binary receive formats of the
// types in pg-types.ts, decoded into a DuckDB value and the DuckDB type to
// bind it as. Errors carry PostgreSQL's SQLSTATE and wording.

import {
  BIGINT, BIT, BLOB, BOOLEAN, DATE, DECIMAL, DOUBLE, DuckDBTypeId, FLOAT, INTEGER, INTERVAL, LIST, SMALLINT, TIME,
  TIMESTAMP, TIMESTAMPTZ, TIMETZ, UINTEGER, UUID, VARCHAR, bitValue, blobValue, dateValue, decimalValue, intervalValue,
  listValue, timeTZValue, timeValue, timestampTZValue, timestampValue, uuidValue,
} from '@duckdb/node-api';
import type { DuckDBDecimalValue, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { FormatCode } from '../../protocol/messages.js';
import { ArrayInputError, parseArrayText } from './array-in.js';
import type { ArrayItems } from './array-in.js';
import { PG_EPOCH_DAYS, PG_EPOCH_MICROS } from './datetime.js';
import { DateTimeInputError, parseDate, parseTime, parseTimeTz, parseTimestamp, parseTimestampTz } from './datetime-in.js';
import { parseInterval } from './interval-in.js';
import { JSON_TYPE, duckTypeOfOid } from './mapping.js';
import { decimalText } from './text-out.js';
import { PgOid, pgTypeByOid } from './pg-types.js';

export class InvalidParameterError extends Error {
  /** 22P02 bad text, 22003 out of range, 22007/22008/22009/22015 date/time, 22P03 bad binary value, 08P01 binary value cut short. */
  constructor(message: string, readonly code: string = '22P02') {
    super(message);
  }
}

export type Decoded = { value: DuckDBValue; type: DuckDBType };

export type ParameterContext = {
  /** The session TimeZone, for timestamptz/timetz text without an offset (default 'UTC'). */
  timeZone?: string;
  /** 1-based, for the binary format error message. */
  parameterNumber?: number;
};

const INT32_MAX = 2_147_483_647;
const INT64_MAX = 9_223_372_036_854_775_807n;
const INT64_MIN = -9_223_372_036_854_775_808n;
const MAX_DECIMAL_WIDTH = 38;

/**
 * Decodes one Bind parameter of PostgreSQL type `oid` (0 or unknown: text
 * taken as VARCHAR). Numeric values keep their exact digits as DECIMAL(p,s)
 * of their own precision and scale.
 */
export function decodeParameter(oid: number, format: FormatCode, data: Buffer, context: ParameterContext = {}): Decoded {
  try {
    if (format === FormatCode.Binary) return decodeBinary(oid, data);
    return decodeText(oid, data.toString('utf8'), context.timeZone ?? 'UTC');
  } catch (error) {
    if (error instanceof BinaryFormatError) {
      // As PostgreSQL: running out of bytes is a protocol violation, bytes left over a bad value.
      if (error.short) throw new InvalidParameterError(data.length === 0 ? 'no data left in message' : 'insufficient data left in message', '08P01');
      const where = context.parameterNumber === undefined ? '' : ` ${context.parameterNumber}`;
      throw new InvalidParameterError(`incorrect binary data format in bind parameter${where}`, '22P03');
    }
    if (error instanceof DateTimeInputError || error instanceof ArrayInputError) {
      throw new InvalidParameterError(error.message, error.code);
    }
    throw error;
  }
}

// ---------------------------------------------------------------- text input

const INTEGER_TYPES: Record<number, { name: string; type: DuckDBType; min: bigint; max: bigint }> = {
  [PgOid.int2]: { name: 'smallint', type: SMALLINT, min: -32768n, max: 32767n },
  [PgOid.int4]: { name: 'integer', type: INTEGER, min: -2147483648n, max: 2147483647n },
  [PgOid.int8]: { name: 'bigint', type: BIGINT, min: INT64_MIN, max: INT64_MAX },
};

function syntaxError(typeName: string, text: string): InvalidParameterError {
  return new InvalidParameterError(`invalid input syntax for type ${typeName}: "${text}"`);
}

function decodeText(oid: number, text: string, zone: string): Decoded {
  const integer = INTEGER_TYPES[oid];
  if (integer) {
    if (!/^\s*[+-]?\d+\s*$/.test(text)) throw syntaxError(integer.name, text);
    const n = BigInt(text.trim());
    if (n < integer.min || n > integer.max) {
      throw new InvalidParameterError(`value "${text}" is out of range for type ${integer.name}`, '22003');
    }
    return { value: oid === PgOid.int8 ? n : Number(n), type: integer.type };
  }
  switch (oid) {
    case PgOid.bool:
      return { value: parseBool(text), type: BOOLEAN };
    case PgOid.float4:
      return { value: parseFloatText(text, 'real'), type: FLOAT };
    case PgOid.float8:
      return { value: parseFloatText(text, 'double precision'), type: DOUBLE };
    case PgOid.numeric:
      return parseNumeric(text);
    case PgOid.oid:
    case PgOid.regproc:
    case PgOid.regclass:
    case PgOid.regtype: {
      if (/^\s*\d+\s*$/.test(text) && Number(text) <= 4294967295) return { value: Number(text), type: UINTEGER };
      // A name ('pg_class'::regclass) stays text for whoever resolves it against a catalog.
      if (oid === PgOid.oid) throw syntaxError('oid', text);
      return { value: text, type: VARCHAR };
    }
    case PgOid.json:
    case PgOid.jsonb:
      try {
        JSON.parse(text);
      } catch {
        throw new InvalidParameterError(`invalid input syntax for type json`);
      }
      return { value: text, type: JSON_TYPE };
    case PgOid.bytea:
      return { value: blobValue(parseBytea(text)), type: BLOB };
    case PgOid.date: {
      const days = parseDate(text);
      return { value: dateValue(days === Infinity ? INT32_MAX : days === -Infinity ? -INT32_MAX : days), type: DATE };
    }
    case PgOid.time:
      return { value: timeValue(BigInt(parseTime(text))), type: TIME };
    case PgOid.timetz: {
      const { micros, offset } = parseTimeTz(text, zone);
      return { value: timeTZValue(BigInt(micros), offset), type: TIMETZ };
    }
    case PgOid.timestamp:
      return { value: timestampValue(timestampMicros(parseTimestamp(text))), type: TIMESTAMP };
    case PgOid.timestamptz:
      return { value: timestampTZValue(timestampMicros(parseTimestampTz(text, zone))), type: TIMESTAMPTZ };
    case PgOid.interval: {
      const { months, days, micros } = parseInterval(text);
      return { value: intervalValue(months, days, micros), type: INTERVAL };
    }
    case PgOid.uuid:
      return { value: uuidValue(parseUuid(text)), type: UUID };
    case PgOid.bit:
    case PgOid.varbit: {
      const bad = /[^01]/.exec(text);
      if (bad) throw new InvalidParameterError(`"${bad[0]}" is not a valid binary digit`);
      return { value: bitValue(text), type: BIT };
    }
  }
  const pgType = pgTypeByOid(oid);
  if (pgType?.category === 'A') return decodeTextArray(pgType.elemOid, text, zone);
  // text, varchar, bpchar, name, "char", xml, unknown, unspecified (0), and anything else.
  return { value: text, type: VARCHAR };
}

function timestampMicros(value: bigint | number): bigint {
  if (value === Infinity) return INT64_MAX;
  if (value === -Infinity) return -INT64_MAX;
  return value as bigint;
}

/** boolin: a prefix of true/false/yes/no, on/off (two letters at least), 1/0; case and surrounding space ignored. */
function parseBool(text: string): boolean {
  const s = text.trim().toLowerCase();
  if (s.length > 0) {
    if ('true'.startsWith(s) || 'yes'.startsWith(s) || s === '1' || (s.length > 1 && s === 'on')) return true;
    if ('false'.startsWith(s) || 'no'.startsWith(s) || s === '0' || (s.length > 1 && 'off'.startsWith(s))) return false;
  }
  throw syntaxError('boolean', text);
}

const FLOAT_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseFloatText(text: string, typeName: 'real' | 'double precision'): number {
  const s = text.trim();
  const lower = s.toLowerCase();
  if (lower === 'nan') return NaN;
  if (/^[+]?inf(inity)?$/.test(lower)) return Infinity;
  if (/^-inf(inity)?$/.test(lower)) return -Infinity;
  if (!FLOAT_TEXT.test(s)) throw syntaxError(typeName, text);
  let value = Number(s);
  if (typeName === 'real') value = Math.fround(value);
  // Overflow to infinity, or underflow of a nonzero input to zero, is out of range.
  const mantissaNonzero = /[1-9]/.test(s.split(/e/i)[0]);
  if (!Number.isFinite(value) || (value === 0 && mantissaNonzero)) {
    throw new InvalidParameterError(`"${text}" is out of range for type ${typeName}`, '22003');
  }
  return value;
}

const NUMERIC_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

function parseNumeric(text: string): Decoded {
  const s = text.trim();
  const lower = s.toLowerCase();
  // DECIMAL has no NaN or infinities; DOUBLE carries them.
  if (lower === 'nan') return { value: NaN, type: DOUBLE };
  if (/^[+]?inf(inity)?$/.test(lower)) return { value: Infinity, type: DOUBLE };
  if (/^-inf(inity)?$/.test(lower)) return { value: -Infinity, type: DOUBLE };
  const match = NUMERIC_TEXT.exec(s);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) throw syntaxError('numeric', text);
  const [, sign, intDigits, fracDigits = '', exponentText] = match;
  const exponent = Number(exponentText ?? 0);
  // value = digits · 10^(exponent - fraction length); PostgreSQL's scale is never negative.
  let digits = BigInt(intDigits + fracDigits || '0');
  let scale = fracDigits.length - exponent;
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return decimalDecoded(sign === '-' ? -digits : digits, scale);
}

/** DECIMAL(p,s) of value/10^scale; beyond DuckDB's 38 digits only DOUBLE can take it (inexactly). */
function decimalDecoded(value: bigint, scale: number): Decoded {
  const width = Math.max((value < 0n ? -value : value).toString().length, scale, 1);
  if (width > MAX_DECIMAL_WIDTH) return { value: Number(decimalText(value, scale)), type: DOUBLE };
  return { value: decimalValue(value, width, scale), type: DECIMAL(width, scale) };
}

function parseBytea(text: string): Uint8Array {
  if (text.startsWith('\\x')) {
    const hex = text.slice(2).replace(/[ \t\n\r]/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) {
      const bad = /[^0-9a-fA-F]/.exec(hex);
      throw new InvalidParameterError(bad ? `invalid hexadecimal digit: "${bad[0]}"` : 'invalid hexadecimal data: odd number of digits', '22023');
    }
    return Buffer.from(hex, 'hex');
  }
  // Escape format: \\ is a backslash, \ooo an octal byte, anything else is itself.
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c) bytes.push(raw[i]);
    else if (raw[i + 1] === 0x5c) {
      bytes.push(0x5c);
      i++;
    } else if (/^[0-3][0-7][0-7]$/.test(raw.toString('latin1', i + 1, i + 4))) {
      bytes.push(parseInt(raw.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else throw new InvalidParameterError('invalid input syntax for type bytea');
  }
  return Uint8Array.from(bytes);
}

/** uuid_in: 32 hex digits, optionally in braces, with a hyphen allowed after any group of four. */
function parseUuid(text: string): bigint {
  const match = /^\{?((?:[0-9a-fA-F]{4}-?){7}[0-9a-fA-F]{4})\}?$/.exec(text);
  if (!match || text.startsWith('{') !== text.endsWith('}')) throw syntaxError('uuid', text);
  return BigInt('0x' + match[1].replace(/-/g, ''));
}

function decodeTextArray(elemOid: number, text: string, zone: string): Decoded {
  const decodeItems = (items: ArrayItems): ArrayTree =>
    items.map((item) => {
      if (item === null) return { value: null, type: elementType(elemOid) };
      if (Array.isArray(item)) return decodeItems(item);
      return decodeText(elemOid, item, zone);
    });
  return listOf(elemOid, decodeItems(parseArrayText(text)), text);
}

// ---------------------------------------------------------------- binary input

/** Thrown where the bytes do not fit the type: too few of them (short), or a bad value. */
class BinaryFormatError extends Error {
  constructor(readonly short = false) {
    super('incorrect binary data format');
  }
}

function expectLength(data: Buffer, length: number): void {
  if (data.length !== length) throw new BinaryFormatError(data.length < length);
}

function decodeBinary(oid: number, data: Buffer): Decoded {
  switch (oid) {
    case PgOid.bool:
      expectLength(data, 1);
      return { value: data[0] !== 0, type: BOOLEAN };
    case PgOid.int2:
      expectLength(data, 2);
      return { value: data.readInt16BE(0), type: SMALLINT };
    case PgOid.int4:
      expectLength(data, 4);
      return { value: data.readInt32BE(0), type: INTEGER };
    case PgOid.int8:
      expectLength(data, 8);
      return { value: data.readBigInt64BE(0), type: BIGINT };
    case PgOid.oid:
    case PgOid.regproc:
    case PgOid.regclass:
    case PgOid.regtype:
      expectLength(data, 4);
      return { value: data.readUInt32BE(0), type: UINTEGER };
    case PgOid.float4:
      expectLength(data, 4);
      return { value: data.readFloatBE(0), type: FLOAT };
    case PgOid.float8:
      expectLength(data, 8);
      return { value: data.readDoubleBE(0), type: DOUBLE };
    case PgOid.numeric:
      return decodeNumericBinary(data);
    case PgOid.bytea:
      return { value: blobValue(Uint8Array.from(data)), type: BLOB };
    case PgOid.json:
      return { value: utf8(data), type: JSON_TYPE };
    case PgOid.jsonb:
      if (data.length < 1) throw new BinaryFormatError(true);
      if (data[0] !== 1) throw new BinaryFormatError();
      return { value: utf8(data.subarray(1)), type: JSON_TYPE };
    case PgOid.date: {
      expectLength(data, 4);
      const days = data.readInt32BE(0);
      const value = days === INT32_MAX ? INT32_MAX : days === -INT32_MAX - 1 ? -INT32_MAX : days + PG_EPOCH_DAYS;
      return { value: dateValue(value), type: DATE };
    }
    case PgOid.time:
      expectLength(data, 8);
      return { value: timeValue(data.readBigInt64BE(0)), type: TIME };
    case PgOid.timetz:
      expectLength(data, 12);
      // PostgreSQL counts the zone in seconds west of UTC, DuckDB east.
      return { value: timeTZValue(data.readBigInt64BE(0), -data.readInt32BE(8)), type: TIMETZ };
    case PgOid.timestamp:
      expectLength(data, 8);
      return { value: timestampValue(timestampFromPg(data.readBigInt64BE(0))), type: TIMESTAMP };
    case PgOid.timestamptz:
      expectLength(data, 8);
      return { value: timestampTZValue(timestampFromPg(data.readBigInt64BE(0))), type: TIMESTAMPTZ };
    case PgOid.interval:
      expectLength(data, 16);
      return { value: intervalValue(data.readInt32BE(12), data.readInt32BE(8), data.readBigInt64BE(0)), type: INTERVAL };
    case PgOid.uuid:
      expectLength(data, 16);
      return { value: uuidValue((data.readBigUInt64BE(0) << 64n) | data.readBigUInt64BE(8)), type: UUID };
    case PgOid.bit:
    case PgOid.varbit: {
      if (data.length < 4) throw new BinaryFormatError(true);
      const length = data.readInt32BE(0);
      if (length < 0 || Math.ceil(length / 8) !== data.length - 4) throw new BinaryFormatError(Math.ceil(length / 8) > data.length - 4);
      const bits = Array.from({ length }, (_, i) => (data[4 + (i >> 3)] >> (7 - (i & 7))) & 1);
      return { value: bitValue(bits), type: BIT };
    }
    case PgOid.char:
      expectLength(data, 1);
      return { value: String.fromCharCode(data[0]), type: VARCHAR };
  }
  const pgType = pgTypeByOid(oid);
  if (pgType?.category === 'A') return decodeBinaryArray(pgType.elemOid, data);
  // text, varchar, bpchar, name, xml, unknown and unspecified: the bytes are the text.
  return { value: utf8(data), type: VARCHAR };
}

function utf8(data: Buffer): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(data);
}

function timestampFromPg(micros: bigint): bigint {
  if (micros === INT64_MAX) return INT64_MAX;
  if (micros === INT64_MIN) return -INT64_MAX;
  return micros + PG_EPOCH_MICROS;
}

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;

/** numeric_recv: ndigits, weight, sign, dscale, then base-10000 digits. */
function decodeNumericBinary(data: Buffer): Decoded {
  if (data.length < 8) throw new BinaryFormatError(true);
  const ndigits = data.readInt16BE(0);
  const weight = data.readInt16BE(2);
  const sign = data.readUInt16BE(4);
  const dscale = data.readInt16BE(6);
  if (ndigits < 0 || data.length !== 8 + 2 * ndigits || dscale < 0) throw new BinaryFormatError(data.length < 8 + 2 * ndigits);
  if (sign === NUMERIC_NAN) return { value: NaN, type: DOUBLE };
  if (sign === NUMERIC_PINF) return { value: Infinity, type: DOUBLE };
  if (sign === NUMERIC_NINF) return { value: -Infinity, type: DOUBLE };
  if (sign !== NUMERIC_POS && sign !== NUMERIC_NEG) throw new BinaryFormatError();
  let value = 0n;
  for (let i = 0; i < ndigits; i++) {
    const digit = data.readInt16BE(8 + 2 * i);
    if (digit < 0 || digit > 9999) throw new BinaryFormatError();
    value = value * 10000n + BigInt(digit);
  }
  // value now counts units of 10000^(weight - ndigits + 1); rescale to 10^-dscale.
  const shift = 4 * (weight - ndigits + 1) + dscale;
  if (shift >= 0) value *= 10n ** BigInt(shift);
  else value /= 10n ** BigInt(-shift);
  return decimalDecoded(sign === NUMERIC_NEG ? -value : value, dscale);
}

/** array_recv: ndim, has-null flag, element OID, (length, lower bound) per dimension, then the elements. */
function decodeBinaryArray(elemOid: number, data: Buffer): Decoded {
  if (data.length < 12) throw new BinaryFormatError(true);
  const ndim = data.readInt32BE(0);
  const sentElemOid = data.readUInt32BE(8);
  if (ndim < 0 || ndim > 6) throw new BinaryFormatError();
  if (data.length < 12 + 8 * ndim) throw new BinaryFormatError(true);
  if (sentElemOid !== elemOid) {
    throw new InvalidParameterError(
      `binary data has array element type ${sentElemOid} (${pgTypeByOid(sentElemOid)?.name ?? 'unknown'}) instead of expected ${elemOid} (${pgTypeByOid(elemOid)?.name})`,
      '42804',
    );
  }
  const dims = Array.from({ length: ndim }, (_, i) => data.readInt32BE(12 + 8 * i));
  let at = 12 + 8 * ndim;
  const readLevel = (depth: number): ArrayTree => {
    const items: ArrayTree = [];
    for (let i = 0; i < dims[depth]; i++) {
      if (depth + 1 < ndim) {
        items.push(readLevel(depth + 1));
        continue;
      }
      if (at + 4 > data.length) throw new BinaryFormatError(true);
      const length = data.readInt32BE(at);
      at += 4;
      if (length === -1) {
        items.push({ value: null, type: elementType(elemOid) });
        continue;
      }
      if (length < 0) throw new BinaryFormatError();
      if (at + length > data.length) throw new BinaryFormatError(true);
      items.push(decodeBinary(elemOid, data.subarray(at, at + length)));
      at += length;
    }
    return items;
  };
  const tree = ndim === 0 ? [] : readLevel(0);
  if (at !== data.length) throw new BinaryFormatError();
  return listOf(elemOid, tree, '');
}

// ---------------------------------------------------------------- arrays

/** Decoded elements of a possibly multidimensional array, before they get one type. */
type ArrayTree = (Decoded | ArrayTree)[];

function elementType(elemOid: number): DuckDBType {
  return duckTypeOfOid(elemOid) ?? VARCHAR;
}

/**
 * Nested LISTs of one element type. Numerics decode to DECIMALs of their own
 * width and scale, so they are brought to a common DECIMAL (or DOUBLE, when
 * one is NaN/infinite or too wide).
 */
function listOf(elemOid: number, tree: ArrayTree, input: string): Decoded {
  let depth = 1;
  for (let level: ArrayTree = tree; Array.isArray(level[0]); level = level[0] as ArrayTree) depth++;
  const leaves: Decoded[] = [];
  const collect = (level: ArrayTree, d: number): void => {
    for (const node of level) {
      // Sub-arrays and elements cannot mix on one level.
      if (Array.isArray(node) !== d < depth) throw new ArrayInputError(input);
      if (Array.isArray(node)) collect(node, d + 1);
      else if (node.value !== null) leaves.push(node);
    }
  };
  collect(tree, 1);
  const leafType = leaves.length === 0
    ? elementType(elemOid)
    : elemOid === PgOid.numeric ? commonNumericType(leaves) : leaves[0].type;
  const build = (level: ArrayTree): DuckDBValue =>
    listValue(level.map((node) => (Array.isArray(node) ? build(node) : node.value === null ? null : convertNumeric(node, leafType))));
  let type: DuckDBType = leafType;
  for (let d = 0; d < depth; d++) type = LIST(type);
  return { value: build(tree), type };
}

function commonNumericType(leaves: Decoded[]): DuckDBType {
  if (leaves.some((leaf) => leaf.type.typeId === DuckDBTypeId.DOUBLE)) return DOUBLE;
  let scale = 0;
  let integerDigits = 1;
  for (const leaf of leaves) {
    const decimal = leaf.value as DuckDBDecimalValue;
    scale = Math.max(scale, decimal.scale);
    integerDigits = Math.max(integerDigits, decimal.width - decimal.scale);
  }
  return integerDigits + scale > MAX_DECIMAL_WIDTH ? DOUBLE : DECIMAL(integerDigits + scale, scale);
}

function convertNumeric(leaf: Decoded, target: DuckDBType): DuckDBValue {
  if (leaf.type.typeId !== DuckDBTypeId.DECIMAL) return leaf.value;
  const decimal = leaf.value as DuckDBDecimalValue;
  if (target.typeId === DuckDBTypeId.DOUBLE) return Number(decimalText(decimal.value, decimal.scale));
  if (target.typeId !== DuckDBTypeId.DECIMAL) return leaf.value;
  return decimalValue(decimal.value * 10n ** BigInt(target.scale - decimal.scale), target.width, target.scale);
}
