// Shared by the GPU tests (npm run test:gpu): whether a CUDA device can be used here, and frame
// comparisons. Every GPU test skips, saying why, on a machine without one.
//
// SPLATSYNC_GPU_TEST_DRY_RUN=1 runs the tests with the CPU backend standing in for CUDA (and
// skips what only CUDA can do: deform(), deformNetwork). That checks the tests' own logic on a
// machine without a GPU; a pass then says nothing about the CUDA backend.
import { capabilities, nativeAvailable, type BackendName, type RenderOutput } from '../../native/index';

export const dryRun = ['1', 'true', 'yes'].includes((process.env.SPLATSYNC_GPU_TEST_DRY_RUN ?? '').toLowerCase());

/** The backend under test: 'cuda', or 'cpu' in a dry run. */
export const GPU: BackendName = dryRun ? 'cpu' : 'cuda';

/** null when the CUDA backend can run here, else the reason the GPU tests are skipped. */
export function cudaSkipReason(): string | null {
  if (!nativeAvailable()) return 'the native addon is not built (npm run build:native)';
  const c = capabilities().cuda;
  if (!c.compiled) return c.error ?? 'this build has no CUDA backend (nvcc was not found at build time)';
  if (c.devices === 0) return c.error ?? 'no usable CUDA device';
  return null;
}

/** The skip option for node:test: false when a device is there (or in a dry run), else the reason. */
export function skipWithoutCuda(): false | string {
  if (dryRun) return false;
  const why = cudaSkipReason();
  return why === null ? false : `no GPU here: ${why}`;
}

/** As skipWithoutCuda, and also skipped in a dry run (what the CPU backend cannot stand in for). */
export function skipUnlessRealCuda(): false | string {
  if (dryRun) return 'dry run: needs the real CUDA backend';
  return skipWithoutCuda();
}

export interface FrameDiff {
  maxRgb: number;
  meanRgb: number;
  maxAlpha: number;
  maxDepthRel: number;
}

/** RGB in 1/255 units; depth relative where both alphas exceed 0.05. */
export function compareFrames(a: Pick<RenderOutput, 'rgb' | 'alpha' | 'depth'>, b: Pick<RenderOutput, 'rgb' | 'alpha' | 'depth'>): FrameDiff {
  let maxRgb = 0;
  let sum = 0;
  for (let i = 0; i < a.rgb.length; i++) {
    const d = Math.abs(a.rgb[i]! - b.rgb[i]!);
    if (d > maxRgb) maxRgb = d;
    sum += d;
  }
  let maxAlpha = 0;
  let maxDepthRel = 0;
  for (let i = 0; i < a.alpha.length; i++) {
    maxAlpha = Math.max(maxAlpha, Math.abs(a.alpha[i]! - b.alpha[i]!));
    if (a.alpha[i]! > 0.05 && b.alpha[i]! > 0.05) maxDepthRel = Math.max(maxDepthRel, Math.abs(a.depth[i]! - b.depth[i]!) / Math.abs(b.depth[i]!));
  }
  return { maxRgb, meanRgb: sum / Math.max(1, a.rgb.length), maxAlpha, maxDepthRel };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export const fmt = (x: number) => (Math.abs(x) >= 1e-2 || x === 0 ? x.toFixed(4) : x.toExponential(2));
