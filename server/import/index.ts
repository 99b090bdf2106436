// `splatsync import`: a DGD / Deformable-3DGS training output (or a plain 3DGS .ply) becomes a
// scene bundle in the data dir. No Python: the .ply, deform.pth, cfg_args, cameras.json and the
// dataset are read here; the deformation MLP is kept in the bundle (run with onnxruntime at
// view time) and optionally baked at every dataset time.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DatasetView } from '../protocol/events';
import { inferDeformNetwork, describeDeformNetwork, type DeformNetworkSpec } from '../deform/network';
import { DeformRunner } from '../deform/runner';
import { writeBundle, type BundleHeader } from '../scene/bundle';
import { cameraPosition, lookAt, makeCamera, type Vec3 } from '../scene/camera';
import { readPly } from '../scene/ply';
import type { SceneStore } from '../scene/store';
import type { CameraJSON, GaussianCloud } from '../scene/types';
import { readDataset } from './datasets/index';
import { inspectModelDir } from './model-dir';
import { readStateDict, type Tensor } from './pth';
import { readFile } from 'node:fs/promises';

export interface ImportOptions {
  modelDir: string;
  dataset?: string;
  iteration?: number;
  name?: string;
  bake?: boolean;
}

export interface ImportProgress {
  stage: 'inspect' | 'ply' | 'deform' | 'dataset' | 'bake' | 'write' | 'done';
  /** 0..1 over the whole import. */
  fraction: number;
  message: string;
}

export interface ImportResult {
  sceneId: string;
  name: string;
  count: number;
  featureDim: number;
  dynamic: boolean;
  views: number;
  keyframes: number;
  warnings: string[];
}

export class ImportError extends Error {}

/** Fractions of the progress bar each stage ends at (bake dominates when asked for). */
const STAGE_END = { inspect: 0.02, ply: 0.3, deform: 0.35, dataset: 0.45, bake: 0.9, write: 1 } as const;

export async function importModel(store: SceneStore, opts: ImportOptions, onProgress: (p: ImportProgress) => void = () => {}): Promise<ImportResult> {
  const report = (stage: ImportProgress['stage'], within: number, message: string) => {
    const stages = Object.keys(STAGE_END) as (keyof typeof STAGE_END)[];
    const i = stages.indexOf(stage as keyof typeof STAGE_END);
    const start = i <= 0 ? 0 : STAGE_END[stages[i - 1]!];
    const end = stage === 'done' ? 1 : STAGE_END[stage as keyof typeof STAGE_END];
    onProgress({ stage, fraction: start + (end - start) * Math.min(1, Math.max(0, within)), message });
  };

  report('inspect', 0, `inspecting ${opts.modelDir}`);
  const info = await inspectModelDir(opts.modelDir, { iteration: opts.iteration, dataset: opts.dataset });
  const warnings = [...info.warnings];

  report('ply', 0, `reading ${path.relative(process.cwd(), info.plyPath) || info.plyPath}`);
  const ply = await readPly(info.plyPath);
  const { cloud, features } = ply;
  if (info.cfg?.shDegree !== undefined && info.cfg.shDegree !== cloud.shDegree) {
    warnings.push(`cfg_args says sh_degree=${info.cfg.shDegree} but the .ply holds degree ${cloud.shDegree} coefficients; using the .ply`);
  }
  if (info.cfg?.semanticDimension !== undefined && features && info.cfg.semanticDimension !== features.dim) {
    throw new ImportError(`${info.plyPath}: cfg_args says semantic_dimension=${info.cfg.semanticDimension} but the .ply has ${features.dim} sem_* properties`);
  }
  if (!features) warnings.push('the .ply has no sem_* properties: the scene has no semantic features, so selection by click or text is unavailable');
  report('ply', 1, `${cloud.count} Gaussians, SH degree ${cloud.shDegree}, ${features ? `${features.dim}-D features` : 'no features'}`);

  let deformNet: { spec: DeformNetworkSpec; tensors: Map<string, Tensor> } | null = null;
  if (info.deformPath) {
    report('deform', 0, `reading ${info.deformPath}`);
    const tensors = readStateDict(new Uint8Array(await readFile(info.deformPath)), info.deformPath);
    const spec = inferDeformNetwork(tensors, { isBlender: info.cfg?.isBlender, is6dof: info.cfg?.is6dof });
    warnings.push(...spec.notes.map((n) => `deform.pth: ${n}`));
    // Keep only the network's own tensors in the bundle.
    for (const k of spec.ignoredKeys) tensors.delete(k);
    deformNet = { spec, tensors };
    report('deform', 1, describeDeformNetwork(spec));
  }

  report('dataset', 0, 'reading cameras');
  let views: DatasetView[] = [];
  let datasetDir: string | undefined;
  if (info.datasetDir) {
    const ds = await readDataset(info.datasetDir, { kind: info.datasetKind, hypernerf: { intrinsics: 'deformable3dgs' } });
    views = ds.views;
    datasetDir = ds.dir;
    warnings.push(...ds.warnings);
    if (ds.missingImages.length) warnings.push(`${ds.missingImages.length} dataset images are missing (cameras and times still load), e.g. ${ds.missingImages.slice(0, 3).join(', ')}`);
  } else if (info.cameras?.length) {
    const n = info.cameras.length;
    views = info.cameras.map((c, i) => ({ split: 'train' as const, index: i, time: n > 1 && deformNet ? i / (n - 1) : 0, camera: c.camera }));
    if (deformNet) warnings.push('no dataset found: views come from cameras.json, whose frames carry no time; times are spread evenly over [0, 1]');
  } else {
    warnings.push('no dataset and no cameras.json: generated 16 orbit views around the scene');
    views = orbitViews(cloud, Boolean(deformNet));
  }
  const home = homeFor(cloud, views);
  report('dataset', 1, `${views.length} views`);

  const name = opts.name ?? (path.basename(info.kind === 'ply' ? info.plyPath.replace(/\.ply$/i, '') : info.path) || 'scene');
  const sceneId = await uniqueId(store, name);
  const background: [number, number, number] = info.whiteBackground ? [1, 1, 1] : [0, 0, 0];

  let runner: DeformRunner | null = null;
  let keyframes: Parameters<typeof writeBundle>[1]['keyframes'] = [];
  if (opts.bake && deformNet) {
    runner = await DeformRunner.create(deformNet.spec, deformNet.tensors);
    const times = bakeTimes(views);
    const r = runner;
    keyframes = {
      times,
      compute: async (t, i) => {
        report('bake', i / times.length, `baking deformation t=${t.toFixed(4)} (${i + 1}/${times.length})`);
        return r.run(cloud.positions, t);
      },
    };
  } else if (opts.bake) {
    warnings.push('--bake ignored: the scene has no deformation network');
  }

  try {
    if (!runner) report('write', 0, `writing scene ${sceneId}`);
    await writeBundle(store.scenesDir, {
      id: sceneId,
      name,
      source: info.path,
      cloud,
      features,
      keyframes,
      views,
      datasetDir,
      home,
      background,
      deformNet,
    });
  } finally {
    runner?.dispose();
  }
  report('done', 1, `imported ${sceneId}`);
  return {
    sceneId,
    name,
    count: cloud.count,
    featureDim: features?.dim ?? 0,
    dynamic: Boolean(deformNet),
    views: views.length,
    keyframes: Array.isArray(keyframes) ? keyframes.length : keyframes.times.length,
    warnings,
  };
}

