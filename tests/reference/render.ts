// The reference renderer: docs/RENDERING.md written out plainly, in float64, one pixel at a
// time. It is the oracle the native backends (CPU, CUDA) are tested against, so it favours
// being obviously right over being fast. "Step n" comments refer to RENDERING.md's
// "Per Gaussian (preprocess)" list; "Composite" to its "Per pixel" section.
import type { CameraJSON, DeformSample, GaussianCloud, SemanticFeatures } from '../../server/scene/types';
import { shCoeffCount } from '../../server/scene/types';

export type V3 = [number, number, number];
/** Row-major 3x3. */
export type M3 = [number, number, number, number, number, number, number, number, number];

/** Appearance edits (native setAppearance): applied in preprocess. */
export interface ReferenceAppearance {
  /** [N] opacity multipliers (0 hides). */
  opacityScale?: Float32Array | null;
  /** [N,4] rgb + mix: colour = (1 - mix) colour + mix rgb, after the SH colour's max(., 0). */
  tint?: Float32Array | null;
}

export interface ReferenceOptions extends ReferenceAppearance {
  deform?: DeformSample | null;
  /** RGB in [0,1]. */
  background: [number, number, number];
  /** [N] label per Gaussian (0 = none): also compute the label channel. */
  labels?: Uint8Array | null;
  /** W_k >= labelThreshold qualifies; default 0.5. */
  labelThreshold?: number;
}

export interface ReferenceImage {
  width: number;
  height: number;
  /** [H,W,3] */
  rgb: Uint8Array;
  /** [H,W] expected camera z of what was hit, 0 where nothing was. */
  depth: Float32Array;
  /** [H,W] 1 - final transmittance. */
  alpha: Float32Array;
  /**
   * [H,W] with opts.labels: the label k with the largest W_k = sum over its Gaussians of
   * T_i alpha_i among those with W_k >= threshold, ties to the lower id; 0 if none.
   */
  labels?: Uint8Array;
  /**
   * [H,W] with opts.labels: how far the pixel's decision is from flipping, the smallest of
   * |W_k - threshold| over its labels and W_(1) - W_(2) (its two largest); Infinity without labels.
   */
  labelMargin?: Float32Array;
}

/** A Gaussian after preprocessing, ready to composite. */
export interface PreprocessedGaussian {
  index: number;
  /** Step 6: continuous pixel coordinates (u, v). */
  mean2D: [number, number];
  /** Step 5: Σ' with the low-pass, (a, b, c) = (Σ'00, Σ'01, Σ'11). */
  cov2D: V3;
  /** Step 5: inverse of Σ', (c/det, -b/det, a/det). */
  conic: V3;
  /** Step 1: sigmoid of the logit. */
  opacity: number;
  /** Step 7: max(SH + 0.5, 0) per channel. */
  colour: V3;
  /** Step 8: camera z, the sort key. */
  depth: number;
  /** Half extents in pixels of the ellipse dᵀ·conic·d <= 2 ln(255·opacity) (RENDERING.md). */
  extent: [number, number];
}

export type CullReason = 'near' | 'degenerate' | 'transparent';

// ---------------------------------------------------------------------------------------------
// Small float64 helpers

const matMul = (A: M3, B: M3): M3 => {
  const out: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += A[r * 3 + k]! * B[k * 3 + c]!;
      out.push(sum);
    }
  }
  return out as M3;
};
const transpose = (A: M3): M3 => [A[0], A[3], A[6], A[1], A[4], A[7], A[2], A[5], A[8]];
const matVec = (A: M3, v: V3): V3 => [
  A[0] * v[0] + A[1] * v[1] + A[2] * v[2],
  A[3] * v[0] + A[4] * v[1] + A[5] * v[2],
  A[6] * v[0] + A[7] * v[1] + A[8] * v[2],
];

/** The rotation part W (rows of worldToCamera) and the translation t. */
export function cameraRotationTranslation(camera: CameraJSON): { W: M3; t: V3 } {
  const m = camera.worldToCamera.map(Number);
  const at = (i: number) => m[i]!;
  return {
    W: [at(0), at(1), at(2), at(4), at(5), at(6), at(8), at(9), at(10)],
    t: [at(3), at(7), at(11)],
  };
}

/** Step 7: camPos = -Wᵀ t. */
export function cameraCentre(camera: CameraJSON): V3 {
  const { W, t } = cameraRotationTranslation(camera);
  const c = matVec(transpose(W), t);
  return [-c[0], -c[1], -c[2]];
}

