// PostgreSQL 15's text output (DateStyle 'ISO, MDY', IntervalStyle
// 'postgres') of DuckDB values. An encoder is built once per result column,
// so per-value work is the formatting itself.

import { DuckDBTypeId } from '@duckdb/node-api';
import type {
  DuckDBArrayValue, DuckDBBlobValue, DuckDBDateValue, DuckDBDecimalValue, DuckDBIntervalValue, DuckDBListValue,
  DuckDBTimeNSValue, DuckDBTimeTZValue, DuckDBTimeValue, DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue, DuckDBTimestampSecondsValue, DuckDBTimestampTZValue, DuckDBTimestampValue,
  DuckDBType, DuckDBValue,
} from '@duckdb/node-api';
import { MICROS_PER_DAY, PAD2, formatDate, formatFraction, formatOffset, formatTimeOfDay, splitMicros } from './datetime.js';
import { float4Shortest, float8Shortest, formatG } from './float-out.js';
import { timeZone } from './timezone.js';
import type { TimeZone } from './timezone.js';

export type OutputSettings = { timeZone: string; extraFloatDigits: number };

export type TextValueEncoder = (value: DuckDBValue) => string;

/** DuckDB's ±infinity dates and timestamps. */
const DATE_INFINITY = 2_147_483_647;
const TIMESTAMP_INFINITY = 9_223_372_036_854_775_807n;

/** The text encoder for a column of `type`; the caller handles NULL. */
export function textEncoder(type: DuckDBType, settings: OutputSettings): TextValueEncoder {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return (v) => (v ? 't' : 'f');
    case DuckDBTypeId.FLOAT:
      return settings.extraFloatDigits > 0
        ? (v) => float4Shortest(v as number)
        : precisionG(6 + settings.extraFloatDigits);
    case DuckDBTypeId.DOUBLE:
      return settings.extraFloatDigits > 0
        ? (v) => float8Shortest(v as number)
        : precisionG(15 + settings.extraFloatDigits);
    case DuckDBTypeId.DECIMAL:
      return (v) => decimalText((v as DuckDBDecimalValue).value, (v as DuckDBDecimalValue).scale);
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
      return (v) => v as string;
    case DuckDBTypeId.BLOB:
      return (v) => byteaHex((v as DuckDBBlobValue).bytes);
    case DuckDBTypeId.DATE:
      return (v) => dateText((v as DuckDBDateValue).days);
    case DuckDBTypeId.TIME:
      return (v) => formatTimeOfDay(Number((v as DuckDBTimeValue).micros));
    case DuckDBTypeId.TIME_NS:
      return (v) => formatTimeOfDay(Number((v as DuckDBTimeNSValue).nanos / 1000n));
    case DuckDBTypeId.TIME_TZ:
      return (v) => formatTimeOfDay(Number((v as DuckDBTimeTZValue).micros)) + formatOffset((v as DuckDBTimeTZValue).offset);
    case DuckDBTypeId.TIMESTAMP:
      return (v) => timestampText((v as DuckDBTimestampValue).micros);
    case DuckDBTypeId.TIMESTAMP_S:
      return (v) => timestampText(scaled((v as DuckDBTimestampSecondsValue).seconds, 1_000_000n));
    case DuckDBTypeId.TIMESTAMP_MS:
      return (v) => timestampText(scaled((v as DuckDBTimestampMillisecondsValue).millis, 1000n));
    case DuckDBTypeId.TIMESTAMP_NS:
      // DuckDB's own TIMESTAMP_NS → TIMESTAMP cast drops the nanoseconds the same way.
      return (v) => timestampText(floorDiv((v as DuckDBTimestampNanosecondsValue).nanos, 1000n));
    case DuckDBTypeId.TIMESTAMP_TZ: {
      const zone = timeZone(settings.timeZone);
      return (v) => timestamptzText((v as DuckDBTimestampTZValue).micros, zone);
    }
    case DuckDBTypeId.INTERVAL:
      return (v) => intervalText(v as DuckDBIntervalValue);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return arrayEncoder(type.valueType, settings);
    // Numbers print as JavaScript does for integers; UUID, STRUCT, MAP, UNION,
    // BIT, BIGNUM, … as the DuckDB value's own text.
    default:
      return (v) => String(v);
  }
}

function precisionG(precision: number): TextValueEncoder {
  const p = Math.max(1, precision);
  return (v) => formatG(v as number, p);
}

/** numeric text of value / 10^scale with exactly `scale` fraction digits. */
export function decimalText(value: bigint, scale: number): string {
  if (scale === 0) return value.toString();
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const point = digits.length - scale;
  return (negative ? '-' : '') + digits.slice(0, point) + '.' + digits.slice(point);
}

function byteaHex(bytes: Uint8Array): string {
  return '\\x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function dateText(days: number): string {
  if (days === DATE_INFINITY) return 'infinity';
  if (days === -DATE_INFINITY) return '-infinity';
  const { text, bc } = formatDate(days);
  return bc ? text + ' BC' : text;
}

