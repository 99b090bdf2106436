// The built-in demo scene: a small dynamic semantic Gaussian scene generated procedurally and
// deterministically from a seed (no files needed). See layout.ts for its content, motion.ts for
// how the parts move, features.ts for the semantic features, cameras.ts for the dataset views.
import type { DatasetView } from '../../protocol/events';
import type { CameraJSON, DeformKeyframe, GaussianCloud, SemanticFeatures } from '../types';
import { datasetViews, homeView } from './cameras';
import { buildFeatures, FEATURE_DIM } from './features';
import { buildGeometry, PART_NAMES } from './layout';
import { buildKeyframes } from './motion';
import { Rng, streamSeed } from './prng';

export { PART, PART_NAMES, STATIC_PARTS } from './layout';
export { partMotion } from './motion';
export { FEATURE_DIM } from './features';

export interface DemoScene {
  name: string;
  cloud: GaussianCloud;
  features: SemanticFeatures;
  /** [N] ground-truth part id per Gaussian (index into partNames). */
  partIds: Uint8Array;
  partNames: string[];
  /** KEYFRAME_COUNT keyframes at t = k / (KEYFRAME_COUNT - 1). */
  keyframes: DeformKeyframe[];
  views: DatasetView[];
  home: { camera: CameraJSON; target: [number, number, number]; up: [number, number, number] };
  background: [number, number, number];
}

export interface DemoSceneOptions {
  /** PRNG seed (integer; default 1). */
  seed?: number;
  /** Multiplies the Gaussian count (default 1: about 60K Gaussians). */
  scale?: number;
}

export const KEYFRAME_COUNT = 31;
export const VIEW_COUNT = 80;
const SH_DEGREE = 3;
const SH_K = 16;
const SH_C0 = 0.28209479177387814;

export function generateDemoScene(opts: DemoSceneOptions = {}): DemoScene {
  const seed = opts.seed ?? 1;
  const countScale = opts.scale ?? 1;
  if (!(countScale > 0) || !Number.isFinite(countScale)) throw new Error(`demo scene scale must be a positive number, got ${countScale}`);
  if (!Number.isFinite(seed)) throw new Error(`demo scene seed must be a finite number, got ${seed}`);

  const b = buildGeometry(new Rng(streamSeed(seed, 'geometry')), countScale);
  const N = b.count;

  // A trained model's .ply has no spatial order: shuffle (Fisher–Yates).
  const order = new Uint32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  const shuffle = new Rng(streamSeed(seed, 'order'));
  for (let i = N - 1; i > 0; i--) {
    const j = shuffle.int(i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }

  const positions = new Float32Array(N * 3);
  const rotations = new Float32Array(N * 4);
  const logScales = new Float32Array(N * 3);
  const opacityLogits = new Float32Array(N);
  const sh = new Float32Array(N * SH_K * 3);
  const partIds = new Uint8Array(N);
  const shRng = new Rng(streamSeed(seed, 'sh'));
  // Random small view-dependent terms, smaller for higher degrees, scaled by the part's gloss.
  const bandSigma = [0, 0.03, 0.03, 0.03, 0.016, 0.016, 0.016, 0.016, 0.016, 0.008, 0.008, 0.008, 0.008, 0.008, 0.008, 0.008];
  for (let i = 0; i < N; i++) {
    const s = order[i]!;
    for (let c = 0; c < 3; c++) positions[i * 3 + c] = b.positions[s * 3 + c]!;
    for (let c = 0; c < 4; c++) rotations[i * 4 + c] = b.rotations[s * 4 + c]!;
    for (let c = 0; c < 3; c++) logScales[i * 3 + c] = b.logScales[s * 3 + c]!;
    opacityLogits[i] = b.opacityLogits[s]!;
    partIds[i] = b.parts[s]!;
    const gloss = b.gloss[s]!;
    for (let c = 0; c < 3; c++) sh[i * SH_K * 3 + c] = (b.rgb[s * 3 + c]! - 0.5) / SH_C0;
    for (let k = 1; k < SH_K; k++) {
      const sigma = bandSigma[k]! * gloss;
      const common = shRng.normal() * sigma; // mostly grey view dependence, a little colour
      for (let c = 0; c < 3; c++) sh[(i * SH_K + k) * 3 + c] = common + (shRng.next() - 0.5) * sigma;
    }
  }

  const cloud: GaussianCloud = { count: N, shDegree: SH_DEGREE, positions, rotations, logScales, opacityLogits, sh };
  const features: SemanticFeatures = {
    dim: FEATURE_DIM,
    data: buildFeatures(new Rng(streamSeed(seed, 'features')), positions, partIds, PART_NAMES.length, FEATURE_DIM),
  };
  const times = Array.from({ length: KEYFRAME_COUNT }, (_, k) => k / (KEYFRAME_COUNT - 1));
  const keyframes = buildKeyframes(cloud, partIds, PART_NAMES.length, times);
  const views = datasetViews(new Rng(streamSeed(seed, 'cameras')), VIEW_COUNT);

  return {
    name: 'Splatsync demo: figure, ball and spinning top',
    cloud,
    features,
    partIds,
    partNames: [...PART_NAMES],
    keyframes,
    views,
    home: homeView(),
    background: [1, 1, 1],
  };
}
