// Session TimeZone arithmetic: the UTC offset in force at an instant, and the
// instant a local wall-clock time means. IANA zones go through Intl (the tz
// database ICU ships); its answers are cached per day, since a formatToParts
// call costs microseconds and timestamptz output runs once per value.

import { SECONDS_PER_DAY, daysFromCivil } from './datetime.js';

export type TimeZone = {
  /** The name as given. */
  readonly name: string;
  /** Seconds east of UTC in force at the instant utcSeconds (seconds since 1970-01-01 UTC). */
  offsetAt(utcSeconds: number): number;
};

const zones = new Map<string, TimeZone>();

/**
 * Resolves a TimeZone setting as PostgreSQL accepts it: a zone name
 * ('UTC', 'Europe/Paris', 'america/new_york', 'EST5EDT'), a number of hours
 * with ISO sign ('+02', '-3.5'), or a POSIX offset with the POSIX sign, west
 * positive ('UTC+3' and '-03:30' are three hours behind resp. ahead of UTC).
 * Throws for names it does not know.
 */
export function timeZone(name: string): TimeZone {
  let zone = zones.get(name);
  if (!zone) {
    zone = makeZone(name);
    zones.set(name, zone);
  }
  return zone;
}

function makeZone(name: string): TimeZone {
  const trimmed = name.trim();
  // PostgreSQL first reads the setting as a number of hours (strtod).
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(trimmed)) {
    const hours = Number(trimmed);
    if (Math.abs(hours) <= 168) return fixedZone(name, Math.round(hours * 3600));
  }
  const posix = /^(?:<[^<>]*>|[A-Za-z]{3,})?([+-]?)(\d{1,3})(?::(\d{2}))?(?::(\d{2}))?$/.exec(trimmed);
  if (posix) {
    const [, sign, h, m, s] = posix;
    const west = Number(h) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
    if (Number(h) <= 167) return fixedZone(name, sign === '-' ? west : -west);
  }
  if (/^(utc|gmt|z|zulu|etc\/utc|etc\/gmt|uct|universal)$/i.test(trimmed)) return fixedZone(name, 0);
  return intlZone(name, trimmed);
}

function fixedZone(name: string, offset: number): TimeZone {
  return { name, offsetAt: () => offset };
}

/** Cache entries: a constant offset for the day, or [first second of the new offset, before, after]. */
type DayOffsets = number | readonly [number, number, number];
const MAX_CACHED_DAYS = 100_000;
// Date covers ±8.64e15 ms; instants beyond take the offset at its edge.
const MAX_DATE_SECONDS = 8.64e12;

function intlZone(name: string, id: string): TimeZone {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: id,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new Error(`time zone "${name}" not recognized`);
  }
  const exactOffset = (utcSeconds: number): number => {
    const t = Math.max(-MAX_DATE_SECONDS, Math.min(MAX_DATE_SECONDS, utcSeconds));
    let year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, bc = false;
    for (const part of format.formatToParts(t * 1000)) {
      switch (part.type) {
        case 'year': year = Number(part.value); break;
        case 'month': month = Number(part.value); break;
        case 'day': day = Number(part.value); break;
        case 'hour': hour = Number(part.value); break;
        case 'minute': minute = Number(part.value); break;
        case 'second': second = Number(part.value); break;
        case 'era': bc = part.value === 'BC'; break;
      }
    }
    const local = daysFromCivil(bc ? 1 - year : year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    return local - t;
  };
  const cache = new Map<number, DayOffsets>();
  const dayOffsets = (dayNumber: number): DayOffsets => {
    const start = dayNumber * SECONDS_PER_DAY;
    const before = exactOffset(start);
    const after = exactOffset(start + SECONDS_PER_DAY - 1);
    if (before === after) return before;
    // One transition in the day (more never happen in the tz database): find its second.
    let lo = start;
    let hi = start + SECONDS_PER_DAY - 1;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (exactOffset(mid) === before) lo = mid;
      else hi = mid;
    }
    return [hi, before, after];
  };
  return {
    name,
    offsetAt(utcSeconds: number): number {
      const dayNumber = Math.floor(utcSeconds / SECONDS_PER_DAY);
      let entry = cache.get(dayNumber);
      if (entry === undefined) {
        if (cache.size >= MAX_CACHED_DAYS) cache.clear();
        entry = dayOffsets(dayNumber);
        cache.set(dayNumber, entry);
      }
      if (typeof entry === 'number') return entry;
      return utcSeconds < entry[0] ? entry[1] : entry[2];
    },
  };
}

/**
 * The UTC instant (seconds) of a local wall-clock time (seconds since
 * 1970-01-01 local). As in PostgreSQL, a time skipped by a forward
 * transition is read with the offset in force before it, and a time that
 * occurs twice is read with the offset in force after the transition.
 */
export function localToUtc(zone: TimeZone, localSeconds: number): number {
  const offsetBefore = zone.offsetAt(localSeconds - SECONDS_PER_DAY);
  const offsetAfter = zone.offsetAt(localSeconds + SECONDS_PER_DAY);
  const afterCandidate = localSeconds - offsetAfter;
  if (zone.offsetAt(afterCandidate) === offsetAfter) return afterCandidate;
  return localSeconds - offsetBefore;
}
