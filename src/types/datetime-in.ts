// Text input of date, time, timetz, timestamp and timestamptz in the forms
// clients send: ISO 8601 with a space or 'T', the MDY slash form, an optional
// UTC offset or zone name, BC/AD, and the special values infinity and epoch.

import { MICROS_PER_DAY, MICROS_PER_SECOND, SECONDS_PER_DAY, daysFromCivil, daysInMonth } from './datetime.js';
import { localToUtc, timeZone } from './timezone.js';

export class DateTimeInputError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

type DateTimeKind = 'date' | 'time' | 'time with time zone' | 'timestamp' | 'timestamp with time zone';

type Parsed = {
  days?: number;
  timeMicros?: number;
  /** Seconds east of UTC, when the input named an offset. */
  offset?: number;
  /** A zone named in the input, resolved later against the local time. */
  zone?: string;
  special?: 'infinity' | '-infinity' | 'epoch';
};

const DATE = /^(\d{1,7})-(\d{1,2})-(\d{1,2})/;
const DATE_MDY = /^(\d{1,2})\/(\d{1,2})\/(\d{1,7})/;
const DATE_COMPACT = /^(\d{4})(\d{2})(\d{2})(?![\d:])/;
const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)?/;
const OFFSET = /^([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?/;

function badFormat(kind: DateTimeKind, input: string): DateTimeInputError {
  return new DateTimeInputError(`invalid input syntax for type ${kind}: "${input}"`, '22007');
}

function outOfRange(input: string): DateTimeInputError {
  return new DateTimeInputError(`date/time field value out of range: "${input}"`, '22008');
}

/** Splits the input into its date, time, offset and era parts. */
function parse(input: string, kind: DateTimeKind): Parsed {
  let rest = input.trim();
  const lower = rest.toLowerCase();
  if (lower === 'infinity' || lower === '+infinity') return { special: 'infinity' };
  if (lower === '-infinity') return { special: '-infinity' };
  if (lower === 'epoch') return { special: 'epoch' };
  const parsed: Parsed = {};
  let bc = false;
  const era = /\s*\b(bc|ad)\b/i.exec(rest);
  if (era) {
    bc = era[1].toLowerCase() === 'bc';
    rest = (rest.slice(0, era.index) + ' ' + rest.slice(era.index + era[0].length)).trim();
  }
  let match: RegExpExecArray | null;
  if ((match = DATE.exec(rest))) {
    parsed.days = civilDays(year(match[1], bc), Number(match[2]), Number(match[3]), bc, input);
  } else if ((match = DATE_MDY.exec(rest))) {
    parsed.days = civilDays(year(match[3], bc), Number(match[1]), Number(match[2]), bc, input);
  } else if ((match = DATE_COMPACT.exec(rest))) {
    parsed.days = civilDays(Number(match[1]), Number(match[2]), Number(match[3]), bc, input);
  }
  if (match) rest = rest.slice(match[0].length).replace(/^(\s+|T(?=\d))/, '');
  if ((match = TIME.exec(rest))) {
    const [, h, m, s, fraction] = match;
    const hours = Number(h);
    const minutes = Number(m);
    const seconds = Number(s ?? 0);
    const micros = fractionMicros(fraction);
    const total = ((hours * 60 + minutes) * 60 + seconds) * MICROS_PER_SECOND + micros;
    if (minutes > 59 || seconds > 60 || total > MICROS_PER_DAY) throw outOfRange(input);
    parsed.timeMicros = total;
    rest = rest.slice(match[0].length).trimStart();
  }
  if (rest.length > 0) {
    if (parsed.days === undefined && parsed.timeMicros === undefined) throw badFormat(kind, input);
    if ((match = OFFSET.exec(rest)) && match[0].length === rest.length) {
      const [, sign, h, m, s] = match;
      const seconds = Number(h) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
      if (Number(h) > 15 || Number(m ?? 0) > 59 || Number(s ?? 0) > 59) {
        throw new DateTimeInputError(`time zone displacement out of range: "${input}"`, '22009');
      }
      parsed.offset = sign === '-' ? -seconds : seconds;
    } else if (/^(z|utc|gmt|zulu)$/i.test(rest)) {
      parsed.offset = 0;
    } else if (/^[A-Za-z][A-Za-z0-9_/+-]*$/.test(rest)) {
      try {
        timeZone(rest);
      } catch {
        throw new DateTimeInputError(`time zone "${rest.toLowerCase()}" not recognized`, '22023');
      }
      parsed.zone = rest;
    } else throw badFormat(kind, input);
  }
  const hasDate = parsed.days !== undefined;
  const hasTime = parsed.timeMicros !== undefined;
  const isTimeOfDay = kind === 'time' || kind === 'time with time zone';
  if (isTimeOfDay ? !hasTime : !hasDate) throw badFormat(kind, input);
  if (bc && !hasDate) throw badFormat(kind, input);
  return parsed;
}

/** A year of one or two digits is 1970…2069, as PostgreSQL reads two-digit years (not in BC dates). */
function year(digits: string, bc: boolean): number {
  const y = Number(digits);
  if (digits.length > 2 || bc) return y;
  return y < 70 ? y + 2000 : y + 1900;
}

function civilDays(year: number, month: number, day: number, bc: boolean, input: string): number {
  if (year === 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(bc ? 1 - year : year, month)) {
    throw outOfRange(input);
  }
  return daysFromCivil(bc ? 1 - year : year, month, day);
}

/** Micros of a fraction's digits, rounded to the microsecond as PostgreSQL does. */
function fractionMicros(fraction: string | undefined): number {
  if (!fraction) return 0;
  return Math.round(Number('0.' + fraction) * MICROS_PER_SECOND);
}

/** Days since 1970-01-01, or ±Infinity. */
export function parseDate(input: string): number {
  const p = parse(input, 'date');
  if (p.special) return p.special === 'epoch' ? 0 : p.special === 'infinity' ? Infinity : -Infinity;
  return p.days!;
}

/** Micros since midnight. */
export function parseTime(input: string): number {
  const p = parse(input, 'time');
  if (p.special) throw badFormat('time', input);
  return p.timeMicros!;
}

/** Micros since midnight and seconds east of UTC; a missing offset is the session zone's now. */
export function parseTimeTz(input: string, sessionZone: string): { micros: number; offset: number } {
  const p = parse(input, 'time with time zone');
  if (p.special) throw badFormat('time with time zone', input);
  const offset = p.offset ?? timeZone(p.zone ?? sessionZone).offsetAt(Math.floor(Date.now() / 1000));
  return { micros: p.timeMicros!, offset };
}

/** Local micros since 1970-01-01 (an offset in the input is ignored, as PostgreSQL does), or ±Infinity. */
export function parseTimestamp(input: string): bigint | number {
  const p = parse(input, 'timestamp');
  if (p.special) return p.special === 'epoch' ? 0n : p.special === 'infinity' ? Infinity : -Infinity;
  return BigInt(p.days!) * BigInt(MICROS_PER_DAY) + BigInt(p.timeMicros ?? 0);
}

/** UTC micros since 1970-01-01, or ±Infinity; without an offset the time is local to the session zone. */
export function parseTimestampTz(input: string, sessionZone: string): bigint | number {
  const p = parse(input, 'timestamp with time zone');
  if (p.special) return p.special === 'epoch' ? 0n : p.special === 'infinity' ? Infinity : -Infinity;
  const time = p.timeMicros ?? 0;
  const localSeconds = p.days! * SECONDS_PER_DAY + Math.floor(time / MICROS_PER_SECOND);
  const utcSeconds = p.offset !== undefined
    ? localSeconds - p.offset
    : localToUtc(timeZone(p.zone ?? sessionZone), localSeconds);
  return BigInt(utcSeconds) * BigInt(MICROS_PER_SECOND) + BigInt(time % MICROS_PER_SECOND);
}
