// Surface samplers and the Gaussian builder. Every sampler places stratified (jittered-grid,
// Fibonacci or Vogel-spiral) points on a surface and hands each one, with its outward normal and
// local spacing h, to an `emit` callback; the builder turns that into a flat, surface-aligned
// Gaussian with raw parameters as a trained 3DGS model stores them.
import { dcos as cosD, dexp, dlog, dsin as sinD } from './dmath';
import { add, cross, length, normalize, perpendicular, quatFromColumns, scale, sub, type V3 } from './math3';
import type { Rng } from './prng';

/** `local` is shape-specific: rect (u, v, 0) in [0,1]²; disc (ρ/R, θ, 0); ellipsoid the unit-sphere
 *  point; frustum (θ, s, 0) with s in [0,1] from A to B. */
export type Emit = (p: V3, n: V3, h: number, local: V3) => void;

const GOLDEN_ANGLE = Math.PI * (3 - Math.sqrt(5));

export function sampleRect(rng: Rng, origin: V3, U: V3, V: V3, count: number, emit: Emit): void {
  const lu = length(U);
  const lv = length(V);
  const nu = Math.max(1, Math.round(Math.sqrt((count * lu) / lv)));
  const nv = Math.max(1, Math.round(count / nu));
  const n = normalize(cross(U, V));
  const h = Math.sqrt((lu * lv) / (nu * nv));
  for (let j = 0; j < nv; j++) {
    for (let i = 0; i < nu; i++) {
      const u = (i + rng.next()) / nu;
      const v = (j + rng.next()) / nv;
      emit(add(origin, add(scale(U, u), scale(V, v))), n, h, [u, v, 0]);
    }
  }
}

/** Axis-aligned box (centre, full size); faces get points in proportion to their area. */
export function sampleBox(rng: Rng, c: V3, size: V3, count: number, emit: Emit, skipBottom = false): void {
  const [sx, sy, sz] = size;
  const faces: { o: V3; U: V3; V: V3 }[] = [
    { o: [c[0] - sx / 2, c[1] + sy / 2, c[2] - sz / 2], U: [0, 0, sz], V: [sx, 0, 0] }, // +y
    { o: [c[0] - sx / 2, c[1] - sy / 2, c[2] - sz / 2], U: [sx, 0, 0], V: [0, 0, sz] }, // -y
    { o: [c[0] + sx / 2, c[1] - sy / 2, c[2] - sz / 2], U: [0, sy, 0], V: [0, 0, sz] }, // +x
    { o: [c[0] - sx / 2, c[1] - sy / 2, c[2] - sz / 2], U: [0, 0, sz], V: [0, sy, 0] }, // -x
    { o: [c[0] - sx / 2, c[1] - sy / 2, c[2] + sz / 2], U: [sx, 0, 0], V: [0, sy, 0] }, // +z
    { o: [c[0] - sx / 2, c[1] - sy / 2, c[2] - sz / 2], U: [0, sy, 0], V: [sx, 0, 0] }, // -z
  ];
  const used = skipBottom ? faces.filter((_, i) => i !== 1) : faces;
  const areas = used.map((f) => length(cross(f.U, f.V)));
  const total = areas.reduce((a, b) => a + b, 0);
  used.forEach((f, i) => sampleRect(rng, f.o, f.U, f.V, Math.max(4, Math.round((count * areas[i]!) / total)), emit));
}

/** Flat disc facing `normal`. */
export function sampleDisc(rng: Rng, c: V3, normal: V3, radius: number, count: number, emit: Emit): void {
  const n = normalize(normal);
  const e1 = perpendicular(n);
  const e2 = cross(n, e1);
  const h = Math.sqrt((Math.PI * radius * radius) / count);
  for (let i = 0; i < count; i++) {
    const rho = radius * Math.sqrt((i + rng.next()) / count);
    const th = i * GOLDEN_ANGLE + rng.uniform(-0.2, 0.2);
    const p = add(c, add(scale(e1, rho * cosD(th)), scale(e2, rho * sinD(th))));
    emit(p, n, h, [rho / radius, th, 0]);
  }
}

/**
 * Axis-aligned ellipsoid; `keep` (on the unit-sphere point) lets a caller take part of it
 * (e.g. a hemisphere cap); `count` is for the whole ellipsoid.
 */
export function sampleEllipsoid(rng: Rng, c: V3, radii: V3, count: number, emit: Emit, keep?: (u: V3) => boolean): void {
  const [a, b, cc] = radii;
  const cellAngle = Math.sqrt((4 * Math.PI) / count);
  for (let i = 0; i < count; i++) {
    const y = 1 - (2 * (i + 0.5)) / count;
    const r = Math.sqrt(Math.max(0, 1 - y * y));
    const th = i * GOLDEN_ANGLE;
    let u: V3 = [r * cosD(th), y, r * sinD(th)];
    u = normalize(add(u, [rng.normal() * 0.2 * cellAngle, rng.normal() * 0.2 * cellAngle, rng.normal() * 0.2 * cellAngle]));
    if (keep && !keep(u)) continue;
    const g: V3 = [u[0] / a, u[1] / b, u[2] / cc];
    const areaScale = a * b * cc * length(g); // local area element of the sphere->ellipsoid map
    emit(add(c, [a * u[0], b * u[1], cc * u[2]]), normalize(g), Math.sqrt(((4 * Math.PI) / count) * areaScale), u);
  }
}