// ---------------------------------------------------------------------------------------------
// Step 1: activate, then deform

export interface ActivatedGaussian {
  mean: V3;
  scale: V3;
  /** (w, x, y, z), normalize(r) + dr, deliberately not normalized again. */
  q: [number, number, number, number];
  opacity: number;
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function activateAndDeform(cloud: GaussianCloud, i: number, deform?: DeformSample | null): ActivatedGaussian {
  const f = (a: Float32Array, k: number) => a[k]!;
  const d = (a: Float32Array | undefined, k: number) => (a ? a[k]! : 0);
  const mean: V3 = [0, 1, 2].map((k) => f(cloud.positions, i * 3 + k) + d(deform?.dxyz, i * 3 + k)) as V3;
  const scale: V3 = [0, 1, 2].map((k) => Math.exp(f(cloud.logScales, i * 3 + k)) + d(deform?.dscale, i * 3 + k)) as V3;
  const r = [0, 1, 2, 3].map((k) => f(cloud.rotations, i * 4 + k));
  const len = Math.max(Math.hypot(...r), 1e-12); // normalize(r) divides by max(|r|, 1e-12)
  const q = [0, 1, 2, 3].map((k) => r[k]! / len + d(deform?.drot, i * 4 + k)) as [number, number, number, number];
  return { mean, scale, q, opacity: sigmoid(f(cloud.opacityLogits, i)) };
}

// ---------------------------------------------------------------------------------------------
// Step 2: R(q), Σ = M Mᵀ with M = R diag(scale)

export function rotationFromQuaternion([w, x, y, z]: readonly [number, number, number, number]): M3 {
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

export function covariance3D(scale: V3, q: readonly [number, number, number, number]): M3 {
  const R = rotationFromQuaternion(q);
  const S: M3 = [scale[0], 0, 0, 0, scale[1], 0, 0, 0, scale[2]];
  const M = matMul(R, S);
  return matMul(M, transpose(M));
}

// ---------------------------------------------------------------------------------------------
// Steps 3-5: view space, Jacobian with the clamp, Σ' = J W Σ Wᵀ Jᵀ + 0.3 I

/** Step 3: p = W·mean + t. */
export function toViewSpace(camera: CameraJSON, mean: V3): V3 {
  const { W, t } = cameraRotationTranslation(camera);
  const p = matVec(W, mean);
  return [p[0] + t[0], p[1] + t[1], p[2] + t[2]];
}

/** Step 4: the 2x3 Jacobian (as two rows), from p with x/z and y/z clamped. */
export function projectionJacobian(camera: CameraJSON, p: V3): [V3, V3] {
  const { width, height, fx, fy, cx, cy } = camera;
  const limXpos = (width - cx) / fx + 0.3 * (width / (2 * fx));
  const limXneg = cx / fx + 0.3 * (width / (2 * fx));
  const limYpos = (height - cy) / fy + 0.3 * (height / (2 * fy));
  const limYneg = cy / fy + 0.3 * (height / (2 * fy));
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const z = p[2];
  const tx = z * clamp(p[0] / z, -limXneg, limXpos);
  const ty = z * clamp(p[1] / z, -limYneg, limYpos);
  return [
    [fx / z, 0, (-fx * tx) / (z * z)],
    [0, fy / z, (-fy * ty) / (z * z)],
  ];
}

/** Step 5: (a, b, c) of Σ' = J W Σ Wᵀ Jᵀ, low-pass included. */
export function covariance2D(camera: CameraJSON, p: V3, Sigma: M3): V3 {
  const { W } = cameraRotationTranslation(camera);
  const J = projectionJacobian(camera, p);
  const viewSigma = matMul(matMul(W, Sigma), transpose(W)); // W Σ Wᵀ
  const JS = J.map((row) => [0, 1, 2].map((c) => row[0] * viewSigma[c]! + row[1] * viewSigma[3 + c]! + row[2] * viewSigma[6 + c]!));
  const entry = (r: number, c: number) => JS[r]![0]! * J[c]![0] + JS[r]![1]! * J[c]![1] + JS[r]![2]! * J[c]![2];
  return [entry(0, 0) + 0.3, entry(0, 1), entry(1, 1) + 0.3];
}

// ---------------------------------------------------------------------------------------------
// Step 7: colour from spherical harmonics

const C0 = 0.28209479177387814;
const C1 = 0.4886025119029199;
const C2 = [1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396] as const;
const C3 = [
  -0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154, -0.4570457994644658, 1.445305721320277,
  -0.5900435899266435,
] as const;

/** The SH basis values for a unit direction, in the coefficient order k = 0..15. */
export function shBasis(degree: number, [x, y, z]: V3): number[] {
  const b = [C0];
  if (degree > 0) b.push(-C1 * y, C1 * z, -C1 * x);
  if (degree > 1) {
    const [xx, yy, zz, xy, yz, xz] = [x * x, y * y, z * z, x * y, y * z, x * z];
    b.push(C2[0] * xy, C2[1] * yz, C2[2] * (2 * zz - xx - yy), C2[3] * xz, C2[4] * (xx - yy));
    if (degree > 2) {
      b.push(
        C3[0] * y * (3 * xx - yy),
        C3[1] * xy * z,
        C3[2] * y * (4 * zz - xx - yy),
        C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
        C3[4] * x * (4 * zz - xx - yy),
        C3[5] * z * (xx - yy),
        C3[6] * x * (xx - 3 * yy),
      );
    }
  }
  return b;
}

/** colour = max(Σ_k basis_k · sh[i,k,:] + 0.5, 0), dir = normalize(mean - camPos). */
export function colourFromSH(cloud: GaussianCloud, i: number, mean: V3, camPos: V3): V3 {
  const d: V3 = [mean[0] - camPos[0], mean[1] - camPos[1], mean[2] - camPos[2]];
  const len = Math.hypot(...d);
  const basis = shBasis(cloud.shDegree, [d[0] / len, d[1] / len, d[2] / len]);
  const K = shCoeffCount(cloud.shDegree);
  const colour: V3 = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += basis[k]! * cloud.sh[(i * K + k) * 3 + c]!;
    colour[c] = Math.max(sum + 0.5, 0);
  }
  return colour;
}

// ---------------------------------------------------------------------------------------------
// The whole preprocess of one Gaussian

/** Steps 1-8 for Gaussian i; `culled` says why it touches no pixel. */
export function preprocessGaussian(
  cloud: GaussianCloud,
  i: number,
  camera: CameraJSON,
  deform?: DeformSample | null,
  appearance?: ReferenceAppearance,
): PreprocessedGaussian | { index: number; culled: CullReason } {
  const g = activateAndDeform(cloud, i, deform); // step 1
  if (appearance?.opacityScale) g.opacity *= appearance.opacityScale[i]!;
  const Sigma = covariance3D(g.scale, g.q); // step 2
  const p = toViewSpace(camera, g.mean); // step 3
  if (p[2] <= 0.2) return { index: i, culled: 'near' };
  const [a, b, c] = covariance2D(camera, p, Sigma); // steps 4-5
  const det = a * c - b * b;
  if (det <= 0) return { index: i, culled: 'degenerate' };
  const conic: V3 = [c / det, -b / det, a / det];
  const u = (camera.fx * p[0]) / p[2] + camera.cx; // step 6
  const v = (camera.fy * p[1]) / p[2] + camera.cy;
  const colour = colourFromSH(cloud, i, g.mean, cameraCentre(camera)); // step 7
  if (appearance?.tint) {
    const mix = appearance.tint[i * 4 + 3]!;
    for (let c = 0; c < 3; c++) colour[c] = (1 - mix) * colour[c]! + mix * appearance.tint[i * 4 + c]!;
  }
  // Which pixels it can touch: alpha >= 1/255 needs opacity >= 1/255 and dᵀ·conic·d <= 2 ln(255 o).
  if (g.opacity < 1 / 255) return { index: i, culled: 'transparent' };
  const level = 2 * Math.log(255 * g.opacity);
  const extent: [number, number] = [Math.sqrt(level * a), Math.sqrt(level * c)];
  return { index: i, mean2D: [u, v], cov2D: [a, b, c], conic, opacity: g.opacity, colour, depth: p[2], extent };
}

export function isCulled(g: PreprocessedGaussian | { culled: CullReason }): g is { index: number; culled: CullReason } {
  return 'culled' in g;
}

/** Step 8: every visible Gaussian, sorted by ascending camera z, ties by index. */
export function preprocessAll(
  cloud: GaussianCloud,
  camera: CameraJSON,
  deform?: DeformSample | null,
  appearance?: ReferenceAppearance,
): PreprocessedGaussian[] {
  const out: PreprocessedGaussian[] = [];
  for (let i = 0; i < cloud.count; i++) {
    const g = preprocessGaussian(cloud, i, camera, deform, appearance);
    if (!isCulled(g)) out.push(g);
  }
  return out.sort((x, y) => x.depth - y.depth || x.index - y.index);
}

// ---------------------------------------------------------------------------------------------
// Composite

/** Pixel range [lo, hi] whose centres k + 0.5 lie within centre ± extent (slightly widened). */
function pixelRange(centre: number, extent: number, size: number): [number, number] {
  const pad = 1e-6 * (1 + extent);
  const lo = Math.max(0, Math.ceil(centre - extent - pad - 0.5));
  const hi = Math.min(size - 1, Math.floor(centre + extent + pad - 0.5));
  return [lo, hi];
}

export interface PixelResult {
  C: V3;
  D: number;
  T: number;
}

/**
 * The per-pixel loop of RENDERING.md for pixel (i, j) over `sorted` Gaussians. onWeight, when
 * given, receives each added Gaussian with its weight w = alpha·T.
 */
export function compositePixel(
  i: number,
  j: number,
  sorted: readonly PreprocessedGaussian[],
  onWeight?: (g: PreprocessedGaussian, w: number) => void,
): PixelResult {
  const C: V3 = [0, 0, 0];
  let D = 0;
  let T = 1;
  for (const g of sorted) {
    const dx = i + 0.5 - g.mean2D[0];
    const dy = j + 0.5 - g.mean2D[1];
    const power = -0.5 * (g.conic[0] * dx * dx + g.conic[2] * dy * dy) - g.conic[1] * dx * dy;
    if (power > 0) continue;
    const alpha = Math.min(0.99, g.opacity * Math.exp(power));
    if (alpha < 1 / 255) continue;
    const nextT = T * (1 - alpha);
    if (nextT < 1e-4) break; // stop this pixel; this Gaussian is not added
    for (let c = 0; c < 3; c++) C[c]! += g.colour[c]! * alpha * T;
    D += g.depth * alpha * T;
    onWeight?.(g, alpha * T);
    T = nextT;
  }
  return { C, D, T };
}

/** Renders one frame exactly as docs/RENDERING.md defines it. */
export function renderReference(cloud: GaussianCloud, camera: CameraJSON, opts: ReferenceOptions): ReferenceImage {
  const { width, height } = camera;
  const sorted = preprocessAll(cloud, camera, opts.deform, opts);
  const labelOf = opts.labels ?? null;
  const threshold = opts.labelThreshold ?? 0.5;
  const labels = labelOf ? new Uint8Array(width * height) : undefined;
  const labelMargin = labelOf ? new Float32Array(width * height) : undefined;
  // The Gaussians each row can see, in sorted order (by their exact bounding boxes).
  const rows: PreprocessedGaussian[][] = Array.from({ length: height }, () => []);
  for (const g of sorted) {
    const [y0, y1] = pixelRange(g.mean2D[1], g.extent[1], height);
    for (let j = y0; j <= y1; j++) rows[j]!.push(g);
  }

  const rgb = new Uint8Array(width * height * 3);
  const depth = new Float32Array(width * height);
  const alpha = new Float32Array(width * height);
  for (let j = 0; j < height; j++) {
    // ... and each pixel of the row, still in sorted order.
    const columns: PreprocessedGaussian[][] = Array.from({ length: width }, () => []);
    for (const g of rows[j]!) {
      const [x0, x1] = pixelRange(g.mean2D[0], g.extent[0], width);
      for (let i = x0; i <= x1; i++) columns[i]!.push(g);
    }
    for (let i = 0; i < width; i++) {
      const here = columns[i]!;
      const W = new Map<number, number>(); // label -> W_k
      const onWeight = labelOf
        ? (g: PreprocessedGaussian, w: number) => {
            const k = labelOf[g.index]!;
            if (k !== 0) W.set(k, (W.get(k) ?? 0) + w);
          }
        : undefined;
      const { C, D, T } = compositePixel(i, j, here, onWeight);
      const px = j * width + i;
      if (labels && labelMargin) {
        const d = decideLabel(W, threshold);
        labels[px] = d.label;
        labelMargin[px] = d.margin;
      }
      for (let c = 0; c < 3; c++) {
        const value = Math.min(Math.max(C[c]! + T * opts.background[c]!, 0), 1);
        rgb[px * 3 + c] = Math.round(value * 255);
      }
      alpha[px] = 1 - T;
      depth[px] = 1 - T > 1e-6 ? D / (1 - T) : 0;
    }
  }
  return labels ? { width, height, rgb, depth, alpha, labels, labelMargin } : { width, height, rgb, depth, alpha };
}

/**
 * A pixel's label from its per-label weights: the largest W_k >= threshold, ties to the lower
 * id, else 0; margin: the smallest of |W_k - threshold| and W_(1) - W_(2).
 */
export function decideLabel(W: ReadonlyMap<number, number>, threshold: number): { label: number; margin: number } {
  let label = 0;
  let best = -Infinity;
  let margin = Infinity;
  const sorted = [...W.entries()].sort((a, b) => a[0] - b[0]);
  for (const [k, w] of sorted) {
    margin = Math.min(margin, Math.abs(w - threshold));
    if (w >= threshold && w > best) {
      label = k;
      best = w;
    }
  }
  const ws = sorted.map(([, w]) => w).sort((a, b) => b - a);
  if (ws.length >= 2) margin = Math.min(margin, ws[0]! - ws[1]!);
  return { label, margin };
}

/** Per-Gaussian weights w_i = alpha_i·T_i at pixel (x, y), in compositing order. */
export function pixelWeights(
  cloud: GaussianCloud,
  camera: CameraJSON,
  opts: Omit<ReferenceOptions, 'background'>,
  x: number,
  y: number,
  sorted: readonly PreprocessedGaussian[] = preprocessAll(cloud, camera, opts.deform, opts),
): { weights: Array<{ index: number; w: number }>; T: number; D: number } {
  const weights: Array<{ index: number; w: number }> = [];
  const { D, T } = compositePixel(x, y, sorted, (g, w) => weights.push({ index: g.index, w }));
  return { weights, T, D };
}

/** features.data [N,D] rows divided by their L2 norm (zero rows stay zero), float64. */
export function unitFeatures(features: SemanticFeatures): Float64Array {
  const { dim, data } = features;
  const n = data.length / dim;
  const out = new Float64Array(data.length);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += data[i * dim + d]! ** 2;
    const inv = ss > 0 && Number.isFinite(ss) ? 1 / Math.sqrt(ss) : 0;
    for (let d = 0; d < dim; d++) out[i * dim + d] = inv === 0 ? 0 : data[i * dim + d]! * inv;
  }
  return out;
}