function scaled(value: bigint, factor: bigint): bigint {
  return value === TIMESTAMP_INFINITY || value === -TIMESTAMP_INFINITY ? value : value * factor;
}

function floorDiv(value: bigint, divisor: bigint): bigint {
  if (value === TIMESTAMP_INFINITY || value === -TIMESTAMP_INFINITY) return value;
  const q = value / divisor;
  return q * divisor > value ? q - 1n : q;
}

function timestampText(micros: bigint): string {
  if (micros === TIMESTAMP_INFINITY) return 'infinity';
  if (micros === -TIMESTAMP_INFINITY) return '-infinity';
  const { days, timeMicros } = splitMicros(micros);
  const { text, bc } = formatDate(days);
  const result = text + ' ' + formatTimeOfDay(timeMicros);
  return bc ? result + ' BC' : result;
}

function timestamptzText(micros: bigint, zone: TimeZone): string {
  if (micros === TIMESTAMP_INFINITY) return 'infinity';
  if (micros === -TIMESTAMP_INFINITY) return '-infinity';
  const utc = splitMicros(micros);
  const offset = zone.offsetAt(utc.days * 86_400 + Math.floor(utc.timeMicros / 1_000_000));
  let days = utc.days;
  let timeMicros = utc.timeMicros + offset * 1_000_000;
  if (timeMicros < 0) {
    days -= 1;
    timeMicros += MICROS_PER_DAY;
  } else if (timeMicros >= MICROS_PER_DAY) {
    days += 1;
    timeMicros -= MICROS_PER_DAY;
  }
  const { text, bc } = formatDate(days);
  const result = text + ' ' + formatTimeOfDay(timeMicros) + formatOffset(offset);
  return bc ? result + ' BC' : result;
}

/** IntervalStyle 'postgres': '1 year 2 mons -3 days +04:05:06.789', '00:00:00' when zero. */
function intervalText(interval: { months: number; days: number; micros: bigint }): string {
  // C division truncates toward zero, so every field has the sign of its source.
  const years = Math.trunc(interval.months / 12);
  const months = interval.months - years * 12;
  let text = '';
  let negativeBefore = false;
  for (const [value, unit] of [[years, 'year'], [months, 'mon'], [interval.days, 'day']] as const) {
    if (value === 0) continue;
    // A positive field after a negative one gets an explicit '+'.
    text += `${text ? ' ' : ''}${negativeBefore && value > 0 ? '+' : ''}${value} ${unit}${value === 1 ? '' : 's'}`;
    negativeBefore = value < 0;
  }
  if (interval.micros === 0n && text) return text;
  const negative = interval.micros < 0n;
  const abs = negative ? -interval.micros : interval.micros;
  const hours = abs / 3_600_000_000n;
  const rest = Number(abs - hours * 3_600_000_000n);
  const minutes = Math.floor(rest / 60_000_000);
  const seconds = Math.floor(rest / 1_000_000) % 60;
  const fraction = rest % 1_000_000;
  const sign = negative ? '-' : negativeBefore ? '+' : '';
  const h = hours < 100n ? PAD2[Number(hours)] : hours.toString();
  const time = `${sign}${h}:${PAD2[minutes]}:${PAD2[seconds]}${fraction === 0 ? '' : formatFraction(fraction)}`;
  return text ? `${text} ${time}` : time;
}

/** array_out: '{1,2,NULL}', elements quoted when PostgreSQL would, nested lists as nested braces. */
function arrayEncoder(elementType: DuckDBType, settings: OutputSettings): TextValueEncoder {
  const nested = elementType.typeId === DuckDBTypeId.LIST || elementType.typeId === DuckDBTypeId.ARRAY;
  const encodeElement = textEncoder(elementType, settings);
  const element = nested || neverNeedsQuotes(elementType) ? encodeElement : (v: DuckDBValue) => quoteArrayElement(encodeElement(v));
  return (v) => {
    const items = (v as DuckDBListValue | DuckDBArrayValue).items;
    let text = '{';
    for (let i = 0; i < items.length; i++) {
      if (i > 0) text += ',';
      const item = items[i];
      text += item === null ? 'NULL' : element(item);
    }
    return text + '}';
  };
}

/** Types whose text never holds a space, quote, backslash, comma or brace, and is never empty or NULL. */
function neverNeedsQuotes(type: DuckDBType): boolean {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.DECIMAL:
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_TZ:
      return true;
    default:
      return false;
  }
}

const NEEDS_QUOTES = /[{}",\\ \t\n\r\v\f]/;
const ESCAPED = /["\\]/g;

/** array_out's rule: quote empty strings, NULL look-alikes and text with delimiters or space. */
function quoteArrayElement(text: string): string {
  if (text.length === 0) return '""';
  if (!NEEDS_QUOTES.test(text) && !(text.length === 4 && text.toUpperCase() === 'NULL')) return text;
  return '"' + text.replace(ESCAPED, '\\$&') + '"';
}
