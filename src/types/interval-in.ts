// interval text input as PostgreSQL 15 reads it: postgres-style fields with
// units ('1 year 2 mons -3 days 04:05:06', '1.5 weeks', '3 hours ago', '@ 1
// day'), SQL-standard 'Y-M' and 'D H:M:S', bare numbers (seconds), and ISO
// 8601 designators ('P1Y2M3DT4H5M6.5S'). Fractions of a unit carry down to
// smaller units as PostgreSQL's AdjustFract* do.

import { DateTimeInputError } from './datetime-in.js';

export type IntervalParts = { months: number; days: number; micros: bigint };

type Unit = 'microsecond' | 'millisecond' | 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year' | 'decade' | 'century' | 'millennium';

const UNITS: Readonly<Record<string, Unit>> = {};
for (const [unit, spellings] of Object.entries({
  microsecond: 'microsecond microseconds microsecon us usec usecs',
  millisecond: 'millisecond milliseconds millisecon ms msec msecs',
  second: 'second seconds s sec secs',
  minute: 'minute minutes m min mins',
  hour: 'hour hours h hr hrs',
  day: 'day days d',
  week: 'week weeks w',
  month: 'month months mon mons',
  year: 'year years y yr yrs',
  decade: 'decade decades dec decs',
  century: 'century centuries c cent',
  millennium: 'millennium millennia mil mils',
})) {
  for (const spelling of spellings.split(' ')) (UNITS as Record<string, Unit>)[spelling] = unit as Unit;
}

const MICROS: Partial<Record<Unit, number>> = {
  microsecond: 1, millisecond: 1e3, second: 1e6, minute: 60e6, hour: 3600e6, day: 86_400e6,
};
const YEARS: Partial<Record<Unit, number>> = { year: 1, decade: 10, century: 100, millennium: 1000 };

class Accumulator {
  months = 0;
  days = 0;
  micros = 0n;

  /** AdjustFractMicroseconds: a fraction of `scale` micros, rounded half away from zero. */
  fractMicros(fraction: number, scale: number): void {
    if (fraction === 0) return;
    const f = fraction * scale;
    let whole = Math.trunc(f);
    const rest = f - whole;
    if (rest > 0.5) whole++;
    else if (rest < -0.5) whole--;
    this.micros += BigInt(whole);
  }

  /** AdjustFractDays: whole days of `fraction * scale`, the rest as micros. */
  fractDays(fraction: number, scale: number): void {
    if (fraction === 0) return;
    const f = fraction * scale;
    const whole = Math.trunc(f);
    this.days += whole;
    this.fractMicros(f - whole, 86_400e6);
  }

  add(unit: Unit, whole: number, fraction: number): void {
    const micros = MICROS[unit];
    const years = YEARS[unit];
    if (unit === 'day') {
      this.days += whole;
      this.fractMicros(fraction, 86_400e6);
    } else if (micros !== undefined) {
      this.micros += BigInt(whole) * BigInt(micros);
      this.fractMicros(fraction, micros);
    } else if (unit === 'week') {
      this.days += whole * 7;
      this.fractDays(fraction, 7);
    } else if (unit === 'month') {
      this.months += whole;
      this.fractDays(fraction, 30);
    } else {
      this.months += whole * 12 * years! + roundHalfEven(fraction * years! * 12);
    }
  }
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function bad(input: string): DateTimeInputError {
  return new DateTimeInputError(`invalid input syntax for type interval: "${input}"`, '22007');
}

function overflow(input: string): DateTimeInputError {
  return new DateTimeInputError(`interval field value out of range: "${input}"`, '22015');
}

/** Splits a decimal number into its integer part and the fraction of the same sign. */
function splitNumber(text: string): [number, number] {
  const value = Number(text);
  const whole = Math.trunc(value);
  return [whole, value - whole];
}

const TOKEN = /\s*(@|[+-]?(?:\d[\d:.\-]*|\.\d+)|[A-Za-z]+)/y;

export function parseInterval(input: string): IntervalParts {
  const text = input.trim();
  if (/^-?P/.test(text) && !/\s/.test(text)) return parseIso8601(text, input);
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(text);
    if (!match) throw bad(input);
    if (match[1] !== '@') tokens.push(match[1]);
    at = TOKEN.lastIndex;
  }
  if (tokens.length === 0) throw bad(input);
  const acc = new Accumulator();
  const seen = new Set<string>();
  let ago = false;
  // Read right to left so a unit is known before its number, as PostgreSQL does.
  let unit: Unit | undefined;
  let unitPending = false;
  const mark = (field: string) => {
    if (seen.has(field)) throw bad(input);
    seen.add(field);
  };
  for (let i = tokens.length - 1; i >= 0; i--) {
    const token = tokens[i];
    if (/^[A-Za-z]/.test(token)) {
      const word = token.toLowerCase();
      if (unitPending) throw bad(input);
      if (word === 'ago') {
        if (i !== tokens.length - 1) throw bad(input);
        ago = true;
        continue;
      }
      unit = UNITS[word];
      if (!unit) throw bad(input);
      unitPending = true;
      continue;
    }
    if (token.includes(':')) {
      const negative = token.startsWith('-');
      const micros = parseTimeField(token.replace(/^[+-]/, ''), input);
      acc.micros += negative ? -micros : micros;
      for (const field of ['hour', 'minute', 'second']) mark(field);
      unit = 'day';
      unitPending = false;
      continue;
    }
    const yearMonth = /^([+-]?)(\d+)-(\d+)$/.exec(token);
    if (yearMonth) {
      const [, sign, years, months] = yearMonth;
      if (Number(months) > 11) throw overflow(input);
      const total = Number(years) * 12 + Number(months);
      acc.months += sign === '-' ? -total : total;
      mark('year');
      mark('month');
      unit = 'month';
      unitPending = false;
      continue;
    }
    if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(token)) throw bad(input);
    const effective: Unit = unit ?? 'second';
    const [whole, fraction] = splitNumber(token);
    if (!Number.isSafeInteger(whole)) throw overflow(input);
    acc.add(effective, whole, fraction);
    mark(effective);
    // The unit stays for the number to the left (so a repeated one is rejected), except that
    // an unlabelled number left of hours is days.
    unit = effective === 'hour' ? 'day' : effective;
    unitPending = false;
  }
  if (unitPending || seen.size === 0) throw bad(input);
  return finish(acc, ago, input);
}

