// float4/float8 text output as PostgreSQL 15 prints it. With
// extra_float_digits > 0 it prints the shortest decimal that reads back to the
// same value (its Ryu port), switching to exponent form outside a fixed range;
// otherwise printf's %.{FLT_DIG|DBL_DIG + extra_float_digits}g.

/** Shortest-round-trip float8 text. */
export function float8Shortest(v: number): string {
  if (v !== v) return 'NaN';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  // toExponential() without digits gives the shortest round-trip digits, closest to v.
  const s = v.toExponential();
  const e = s.indexOf('e');
  const negative = v < 0;
  const digits = negative ? s.slice(1, e).replace('.', '') : s.slice(0, e).replace('.', '');
  return layoutShortest(negative, digits, Number(s.slice(e + 1)), 15);
}

/** Shortest-round-trip float4 text; v is the float32 value widened to a double. */
export function float4Shortest(v: number): string {
  if (v !== v) return 'NaN';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  const negative = v < 0;
  const abs = Math.abs(v);
  for (let precision = 1; precision < 9; precision++) {
    const s = abs.toExponential(precision - 1);
    const e = s.indexOf('e');
    const exponent = Number(s.slice(e + 1));
    const digits = s.slice(0, e).replace('.', '');
    if (Math.fround(Number(s)) === abs) return layoutShortest(negative, digits, exponent, 6);
    // Next to a power of two the round-trip interval is lopsided, and a
    // neighbour of the correctly rounded digits may read back when they do not.
    for (const step of [1n, -1n]) {
      const neighbour = (BigInt(digits) + step).toString();
      if (neighbour.length !== precision) continue;
      if (Math.fround(Number(`${neighbour}e${exponent - precision + 1}`)) === abs) {
        return layoutShortest(negative, neighbour, exponent, 6);
      }
    }
  }
  const s = abs.toExponential(8);
  const e = s.indexOf('e');
  return layoutShortest(negative, s.slice(0, e).replace('.', '').replace(/0+$/, ''), Number(s.slice(e + 1)), 6);
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
  const abs = Math.abs(v);
  let s = abs.toExponential(precision - 1);
  // toExponential rounds exact ties up; printf rounds them to even.
  if (isExactTie(abs, precision)) {
    const e = abs.toExponential(precision);
    const i = e.indexOf('e');
    const kept = e.slice(0, i - 1).replace('.', '');
    if ((kept.charCodeAt(kept.length - 1) - 48) % 2 === 0) {
      s = (kept.length > 1 ? kept[0] + '.' + kept.slice(1) : kept) + e.slice(i);
    }
  }
  const i = s.indexOf('e');
  const exponent = Number(s.slice(i + 1));
  const digits = s.slice(0, i).replace('.', '').replace(/0+$/, '') || '0';
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= precision) return sign + exponential(digits, exponent);
  return sign + fixed(digits, exponent);
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