/** Every distinct dataset time, the times a bake precomputes. */
export function bakeTimes(views: DatasetView[]): number[] {
  const ts = new Set<number>();
  for (const v of views) ts.add(Math.round(v.time * 1e6) / 1e6);
  if (ts.size === 0) for (let i = 0; i <= 10; i++) ts.add(i / 10);
  return [...ts].sort((a, b) => a - b);
}

async function uniqueId(store: SceneStore, name: string): Promise<string> {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'scene';
  for (;;) {
    const id = `${slug}-${randomBytes(3).toString('hex')}`;
    if (!(await store.exists(id))) return id;
  }
}

/** Robust centre and extent of the Gaussians (per-axis 5th..95th percentile of a sample). */
function robustBounds(cloud: GaussianCloud): { centre: Vec3; radius: number } {
  const n = cloud.count;
  const step = Math.max(1, Math.floor(n / 20000));
  const axes: number[][] = [[], [], []];
  for (let i = 0; i < n; i += step) for (let a = 0; a < 3; a++) axes[a]!.push(cloud.positions[i * 3 + a]!);
  const lo: number[] = [];
  const hi: number[] = [];
  for (const xs of axes) {
    xs.sort((p, q) => p - q);
    lo.push(xs[Math.floor(xs.length * 0.05)] ?? 0);
    hi.push(xs[Math.floor(xs.length * 0.95)] ?? 0);
  }
  const centre: Vec3 = [(lo[0]! + hi[0]!) / 2, (lo[1]! + hi[1]!) / 2, (lo[2]! + hi[2]!) / 2];
  const radius = Math.max(1e-3, Math.hypot(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) / 2);
  return { centre, radius };
}

function homeFor(cloud: GaussianCloud, views: DatasetView[]): BundleHeader['home'] {
  const { centre } = robustBounds(cloud);
  const first = views.find((v) => v.split === 'train') ?? views[0];
  if (first) {
    const m = first.camera.worldToCamera;
    const up: Vec3 = [-m[4]!, -m[5]!, -m[6]!]; // OpenCV y points down: world up is -y_cam
    // Orbit about the point on the optical axis nearest the scene centre.
    const pos = cameraPosition(first.camera);
    const fwd: Vec3 = [m[8]!, m[9]!, m[10]!];
    const d = Math.max(0.1, (centre[0] - pos[0]) * fwd[0] + (centre[1] - pos[1]) * fwd[1] + (centre[2] - pos[2]) * fwd[2]);
    const target: Vec3 = [pos[0] + fwd[0] * d, pos[1] + fwd[1] * d, pos[2] + fwd[2] * d];
    return { camera: first.camera, target, up };
  }
  return orbitHome(cloud);
}

function orbitHome(cloud: GaussianCloud): BundleHeader['home'] {
  const { centre, radius } = robustBounds(cloud);
  const eye: Vec3 = [centre[0], centre[1] + radius * 0.6, centre[2] + radius * 2.2];
  return { camera: makeCamera(800, 800, (50 * Math.PI) / 180, eye, centre, [0, 1, 0]), target: centre, up: [0, 1, 0] };
}

function orbitViews(cloud: GaussianCloud, dynamic: boolean): DatasetView[] {
  const { centre, radius } = robustBounds(cloud);
  const out: DatasetView[] = [];
  for (let i = 0; i < 16; i++) {
    const a = (i / 16) * Math.PI * 2;
    const eye: Vec3 = [centre[0] + Math.sin(a) * radius * 2.2, centre[1] + radius * 0.6, centre[2] + Math.cos(a) * radius * 2.2];
    const camera: CameraJSON = { ...makeCamera(800, 800, (50 * Math.PI) / 180, eye, centre, [0, 1, 0]), worldToCamera: lookAt(eye, centre, [0, 1, 0]) };
    out.push({ split: 'train', index: i, time: dynamic ? i / 15 : 0, camera });
  }
  return out;
}
