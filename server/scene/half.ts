// IEEE 754 binary16 <-> binary32 for bundle arrays. Node 20 has no Float16Array, and no
// maintained package does bulk conversion into preallocated typed arrays, so this is by hand:
// table-driven decode (65536-entry table, exact) and round-to-nearest-even encode.
// halfToFloat / floatToHalf go through the native addon (F16C, multi-threaded, bit-identical)
// when it is built and the array is large enough to pay for the call; the JS versions
// (halfToFloatJS / floatToHalfJS) are the fallback and the tests' oracle.
import { floatToHalf as nativeFloatToHalf, halfToFloat as nativeHalfToFloat, nativeAvailable } from '../../native/index';

/** Below this many values the JS loop is as fast as a call into the addon. */
const NATIVE_MIN = 4096;
let useNative: boolean | undefined;
function native(): boolean {
  useNative ??= nativeAvailable();
  return useNative;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

let decodeTable: Float32Array | null = null;
function table(): Float32Array {
  if (decodeTable) return decodeTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  decodeTable = t;
  return t;
}

export function halfToFloat(src: Uint16Array, dst?: Float32Array): Float32Array {
  if (src.length >= NATIVE_MIN && (dst === undefined || dst.length === src.length) && native()) {
    return nativeHalfToFloat(src, dst);
  }
  return halfToFloatJS(src, dst);
}

export function halfToFloatJS(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const t = table();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]!]!;
  return dst;
}

export function floatToHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent: still correct
  return sign | h;
}

export function floatToHalf(src: Float32Array, dst?: Uint16Array): Uint16Array {
  if (src.length >= NATIVE_MIN && (dst === undefined || dst.length === src.length) && native()) {
    return nativeFloatToHalf(src, dst);
  }
  return floatToHalfJS(src, dst);
}

export function floatToHalfJS(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = floatToHalfBits(src[i]!);
  return dst;
}
