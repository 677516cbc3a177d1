/**
 * PostgreSQL's input functions for the simplest column types, in JS, for
 * inserts that are acknowledged before DuckDB sees them. Strict on purpose:
 * `undefined` means "not sure", and the statement then takes the general
 * path, where DuckDB converts the value and a bad one gets PostgreSQL's error.
 */

/** A column value as the WAL holds it: number, bigint (int8), boolean or string. */
export type InputValue = number | bigint | boolean | string;

const INTEGER = /^\s*[+-]?\d+\s*$/;
const FLOAT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const TRUE_WORDS = new Set(['t', 'true', 'y', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['f', 'false', 'n', 'no', 'off', '0']);

const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  SMALLINT: [-32768n, 32767n],
  INTEGER: [-2147483648n, 2147483647n],
  BIGINT: [-9223372036854775808n, 9223372036854775807n],
};

/** The types this module reads; a value of any other type takes the general path. */
export function readsType(type: string): boolean {
  return type in INTEGER_RANGES || type === 'FLOAT' || type === 'DOUBLE' || type === 'VARCHAR' || type === 'BOOLEAN';
}

/** `text` read as a value of the DuckDB column type `type`, as PostgreSQL's input function would; undefined when not sure. */
export function readInput(type: string, text: string): InputValue | undefined {
  const range = INTEGER_RANGES[type];
  if (range) {
    if (!INTEGER.test(text)) return undefined;
    const value = BigInt(text.trim());
    if (value < range[0] || value > range[1]) return undefined;
    return type === 'BIGINT' ? value : Number(value);
  }
  switch (type) {
    case 'DOUBLE':
    case 'FLOAT': {
      if (!FLOAT.test(text)) return undefined;
      const parsed = Number(text.trim());
      const value = type === 'FLOAT' ? Math.fround(parsed) : parsed;
      // Overflow and underflow are errors in PostgreSQL: let DuckDB's path report them.
      if (!Number.isFinite(value)) return undefined;
      if (value === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ''))) return undefined;
      return value;
    }
    case 'VARCHAR':
      // NUL and U+FFFD (invalid UTF-8 on the wire) are PostgreSQL errors.
      return text.includes('\0') || text.includes('\uFFFD') ? undefined : text;
    case 'BOOLEAN': {
      const word = text.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return undefined;
    }
    default:
      return undefined;
  }
}
