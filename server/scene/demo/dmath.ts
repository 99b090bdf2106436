// Deterministic elementary functions. ECMAScript leaves Math.sin/cos/exp/log implementation-
// defined; these use only + - * / and Math.sqrt / Math.round (exactly specified by IEEE 754 and
// ECMAScript; constant expressions like 1 / 6 are correctly rounded divisions), so the demo scene
// is byte-identical on every machine and engine version. Accuracy: within ~2 ulp of Math.* over
// the ranges the generator uses.

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700;
const PIO2_HI = 1.57079632673412561417;
const PIO2_LO = 6.07710050650619224932e-11;
const INV_PIO2 = 6.36619772367581382433e-1;
const SQRT2 = 1.4142135623730951;

// Bit access to a float64. The word order depends on the platform's endianness, which we detect;
// the values read and written are the same everywhere.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** 2^k for an integer k. */
function pow2(k: number): number {
  if (k < -1022) return 0;
  if (k > 1023) return Infinity;
  u32[HI] = (k + 1023) << 20;
  u32[LO] = 0;
  return f64[0]!;
}

// Taylor coefficients.
const E2 = 1 / 2, E3 = 1 / 6, E4 = 1 / 24, E5 = 1 / 120, E6 = 1 / 720, E7 = 1 / 5040, E8 = 1 / 40320;
const E9 = 1 / 362880, E10 = 1 / 3628800, E11 = 1 / 39916800, E12 = 1 / 479001600, E13 = 1 / 6227020800, E14 = 1 / 87178291200;

export function dexp(x: number): number {
  if (x !== x) return NaN;
  if (x > 709.7) return Infinity;
  if (x < -745) return 0;
  const k = Math.round(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO; // |r| <= 0.35
  const p = E2 + r * (E3 + r * (E4 + r * (E5 + r * (E6 + r * (E7 + r * (E8 + r * (E9 + r * (E10 + r * (E11 + r * (E12 + r * (E13 + r * E14)))))))))));
  return (1 + r + r * r * p) * pow2(k);
}

export function dlog(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return Infinity;
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54
    e = -54;
  }
  f64[0] = x;
  const hi = u32[HI]!;
  e += ((hi >>> 20) & 0x7ff) - 1023;
  u32[HI] = (hi & 0x800fffff) | 0x3ff00000;
  let m = f64[0]!; // [1, 2)
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1) / (m + 1); // |s| <= 0.1716
  const z = s * s;
  const p = z * (1 / 3 + z * (1 / 5 + z * (1 / 7 + z * (1 / 9 + z * (1 / 11 + z * (1 / 13 + z * (1 / 15 + z * (1 / 17 + z * (1 / 19 + z * (1 / 21 + z * (1 / 23)))))))))));
  return e * LN2_HI + (2 * s + 2 * s * p + e * LN2_LO);
}

function sinPoly(r: number): number {
  const z = r * r;
  return r + r * z * (-E3 + z * (E5 + z * (-E7 + z * (E9 + z * (-E11 + z * (E13 + z * (-1 / 1307674368000 + z * (1 / 355687428096000 + z * (-1 / 121645100408832000)))))))));
}
function cosPoly(r: number): number {
  const z = r * r;
  return 1 - z * E2 + z * z * (E4 + z * (-E6 + z * (E8 + z * (-E10 + z * (E12 + z * (-E14 + z * (1 / 20922789888000 + z * (-1 / 6402373705728000 + z * (1 / 2432902008176640000)))))))));
}

export function dsin(x: number): number {
  const k = Math.round(x * INV_PIO2);
  const r = x - k * PIO2_HI - k * PIO2_LO;
  const q = k & 3; // two's complement: also right for negative k
  if (q === 0) return sinPoly(r);
  if (q === 1) return cosPoly(r);
  if (q === 2) return -sinPoly(r);
  return -cosPoly(r);
}

export function dcos(x: number): number {
  const k = Math.round(x * INV_PIO2);
  const r = x - k * PIO2_HI - k * PIO2_LO;
  const q = k & 3;
  if (q === 0) return cosPoly(r);
  if (q === 1) return -sinPoly(r);
  if (q === 2) return -cosPoly(r);
  return sinPoly(r);
}

export function dtan(x: number): number {
  return dsin(x) / dcos(x);
}

/** atan for any x (argument halving three times, then the Taylor series on |y| < 0.1). */
export function datan(x: number): number {
  if (x !== x) return NaN;
  if (x === Infinity) return Math.PI / 2;
  if (x === -Infinity) return -Math.PI / 2;
  let y = x;
  // atan(y) = 2 atan(y / (1 + sqrt(1 + y^2))).
  for (let i = 0; i < 3; i++) y = y / (1 + Math.sqrt(1 + y * y));
  const z = y * y;
  const p = z * (1 / 3 - z * (1 / 5 - z * (1 / 7 - z * (1 / 9 - z * (1 / 11 - z * (1 / 13 - z * (1 / 15 - z * (1 / 17 - z * (1 / 19)))))))));
  return 8 * (y - y * p);
}

export function datan2(y: number, x: number): number {
  if (x > 0) return datan(y / x);
  if (x < 0) return y >= 0 ? datan(y / x) + Math.PI : datan(y / x) - Math.PI;
  return y > 0 ? Math.PI / 2 : y < 0 ? -Math.PI / 2 : 0;
}