/** 'h:m', 'h:m:s[.f]', or 'm:s.f' (two fields with a fraction are minutes and seconds). */
function parseTimeField(token: string, input: string): bigint {
  const parts = token.split(':');
  if (parts.length > 3 || parts.some((p) => !/^(\d+(\.\d*)?|\.\d+)$/.test(p))) throw bad(input);
  let h = '0', m: string, s = '0';
  if (parts.length === 2 && parts[1].includes('.')) [m, s] = parts;
  else [h, m, s = '0'] = parts;
  if (h.includes('.') || m.includes('.')) throw bad(input);
  const [secondsWhole, secondsFraction] = splitNumber(s);
  if (Number(m) > 59 || secondsWhole > 59) throw overflow(input);
  return BigInt(h) * 3_600_000_000n + BigInt(m) * 60_000_000n + BigInt(secondsWhole) * 1_000_000n +
    BigInt(Math.round(secondsFraction * 1e6));
}

const ISO_FIELD = /(-?(?:\d+\.?\d*|\.\d+))([YMWDHS])/y;

function parseIso8601(text: string, input: string): IntervalParts {
  const acc = new Accumulator();
  let timePart = false;
  let at = 1;
  while (at < text.length) {
    if (text[at] === 'T') {
      if (timePart) throw bad(input);
      timePart = true;
      at++;
      continue;
    }
    ISO_FIELD.lastIndex = at;
    const match = ISO_FIELD.exec(text);
    if (!match) throw bad(input);
    at = ISO_FIELD.lastIndex;
    const [whole, fraction] = splitNumber(match[1]);
    const designator = match[2];
    const unit: Unit | undefined = timePart
      ? ({ H: 'hour', M: 'minute', S: 'second' } as const)[designator as 'H' | 'M' | 'S']
      : ({ Y: 'year', M: 'month', W: 'week', D: 'day' } as const)[designator as 'Y' | 'M' | 'W' | 'D'];
    if (!unit) throw bad(input);
    acc.add(unit, whole, fraction);
  }
  if (text.length < 2) throw bad(input);
  return finish(acc, false, input);
}

function finish(acc: Accumulator, negate: boolean, input: string): IntervalParts {
  const sign = negate ? -1 : 1;
  const months = acc.months * sign;
  const days = acc.days * sign;
  const micros = negate ? -acc.micros : acc.micros;
  const int32 = (n: number) => n >= -2_147_483_648 && n <= 2_147_483_647;
  if (!int32(months) || !int32(days) || micros > 9_223_372_036_854_775_807n || micros < -9_223_372_036_854_775_808n) {
    throw overflow(input);
  }
  return { months: months + 0, days: days + 0, micros };
}