/** Open tapered cylinder (cone frustum) from A (radius rA) to B (radius rB). */
export function sampleFrustum(rng: Rng, A: V3, B: V3, rA: number, rB: number, count: number, emit: Emit): void {
  const d = sub(B, A);
  const L = length(d);
  const ax = scale(d, 1 / L);
  const e1 = perpendicular(ax);
  const e2 = cross(ax, e1);
  const slant = Math.sqrt(L * L + (rB - rA) * (rB - rA));
  const circ = Math.PI * (rA + rB);
  const nth = Math.max(6, Math.round(Math.sqrt((count * circ) / slant)));
  const ns = Math.max(1, Math.round(count / nth));
  for (let j = 0; j < ns; j++) {
    for (let i = 0; i < nth; i++) {
      const s = (j + rng.next()) / ns;
      const th = ((i + rng.next() + (j % 2) * 0.5) / nth) * 2 * Math.PI;
      const r = rA + (rB - rA) * s;
      const radial = add(scale(e1, cosD(th)), scale(e2, sinD(th)));
      const p = add(add(A, scale(d, s)), scale(radial, r));
      const n = normalize(sub(scale(radial, L), scale(ax, rB - rA)));
      const h = Math.sqrt(Math.max((2 * Math.PI * r) / nth, (0.3 * circ) / nth) * (slant / ns));
      emit(p, n, h, [th, s, 0]);
    }
  }
}

/** Capsule-like limb: a frustum with hemispherical caps (cap point counts from the frustum's density). */
export function sampleLimb(rng: Rng, A: V3, B: V3, rA: number, rB: number, count: number, emit: Emit): void {
  const L = length(sub(B, A));
  const side = Math.PI * (rA + rB) * L;
  const capA = 2 * Math.PI * rA * rA;
  const capB = 2 * Math.PI * rB * rB;
  const per = count / (side + capA + capB);
  sampleFrustum(rng, A, B, rA, rB, Math.round(per * side), emit);
  const ax = normalize(sub(B, A));
  // Caps: full spheres filtered to the outer hemisphere (axis-aligned sampler, so use a sphere).
  sampleEllipsoid(rng, A, [rA, rA, rA], Math.round(per * capA * 2), emit, (u) => u[0] * ax[0] + u[1] * ax[1] + u[2] * ax[2] < 0);
  sampleEllipsoid(rng, B, [rB, rB, rB], Math.round(per * capB * 2), emit, (u) => u[0] * ax[0] + u[1] * ax[1] + u[2] * ax[2] > 0);
}

/** Per-Gaussian raw parameters, accumulated in creation order. */
export class CloudBuilder {
  readonly positions: number[] = [];
  readonly rotations: number[] = [];
  readonly logScales: number[] = [];
  readonly opacityLogits: number[] = [];
  readonly rgb: number[] = [];
  readonly parts: number[] = [];
  /** View-dependence strength per Gaussian (scales the random f_rest coefficients). */
  readonly gloss: number[] = [];

  constructor(private readonly rng: Rng) {}

  get count(): number {
    return this.parts.length;
  }

  /**
   * A flat Gaussian on the surface at p with normal n: tangent standard deviations ~0.62 h
   * (neighbouring splats overlap, so surfaces read solid), thickness ~0.08 h.
   */
  add(p: V3, n: V3, h: number, rgb: V3, part: number, gloss = 1): void {
    const rng = this.rng;
    const pos = add(p, scale(n, rng.normal() * 0.04 * h));
    const t0 = perpendicular(n);
    const phi = rng.uniform(0, 2 * Math.PI);
    const t1 = add(scale(t0, cosD(phi)), scale(cross(n, t0), sinD(phi)));
    const t2 = cross(n, t1);
    const q = quatFromColumns(t1, t2, n);
    // Stored quaternions of a trained model are not unit length, and q and -q are the same rotation.
    const qs = dexp(rng.normal() * 0.15) * (rng.next() < 0.5 ? -1 : 1);
    const st = 0.62 * h * dexp(rng.normal() * 0.1);
    const an = dexp(rng.normal() * 0.12);
    const sn = Math.max(0.08 * h * dexp(rng.normal() * 0.25), 5e-4);
    const op = rng.next() < 0.88 ? rng.uniform(0.88, 0.995) : rng.uniform(0.35, 0.88);
    this.positions.push(pos[0], pos[1], pos[2]);
    this.rotations.push(q[0] * qs, q[1] * qs, q[2] * qs, q[3] * qs);
    this.logScales.push(dlog(st * an), dlog(st / an), dlog(sn));
    this.opacityLogits.push(dlog(op / (1 - op)));
    for (let c = 0; c < 3; c++) this.rgb.push(Math.min(0.98, Math.max(0.02, rgb[c]! + rng.normal() * 0.018)));
    this.parts.push(part);
    this.gloss.push(gloss);
  }
}
