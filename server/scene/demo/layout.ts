// The demo scene's geometry and appearance in its canonical (rest) pose: a checkered lawn, a
// little figure (torso, head, two arms, two legs), a beach ball, a table and a spinning top on it.
// World units are metres, y is up, the figure faces +z.
import { datan2, dexp, dsin } from './dmath';
import { add, dot, length, normalize, sub, type V3 } from './math3';
import type { Rng } from './prng';
import { CloudBuilder, sampleBox, sampleDisc, sampleEllipsoid, sampleFrustum, sampleLimb, sampleRect } from './shapes';

export const PART = {
  ground: 0,
  torso: 1,
  head: 2,
  leftArm: 3,
  rightArm: 4,
  leftLeg: 5,
  rightLeg: 6,
  ball: 7,
  table: 8,
  top: 9,
} as const;

export const PART_NAMES = ['ground', 'torso', 'head', 'left arm', 'right arm', 'left leg', 'right leg', 'ball', 'table', 'spinning top'];

/** Parts that never move. */
export const STATIC_PARTS: readonly number[] = [PART.ground, PART.table];

/** Canonical geometry, shared with motion.ts (joints, pivots) and features.ts (boundaries). */
export const GEOM = {
  groundHalf: 3,
  torso: { c: [0, 1.15, 0] as V3, r: [0.19, 0.35, 0.12] as V3 },
  head: { c: [0, 1.64, 0] as V3, r: [0.115, 0.135, 0.125] as V3 },
  neck: [0, 1.47, 0] as V3,
  hip: { left: [0.09, 0.88, 0] as V3, right: [-0.09, 0.88, 0] as V3 },
  ankle: { left: [0.09, 0.1, 0] as V3, right: [-0.09, 0.1, 0] as V3 },
  shoulder: { left: [0.22, 1.38, 0] as V3, right: [-0.22, 1.38, 0] as V3 },
  wrist: { left: [0.33, 0.92, 0] as V3, right: [-0.33, 0.92, 0] as V3 },
  ball: { c: [-1.15, 0.22, 0.45] as V3, r: 0.22 },
  table: { c: [1.15, 0, -0.25] as V3, w: 0.9, d: 0.6, h: 0.7, thick: 0.05, leg: 0.05 },
  top: { tip: [1.08, 0.7, -0.18] as V3 },
};

/** Where two parts touch: Gaussians of either part within `r` of `p` get some of the other's feature. */
export interface Joint {
  a: number;
  b: number;
  p: V3;
  r: number;
}

export const JOINTS: Joint[] = [
  { a: PART.torso, b: PART.head, p: GEOM.neck, r: 0.1 },
  { a: PART.torso, b: PART.leftArm, p: GEOM.shoulder.left, r: 0.12 },
  { a: PART.torso, b: PART.rightArm, p: GEOM.shoulder.right, r: 0.12 },
  { a: PART.torso, b: PART.leftLeg, p: GEOM.hip.left, r: 0.13 },
  { a: PART.torso, b: PART.rightLeg, p: GEOM.hip.right, r: 0.13 },
  { a: PART.ground, b: PART.leftLeg, p: [0.09, 0, 0.05], r: 0.2 },
  { a: PART.ground, b: PART.rightLeg, p: [-0.09, 0, 0.05], r: 0.2 },
  { a: PART.ground, b: PART.ball, p: [GEOM.ball.c[0], 0, GEOM.ball.c[2]], r: 0.16 },
  { a: PART.table, b: PART.top, p: GEOM.top.tip, r: 0.09 },
  ...[-1, 1].flatMap((sx) =>
    [-1, 1].map((sz) => ({
      a: PART.ground,
      b: PART.table,
      p: [GEOM.table.c[0] + sx * 0.39, 0, GEOM.table.c[2] + sz * 0.24] as V3,
      r: 0.12,
    })),
  ),
];

/** Base Gaussian counts at scale 1 (the samplers land within a few percent of these). */
const COUNTS = {
  ground: 24000,
  torso: 6000,
  head: 2600,
  neck: 250,
  nose: 120,
  arm: 1900,
  hand: 300,
  leg: 2700,
  foot: 450,
  ball: 5000,
  tableTop: 5600,
  tableLeg: 600,
  topBody: 2400,
  topStem: 350,
  topDisc: 250,
};