/**
 * The composited feature at pixel (x, y): sum_i w_i f_i with f_i the L2-normalized feature of
 * Gaussian i (DESIGN.md §1), w_i = alpha_i·T_i as in the colour. [D]
 */
export function compositeFeature(
  cloud: GaussianCloud,
  features: SemanticFeatures,
  camera: CameraJSON,
  opts: Omit<ReferenceOptions, 'background'>,
  x: number,
  y: number,
  unit: Float64Array = unitFeatures(features),
  sorted?: readonly PreprocessedGaussian[],
): Float64Array {
  const { dim } = features;
  const out = new Float64Array(dim);
  for (const { index, w } of pixelWeights(cloud, camera, opts, x, y, sorted).weights) {
    for (let d = 0; d < dim; d++) out[d]! += w * unit[index * dim + d]!;
  }
  return out;
}

/**
 * Region weights: per Gaussian, the sum over the region's pixels of w_i = alpha_i·T_i. spans:
 * (y, x0, x1) triples, pixels x0 <= x < x1 of row y; a pixel listed twice counts once. [N]
 */
export function regionWeightsReference(
  cloud: GaussianCloud,
  camera: CameraJSON,
  opts: Omit<ReferenceOptions, 'background'>,
  spans: ReadonlyArray<readonly [number, number, number]> | Int32Array,
): Float64Array {
  const triples: Array<readonly [number, number, number]> = [];
  if (spans instanceof Int32Array) {
    for (let i = 0; i + 2 < spans.length; i += 3) triples.push([spans[i]!, spans[i + 1]!, spans[i + 2]!]);
  } else {
    triples.push(...spans);
  }
  const pixels = new Set<number>();
  for (const [y, x0, x1] of triples) for (let x = x0; x < x1; x++) pixels.add(y * camera.width + x);
  const sorted = preprocessAll(cloud, camera, opts.deform, opts);
  const out = new Float64Array(cloud.count);
  for (const p of pixels) {
    const x = p % camera.width;
    const y = (p - x) / camera.width;
    compositePixel(x, y, sorted, (g, w) => {
      out[g.index]! += w;
    });
  }
  return out;
}
