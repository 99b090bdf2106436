// Deterministic elementary functions. ECMAScript leaves Math.sin/cos/exp/log implementation-
// defined; these use only + - * / and Math.sqrt / Math.round / Math.floor (exactly specified by
// IEEE 754), so the demo scene is byte-identical on every machine and engine version.
// Accuracy is a few ulps over the ranges the generator uses, which is all it needs.

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700;
const PIO2_HI = 1.57079632673412561417;
const PIO2_LO = 6.07710050650619224932e-11;
const INV_PIO2 = 6.36619772367581382433e-1;

const buf = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in the normal range. */
function pow2(k: number): number {
  if (k < -1022) return 0;
  if (k > 1023) return Infinity;
  buf.setUint32(0, (k + 1023) << 20);
  buf.setUint32(4, 0);
  return buf.getFloat64(0);
}

export function dexp(x: number): number {
  if (x !== x) return NaN;
  if (x > 709.7) return Infinity;
  if (x < -745) return 0;
  const k = Math.round(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO; // |r| <= 0.35
  let s = 1;
  for (let i = 14; i >= 1; i--) s = 1 + (s * r) / i;
  return s * pow2(k);
}

export function dlog(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return Infinity;
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54
    e = -54;
  }
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0);
  e += ((hi >>> 20) & 0x7ff) - 1023;
  buf.setUint32(0, (hi & 0x800fffff) | 0x3ff00000);
  let m = buf.getFloat64(0); // [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1) / (m + 1); // |s| <= 0.1716
  const s2 = s * s;
  let p = 0;
  for (let i = 23; i >= 3; i -= 2) p = (p + 1 / i) * s2;
  const lm = 2 * s + 2 * s * p;
  return e * LN2_HI + (lm + e * LN2_LO);
}

function sinPoly(r: number): number {
  const r2 = r * r;
  let s = 0;
  for (let i = 19; i >= 3; i -= 2) s = (1 - s) * (r2 / (i * (i - 1)));
  return r - r * s;
}
function cosPoly(r: number): number {
  const r2 = r * r;
  let s = 0;
  for (let i = 20; i >= 2; i -= 2) s = (1 - s) * (r2 / (i * (i - 1)));
  return 1 - s;
}

function reduce(x: number): { k: number; r: number } {
  const k = Math.round(x * INV_PIO2);
  return { k: ((k % 4) + 4) % 4, r: x - k * PIO2_HI - k * PIO2_LO };
}

export function dsin(x: number): number {
  const { k, r } = reduce(x);
  if (k === 0) return sinPoly(r);
  if (k === 1) return cosPoly(r);
  if (k === 2) return -sinPoly(r);
  return -cosPoly(r);
}

export function dcos(x: number): number {
  const { k, r } = reduce(x);
  if (k === 0) return cosPoly(r);
  if (k === 1) return -sinPoly(r);
  if (k === 2) return -cosPoly(r);
  return sinPoly(r);
}

export function dtan(x: number): number {
  return dsin(x) / dcos(x);
}

/** atan for any x (argument halving twice, then the Taylor series on |x| <= 0.2). */
export function datan(x: number): number {
  if (x !== x) return NaN;
  if (x === Infinity) return Math.PI / 2;
  if (x === -Infinity) return -Math.PI / 2;
  let y = x;
  // atan(y) = 2 atan(y / (1 + sqrt(1 + y^2))), applied three times: |y| < 0.2 for any input.
  for (let i = 0; i < 3; i++) y = y / (1 + Math.sqrt(1 + y * y));
  const y2 = y * y;
  let s = 0;
  for (let i = 29; i >= 3; i -= 2) s = (1 / i - s) * y2;
  return 8 * (y - y * s);
}

export function datan2(y: number, x: number): number {
  if (x > 0) return datan(y / x);
  if (x < 0) return y >= 0 ? datan(y / x) + Math.PI : datan(y / x) - Math.PI;
  return y > 0 ? Math.PI / 2 : y < 0 ? -Math.PI / 2 : 0;
}
