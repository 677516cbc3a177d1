// Calendar arithmetic and the pieces of PostgreSQL's ISO date/time output
// (DateStyle 'ISO'), shared by the text encoder and the parameter decoder.
// Days count from 1970-01-01 as DuckDB's do; years are astronomical (0 is 1 BC).

export const SECONDS_PER_DAY = 86_400;
export const MICROS_PER_SECOND = 1_000_000;
export const MICROS_PER_DAY = 86_400_000_000;
/** 2000-01-01, PostgreSQL's epoch, in days since 1970-01-01. */
export const PG_EPOCH_DAYS = 10_957;
export const PG_EPOCH_MICROS = 946_684_800_000_000n;

/** '00'…'99', so the hot path formats two-digit fields without padding calls. */
export const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);

/** Proleptic Gregorian date of a day number (H. Hinnant's civil_from_days). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Day number of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** 'YYYY-MM-DD' and whether it is BC (year <= 0 prints as 1 - year with a ' BC' suffix). */
export function formatDate(days: number): { text: string; bc: boolean } {
  const { year, month, day } = civilFromDays(days);
  const bc = year <= 0;
  const y = bc ? 1 - year : year;
  const yearText = y < 1000 ? String(y).padStart(4, '0') : String(y);
  return { text: `${yearText}-${PAD2[month]}-${PAD2[day]}`, bc };
}

/** 'HH:MM:SS' plus '.ffffff' without trailing zeros, for micros within a day (24:00:00 allowed). */
export function formatTimeOfDay(micros: number): string {
  const seconds = Math.floor(micros / MICROS_PER_SECOND);
  const fraction = micros - seconds * MICROS_PER_SECOND;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor(seconds / 60) % 60;
  const text = `${PAD2[h] ?? String(h)}:${PAD2[m]}:${PAD2[seconds % 60]}`;
  return fraction === 0 ? text : text + formatFraction(fraction);
}

/** '.ffffff' of 1…999999 micros, trailing zeros dropped, as PostgreSQL's AppendSeconds. */
export function formatFraction(micros: number): string {
  let digits = String(micros).padStart(6, '0');
  let end = 6;
  while (digits.charCodeAt(end - 1) === 48) end--;
  if (end < 6) digits = digits.slice(0, end);
  return '.' + digits;
}

/** A UTC offset in seconds east as PostgreSQL prints it: '+01', '+05:30', '-03:30:52'. */
export function formatOffset(offsetSeconds: number): string {
  const abs = Math.abs(offsetSeconds);
  const h = Math.floor(abs / 3600);
  const m = Math.floor(abs / 60) % 60;
  const s = abs % 60;
  let text = (offsetSeconds < 0 ? '-' : '+') + (PAD2[h] ?? String(h));
  if (s !== 0) text += `:${PAD2[m]}:${PAD2[s]}`;
  else if (m !== 0) text += `:${PAD2[m]}`;
  return text;
}

const MAX_SAFE_MICROS = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Splits epoch micros into days and micros of the day. Numbers are exact to
 * 2^53 µs (±285 years around 1970); beyond that the split is done in BigInt.
 */
export function splitMicros(micros: bigint): { days: number; timeMicros: number } {
  if (micros <= MAX_SAFE_MICROS && micros >= -MAX_SAFE_MICROS) {
    const n = Number(micros);
    const days = Math.floor(n / MICROS_PER_DAY);
    return { days, timeMicros: n - days * MICROS_PER_DAY };
  }
  const perDay = BigInt(MICROS_PER_DAY);
  let days = micros / perDay;
  let rest = micros - days * perDay;
  if (rest < 0n) {
    days -= 1n;
    rest += perDay;
  }
  return { days: Number(days), timeMicros: Number(rest) };
}
