// Seeded pseudo-random numbers for the demo scene: sfc32 seeded through splitmix32, Box–Muller
// normals on top. Only 32-bit integer arithmetic and dmath.ts, so every machine draws the same
// sequence for the same seed.
import { dlog } from './dmath';

/** Murmur3's 32-bit finalizer: a well-mixed hash of one 32-bit word. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seed for an independent stream (one per scene component), from the scene seed and a name. */
export function streamSeed(seed: number, stream: string): number {
  let h = fmix32((Math.floor(seed) >>> 0) ^ 0x9e3779b9);
  for (let i = 0; i < stream.length; i++) h = fmix32(h ^ Math.imul(stream.charCodeAt(i) + 1, 0x27d4eb2f));
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      return fmix32(s);
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer (sfc32). */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in the open interval (0, 1). */
  next(): number {
    return (this.u32() + 0.5) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller in Marsaglia's polar form; the pair's second value is kept). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1);
    const m = Math.sqrt((-2 * dlog(s)) / s);
    this.spare = v * m;
    this.hasSpare = true;
    return u * m;
  }

  /** A uniformly random unit vector in R^dim. */
  unitVector(dim: number): number[] {
    const v: number[] = [];
    let n2 = 0;
    for (let i = 0; i < dim; i++) {
      const x = this.normal();
      v.push(x);
      n2 += x * x;
    }
    const inv = 1 / Math.sqrt(n2);
    return v.map((x) => x * inv);
  }
}
