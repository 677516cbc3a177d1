// float4/float8 text output as PostgreSQL 15 prints it. With
// extra_float_digits > 0 it prints the shortest decimal that reads back to the
// same value (its Ryu port), switching to exponent form outside a fixed range;
// otherwise printf's %.{FLT_DIG|DBL_DIG + extra_float_digits}g.

/** Shortest-round-trip float8 text. */
export function float8Shortest(v: number): string {
  const abs = Math.abs(v);
  // Where both print fixed notation, JavaScript's shortest digits are PostgreSQL's text.
  if (abs >= 1e-4 && abs < 1e15) return String(v);
  if (v !== v) return 'NaN';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  // toExponential() without digits gives the shortest round-trip digits, closest to v.
  let s = abs.toExponential();
  if (abs >= 2 ** 53 && onBoundary(s, abs, 52)) s = longerNotOnBoundary(abs, s, 52, (x) => x);
  const e = s.indexOf('e');
  return layoutShortest(v < 0, s.slice(0, e).replace('.', ''), Number(s.slice(e + 1)), 15);
}

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/** Shortest-round-trip float4 text; v is the float32 value widened to a double. */
export function float4Shortest(v: number): string {
  if (v !== v) return 'NaN';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  const abs = Math.abs(v);
  float32[0] = abs;
  // Only at a power of two is the round-trip interval lopsided (see shortestNearPowerOfTwo).
  if ((float32Bits[0] & 0x7fffff) === 0) return shortestNearPowerOfTwo(v < 0, abs);
  // The correctly rounded p digits read back for every p from the shortest on: binary search.
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(abs.toExponential(mid - 1))) === abs) hi = mid;
    else lo = mid + 1;
  }
  let s = toExponentialEven(abs, lo);
  if (abs >= 2 ** 24 && onBoundary(s, abs, 23)) s = longerNotOnBoundary(abs, s, 23, Math.fround);
  const e = s.indexOf('e');
  return layoutShortest(v < 0, s.slice(0, e).replace('.', ''), Number(s.slice(e + 1)), 6);
}

/**
 * Whether the decimal s lies exactly halfway between the integer abs (at
 * least 2^(mantissaBits+1), so the halfway points are integers) and its
 * neighbouring float. JavaScript's parser rounds such a tie to abs when abs
 * is even, but PostgreSQL's Ryu keeps the interval open and prints more digits.
 */
function onBoundary(s: string, abs: number, mantissaBits: number): boolean {
  const e = s.indexOf('e');
  const digits = s.slice(0, e).replace('.', '');
  const shift = Number(s.slice(e + 1)) - digits.length + 1;
  if (shift < 0) return false;
  const candidate = BigInt(digits) * 10n ** BigInt(shift);
  const value = BigInt(abs);
  const ulp = 1n << BigInt(Math.max(0, value.toString(2).length - 1 - mantissaBits));
  // Just below a power of two the floats are twice as dense.
  const below = (value & (value - 1n)) === 0n ? ulp / 2n : ulp;
  return candidate * 2n === value * 2n + ulp || candidate * 2n === value * 2n - below;
}

/** The shortest correctly rounded digits of abs, longer than s, that read back and are not on a boundary. */
function longerNotOnBoundary(abs: number, s: string, mantissaBits: number, round: (x: number) => number): string {
  const length = s.slice(0, s.indexOf('e')).replace('.', '').length;
  for (let precision = length + 1; precision < 17; precision++) {
    const longer = toExponentialEven(abs, precision);
    if (round(Number(longer)) === abs && !onBoundary(longer, abs, mantissaBits)) return longer.replace(/\.?0+e/, 'e');
  }
  return abs.toExponential(16).replace(/\.?0+e/, 'e');
}

/**
 * Below a power of two the neighbouring float is half as far as above it, so
 * a neighbour of the correctly rounded digits may read back when they do not.
 */
