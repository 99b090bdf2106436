// Synthetic distilled semantic features (D = 64). Each part has a unit prototype direction;
// prototypes share a common component (and the figure's parts a second, "person" component), so
// pairwise prototype cosines sit around 0.25-0.45 as distilled DINO features do. A Gaussian's
// feature = blend of its part's prototype with a touching part's near joints and contacts
// + a smooth spatially varying per-part field + per-Gaussian noise (heavier for a few outliers),
// times a random magnitude.
import { dsin } from './dmath';
import { JOINTS, PART } from './layout';
import type { Rng } from './prng';

export const FEATURE_DIM = 64;

const FIGURE_PARTS: readonly number[] = [PART.torso, PART.head, PART.leftArm, PART.rightArm, PART.leftLeg, PART.rightLeg];

/** Gram–Schmidt on random vectors: `count` orthonormal vectors in R^dim. */
function orthonormal(rng: Rng, count: number, dim: number): number[][] {
  const out: number[][] = [];
  while (out.length < count) {
    const v = rng.unitVector(dim);
    for (const u of out) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += v[j]! * u[j]!;
      for (let j = 0; j < dim; j++) v[j] = v[j]! - d * u[j]!;
    }
    let n2 = 0;
    for (let j = 0; j < dim; j++) n2 += v[j]! * v[j]!;
    if (n2 < 1e-6) continue;
    const inv = 1 / Math.sqrt(n2);
    out.push(v.map((x) => x * inv));
  }
  return out;
}

export function makePrototypes(rng: Rng, partCount: number, dim: number): number[][] {
  const basis = orthonormal(rng, partCount + 2, dim);
  const common = basis[0]!;
  const person = basis[1]!;
  return Array.from({ length: partCount }, (_, k) => {
    const own = basis[k + 2]!;
    const a = 0.56 + rng.uniform(-0.05, 0.05);
    const g = FIGURE_PARTS.includes(k) ? 0.4 + rng.uniform(-0.05, 0.05) : 0;
    const v = own.map((o, j) => a * common[j]! + g * person[j]! + Math.sqrt(Math.max(0.05, 1 - a * a - g * g)) * o);
    let n2 = 0;
    for (const x of v) n2 += x * x;
    return v.map((x) => x / Math.sqrt(n2));
  });
}

/** Per-Gaussian partner part and blend weight in [0, 0.5] from the joints/contacts of layout.ts. */
export function boundaryBlend(positions: Float32Array, partIds: Uint8Array): { partner: Uint8Array; beta: Float32Array } {
  const N = partIds.length;
  const partner = new Uint8Array(N);
  const beta = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const p = partIds[i]!;
    partner[i] = p;
    const x = positions[i * 3]!, y = positions[i * 3 + 1]!, z = positions[i * 3 + 2]!;
    for (const j of JOINTS) {
      if (j.a !== p && j.b !== p) continue;
      const dx = x - j.p[0], dy = y - j.p[1], dz = z - j.p[2];
      const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
      if (d >= j.r) continue;
      const w = 0.5 * (1 - d / j.r);
      if (w > beta[i]!) {
        beta[i] = w;
        partner[i] = j.a === p ? j.b : j.a;
      }
    }
  }
  return { partner, beta };
}

export function buildFeatures(rng: Rng, positions: Float32Array, partIds: Uint8Array, partCount: number, dim = FEATURE_DIM): Float32Array {
  const N = partIds.length;
  const protos = makePrototypes(rng, partCount, dim);
  // Smooth within-part variation: WAVES plane waves, each along its own random feature direction.
  const WAVES = 6;
  const AMP = 0.45;
  // Per part and wave: wave vector (3), phase (1), then the wave's feature direction (dim).
  const stride = 4 + dim;
  const fields = new Float64Array(partCount * WAVES * stride);
  for (let p = 0; p < partCount; p++) {
    for (let w = 0; w < WAVES; w++) {
      const o = (p * WAVES + w) * stride;
      const f = rng.uniform(1.5, 6);
      const d = rng.unitVector(3);
      for (let c = 0; c < 3; c++) fields[o + c] = d[c]! * f;
      fields[o + 3] = rng.uniform(0, 2 * Math.PI);
      const e = rng.unitVector(dim);
      for (let j = 0; j < dim; j++) fields[o + 4 + j] = (e[j]! * AMP) / Math.sqrt(WAVES / 2);
    }
  }
  const P = new Float64Array(partCount * dim);
  protos.forEach((v, p) => P.set(v, p * dim));
  const { partner, beta } = boundaryBlend(positions, partIds);
  const out = new Float32Array(N * dim);
  const f = new Float64Array(dim);
  for (let i = 0; i < N; i++) {
    const p = partIds[i]!;
    const oa = p * dim;
    const ob = partner[i]! * dim;
    const b = beta[i]!;
    for (let j = 0; j < dim; j++) f[j] = (1 - b) * P[oa + j]! + b * P[ob + j]!;
    const x = positions[i * 3]!, y = positions[i * 3 + 1]!, z = positions[i * 3 + 2]!;
    for (let w = 0; w < WAVES; w++) {
      const o = (p * WAVES + w) * stride;
      const s = dsin(fields[o]! * x + fields[o + 1]! * y + fields[o + 2]! * z + fields[o + 3]!);
      for (let j = 0; j < dim; j++) f[j] = f[j]! + s * fields[o + 4 + j]!;
    }
    const sigma = rng.next() < 0.05 ? 0.24 : 0.1;
    const mag = rng.uniform(0.7, 1.3);
    for (let j = 0; j < dim; j++) out[i * dim + j] = mag * (f[j]! + sigma * rng.normal());
  }
  return out;
}