const mix = (a: V3, b: V3, u: number): V3 => [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
const mul = (a: V3, s: number): V3 => [a[0] * s, a[1] * s, a[2] * s];

const SKIN: V3 = [0.93, 0.72, 0.58];
const HAIR: V3 = [0.22, 0.13, 0.07];
const SHIRT: V3 = [0.83, 0.2, 0.18];
const SHIRT2: V3 = [0.96, 0.9, 0.76];
const JEANS: V3 = [0.2, 0.27, 0.48];
const SHOE: V3 = [0.16, 0.12, 0.1];
const BELT: V3 = [0.12, 0.09, 0.07];

/** A smooth random scalar field in about [-1, 1] (a few random plane waves). */
function smoothField(rng: Rng, waves: number, freqLo: number, freqHi: number): (p: V3) => number {
  const ws = Array.from({ length: waves }, () => {
    const d = normalize([rng.normal(), rng.normal(), rng.normal()]);
    const f = rng.uniform(freqLo, freqHi);
    return { k: [d[0] * f, d[1] * f, d[2] * f] as V3, ph: rng.uniform(0, 2 * Math.PI) };
  });
  const norm = Math.sqrt(2 / waves);
  return (p) => {
    let s = 0;
    for (const w of ws) s += dsin(dot(w.k, p) + w.ph);
    return s * norm;
  };
}

export function buildGeometry(rng: Rng, countScale: number): CloudBuilder {
  const b = new CloudBuilder(rng);
  const n = (c: number) => Math.max(12, Math.round(c * countScale));
  const G = GEOM;

  // Ground: 0.5 m checker of two greens, grass-like variation, soft contact shadows.
  const grass = smoothField(rng, 6, 0.6, 2.5);
  const grassFine = smoothField(rng, 6, 6, 14);
  const shadow = (p: V3) => {
    let s = 0;
    const dFig = Math.sqrt(p[0] * p[0] + (p[2] - 0.03) * (p[2] - 0.03));
    s += 0.35 * dexp(-(dFig * dFig) / 0.06);
    const T = G.table;
    const ox = Math.max(0, Math.abs(p[0] - T.c[0]) - T.w / 2 + 0.05);
    const oz = Math.max(0, Math.abs(p[2] - T.c[2]) - T.d / 2 + 0.05);
    s += 0.3 * dexp(-(ox * ox + oz * oz) / 0.02);
    return 1 - Math.min(0.5, s);
  };
  const half = G.groundHalf;
  sampleRect(rng, [-half, 0, -half], [0, 0, 2 * half], [2 * half, 0, 0], n(COUNTS.ground), (p, nn, h) => {
    const checker = (Math.floor(p[0] / 0.5) + Math.floor(p[2] / 0.5)) & 1;
    let c: V3 = checker ? [0.42, 0.62, 0.28] : [0.33, 0.52, 0.22];
    c = mix(c, [0.5, 0.56, 0.3], 0.25 + 0.2 * grass(p));
    c = mul(c, (1 + 0.07 * grassFine(p) + rng.normal() * 0.05) * shadow(p));
    b.add(p, nn, h, c, PART.ground, 0.5);
  });

  // Torso: striped shirt over a belt and trousers.
  sampleEllipsoid(rng, G.torso.c, G.torso.r, n(COUNTS.torso), (p, nn, h) => {
    let c: V3;
    if (p[1] < 0.87) c = JEANS;
    else if (p[1] < 0.915) c = BELT;
    else c = Math.floor((p[1] - 0.915) / 0.07) % 2 === 0 ? SHIRT : SHIRT2;
    b.add(p, nn, h, c, PART.torso);
  });

  // Head (with neck and nose): skin, hair on top and at the back, eyes and a mouth at the front (+z).
  const hc = G.head.c;
  sampleEllipsoid(rng, hc, G.head.r, n(COUNTS.head), (p, nn, h, u) => {
    let c = SKIN;
    if (u[1] > 0.3 || (u[2] < -0.2 && u[1] > -0.35)) c = HAIR;
    for (const ex of [-0.4, 0.4]) {
      const dx = u[0] - ex;
      const dy = u[1] - 0.12;
      if (u[2] > 0 && dx * dx + dy * dy < 0.025) c = [0.06, 0.05, 0.05];
    }
    if (u[2] > 0 && Math.abs(u[0]) < 0.3 && Math.abs(u[1] + 0.42) < 0.06) c = [0.62, 0.2, 0.2];
    b.add(p, nn, h, c, PART.head);
  });
  sampleFrustum(rng, [0, 1.42, 0], [0, 1.54, 0], 0.05, 0.045, n(COUNTS.neck), (p, nn, h) => b.add(p, nn, h, SKIN, PART.head));
  sampleEllipsoid(rng, [hc[0], hc[1] - 0.01, hc[2] + 0.118], [0.022, 0.03, 0.025], n(COUNTS.nose), (p, nn, h) => b.add(p, nn, h, mul(SKIN, 0.95), PART.head), (u) => u[2] > -0.2);

  // Arms: short sleeves, then skin; hands.
  for (const side of ['left', 'right'] as const) {
    const part = side === 'left' ? PART.leftArm : PART.rightArm;
    const A = G.shoulder[side];
    const B = G.wrist[side];
    const axis = normalize(sub(B, A));
    const L = length(sub(B, A));
    sampleLimb(rng, A, B, 0.058, 0.042, n(COUNTS.arm), (p, nn, h) => {
      const s = dot(sub(p, A), axis) / L;
      b.add(p, nn, h, s < 0.38 ? (Math.floor(s / 0.07 + 10) % 2 === 0 ? SHIRT : SHIRT2) : SKIN, part);
    });
    sampleEllipsoid(rng, add(B, [Math.sign(B[0]) * 0.005, -0.06, 0]), [0.042, 0.065, 0.035], n(COUNTS.hand), (p, nn, h) => b.add(p, nn, h, SKIN, part));
  }

  // Legs: trousers and shoes.
  for (const side of ['left', 'right'] as const) {
    const part = side === 'left' ? PART.leftLeg : PART.rightLeg;
    const A = G.hip[side];
    const B = G.ankle[side];
    sampleLimb(rng, A, B, 0.075, 0.055, n(COUNTS.leg), (p, nn, h) => b.add(p, nn, h, JEANS, part));
    sampleBox(rng, [B[0], 0.045, 0.05], [0.11, 0.09, 0.25], n(COUNTS.foot), (p, nn, h) => b.add(p, nn, h, SHOE, part), true);
  }

  // Beach ball: six coloured gores around the z axis, white caps.
  const gores: V3[] = [[0.9, 0.12, 0.1], [0.97, 0.97, 0.95], [0.12, 0.35, 0.85], [0.98, 0.82, 0.1], [0.97, 0.97, 0.95], [0.15, 0.65, 0.25]];
  sampleEllipsoid(rng, G.ball.c, [G.ball.r, G.ball.r, G.ball.r], n(COUNTS.ball), (p, nn, h, u) => {
    let c: V3;
    if (Math.abs(u[2]) > 0.88) c = [0.97, 0.97, 0.95];
    else {
      const a = datan2(u[1], u[0]) + Math.PI; // [0, 2π]
      c = gores[Math.min(5, Math.floor((a / (2 * Math.PI)) * 6))]!;
    }
    b.add(p, nn, h, c, PART.ball, 2.5);
  });

  // Table: a wooden top on four legs.
  const T = G.table;
  const wood = smoothField(rng, 4, 2, 5);
  const grain = (p: V3) => dsin(38 * p[0] + 3 * wood(p));
  sampleBox(rng, [T.c[0], T.h - T.thick / 2, T.c[2]], [T.w, T.thick, T.d], n(COUNTS.tableTop), (p, nn, h) => {
    b.add(p, nn, h, mul([0.66, 0.45, 0.26], 1 + 0.09 * grain(p)), PART.table, 1.5);
  });
  for (const sx of [-1, 1]) {
    for (const sz of [-1, 1]) {
      const c: V3 = [T.c[0] + sx * (T.w / 2 - 0.06), (T.h - T.thick) / 2, T.c[2] + sz * (T.d / 2 - 0.06)];
      sampleBox(rng, c, [T.leg, T.h - T.thick, T.leg], n(COUNTS.tableLeg), (p, nn, h) => {
        b.add(p, nn, h, mul([0.5, 0.33, 0.19], 1 + 0.06 * grain(p)), PART.table, 1.5);
      }, true);
    }
  }

  // Spinning top: a double cone with eight yellow/red sectors and a blue rim, a dark stem.
  const tip = G.top.tip;
  const at = (y: number): V3 => [tip[0], tip[1] + y, tip[2]];
  const topColour = (p: V3): V3 => {
    const y = p[1] - tip[1];
    if (Math.abs(y - 0.09) < 0.012) return [0.15, 0.3, 0.8];
    const a = datan2(p[2] - tip[2], p[0] - tip[0]) + Math.PI;
    return Math.floor((a / (2 * Math.PI)) * 8) % 2 === 0 ? [0.98, 0.8, 0.12] : [0.85, 0.16, 0.12];
  };
  const bodyLower = 0.6;
  sampleFrustum(rng, at(0.004), at(0.09), 0.006, 0.11, n(COUNTS.topBody * bodyLower), (p, nn, h) => b.add(p, nn, h, topColour(p), PART.top, 2));
  sampleFrustum(rng, at(0.09), at(0.15), 0.11, 0.045, n(COUNTS.topBody * (1 - bodyLower)), (p, nn, h) => b.add(p, nn, h, topColour(p), PART.top, 2));
  sampleDisc(rng, at(0.15), [0, 1, 0], 0.045, n(COUNTS.topDisc), (p, nn, h) => b.add(p, nn, h, topColour(p), PART.top, 2));
  sampleLimb(rng, at(0.15), at(0.24), 0.013, 0.013, n(COUNTS.topStem), (p, nn, h) => b.add(p, nn, h, [0.18, 0.18, 0.22], PART.top, 2));

  return b;
}