function shortestNearPowerOfTwo(negative: boolean, abs: number): string {
  for (let precision = 1; precision <= 9; precision++) {
    const s = abs.toExponential(precision - 1);
    const e = s.indexOf('e');
    const exponent = Number(s.slice(e + 1));
    const digits = s.slice(0, e).replace('.', '');
    if (Math.fround(Number(s)) === abs) return layoutShortest(negative, digits, exponent, 6);
    for (const step of [1n, -1n]) {
      const neighbour = (BigInt(digits) + step).toString();
      if (neighbour.length !== precision) continue;
      if (Math.fround(Number(`${neighbour}e${exponent - precision + 1}`)) === abs) {
        return layoutShortest(negative, neighbour, exponent, 6);
      }
    }
  }
  throw new Error(`no shortest form found for float4 ${abs}`);
}

/**
 * Places shortest digits (no trailing zeros) whose first digit has decimal
 * exponent `exponent`: fixed notation for -4 <= exponent < fixedLimit, else
 * d.ddde±XX, as PostgreSQL's ryu output does.
 */
function layoutShortest(negative: boolean, digits: string, exponent: number, fixedLimit: number): string {
  const sign = negative ? '-' : '';
  if (exponent >= -4 && exponent < fixedLimit) return sign + fixed(digits, exponent);
  return sign + exponential(digits, exponent);
}

function fixed(digits: string, exponent: number): string {
  if (exponent < 0) return '0.' + '0'.repeat(-exponent - 1) + digits;
  const intLength = exponent + 1;
  if (digits.length <= intLength) return digits + '0'.repeat(intLength - digits.length);
  return digits.slice(0, intLength) + '.' + digits.slice(intLength);
}

function exponential(digits: string, exponent: number): string {
  const mantissa = digits.length === 1 ? digits : digits[0] + '.' + digits.slice(1);
  const abs = Math.abs(exponent);
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
}

/** printf("%.{precision}g") of v, rounding the exact binary value half to even as glibc does. */
export function formatG(v: number, precision: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const negative = v < 0;
  const s = toExponentialEven(Math.abs(v), precision);
  const i = s.indexOf('e');
  const exponent = Number(s.slice(i + 1));
  const digits = s.slice(0, i).replace('.', '').replace(/0+$/, '') || '0';
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= precision) return sign + exponential(digits, exponent);
  return sign + fixed(digits, exponent);
}

/** v.toExponential(precision - 1), but an exact tie rounds to even (as printf and Ryu do) rather than up. */
function toExponentialEven(v: number, precision: number): string {
  const s = v.toExponential(precision - 1);
  if (!isExactTie(v, precision)) return s;
  const longer = v.toExponential(precision);
  const i = longer.indexOf('e');
  const kept = longer.slice(0, i - 1).replace('.', '');
  if ((kept.charCodeAt(kept.length - 1) - 48) % 2 !== 0) return s;
  return (kept.length > 1 ? kept[0] + '.' + kept.slice(1) : kept) + longer.slice(i);
}

/** Whether v lies exactly halfway between two `precision`-digit decimals. */
function isExactTie(v: number, precision: number): boolean {
  const s = v.toExponential(precision);
  const i = s.indexOf('e');
  if (s.charCodeAt(i - 1) !== 53 /* '5' */) return false;
  // Exact comparison of v with the (precision+1)-digit decimal: D·10^E == M·2^F.
  const digits = BigInt(s.slice(0, i).replace('.', ''));
  const decimalExponent = Number(s.slice(i + 1)) - precision;
  const [mantissa, binaryExponent] = decompose(v);
  let left = digits;
  let right = mantissa;
  if (decimalExponent >= 0) left *= 10n ** BigInt(decimalExponent);
  else right *= 10n ** BigInt(-decimalExponent);
  if (binaryExponent >= 0) right <<= BigInt(binaryExponent);
  else left <<= BigInt(-binaryExponent);
  return left === right;
}

/** v = mantissa · 2^exponent with an integer mantissa, for a finite positive double. */
function decompose(v: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  return biased === 0 ? [fraction, -1074] : [fraction | (1n << 52n), biased - 1075];
}
