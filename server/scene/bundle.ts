// Scene bundle on disk: `bundle.json` (small header) + `data.bin` (raw little-endian arrays,
// 64-byte aligned) that loads with one read and no parsing. See docs/ARCHITECTURE.md.
import { mkdir, rename, rm, writeFile, readFile, open } from 'node:fs/promises';
import path from 'node:path';
import { floatToHalf, halfToFloat } from './half';
import type { DatasetView } from '../protocol/events';
import type { DeformNetworkSpec } from '../deform/network';
import type { Tensor } from '../import/pth';
import type { CameraJSON, DeformKeyframe, DeformSample, GaussianCloud, SemanticFeatures, ShDegree } from './types';
import { shCoeffCount } from './types';

export const BUNDLE_FORMAT = 'splatsync-bundle';
export const BUNDLE_VERSION = 1;

type DType = 'f32' | 'f16' | 'u8';
interface ArrayEntry {
  dtype: DType;
  shape: number[];
  offset: number;
  byteLength: number;
}

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  version: number;
  id: string;
  name: string;
  createdAt: string;
  source: string;
  count: number;
  shDegree: ShDegree;
  featureDim: number;
  background: [number, number, number];
  home: { camera: CameraJSON; target: [number, number, number]; up: [number, number, number] };
  views: DatasetView[];
  /** Absolute dataset directory at import time; views' `image` paths are relative to it. */
  datasetDir?: string;
  partNames?: string[];
  keyframeTimes: number[];
  /** The deformation MLP (imported DGD / Deformable-3DGS scenes); weights are `net:<key>` arrays. */
  deformNet?: { spec: DeformNetworkSpec; keys: string[] };
  arrays: Record<string, ArrayEntry>;
}

export interface DeformNet {
  spec: DeformNetworkSpec;
  tensors: Map<string, Tensor>;
}

export interface SceneBundle {
  header: BundleHeader;
  /** `cloud.sh` is decoded from `shHalf` on first access. */
  cloud: GaussianCloud;
  /** [N,K,3] SH as stored (fp16 bits). */
  shHalf?: Uint16Array;
  /** [N,D] fp16 bits, in their own buffer (the runtime uploads them to the native scene and drops this). */
  featuresHalf: Uint16Array | null;
  /** Where the fp16 features lie in data.bin, when loaded with `featuresOnDisk`. */
  featuresFile?: { path: string; offset: number; dim: number } | null;
  partIds: Uint8Array | null;
  keyframes: DeformKeyframe[];
  deformNet: DeformNet | null;
}

/** Keyframes computed while the bundle is written (bake), so they are never all in memory. */
export interface LazyKeyframes {
  times: number[];
  compute: (t: number, index: number) => Promise<DeformSample>;
}

export interface BundleInput {
  id: string;
  name: string;
  source: string;
  cloud: GaussianCloud;
  features: SemanticFeatures | null;
  /** Features already in fp16 (a bundle being rewritten), instead of `features`. */
  featuresHalf?: { dim: number; half: Uint16Array } | null;
  partIds?: Uint8Array | null;
  partNames?: string[];
  keyframes: DeformKeyframe[] | LazyKeyframes;
  views: DatasetView[];
  datasetDir?: string;
  home: BundleHeader['home'];
  background: [number, number, number];
  deformNet?: DeformNet | null;
  /** Replace an existing scene of this id (default: refuse). */
  replace?: boolean;
}

const ALIGN = 64;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

type TypedArray = Float32Array | Uint16Array | Uint8Array;
interface Part {
  name: string;
  dtype: DType;
  shape: number[];
  /** Produces the bytes when it is this part's turn to be written. */
  bytes: () => Promise<TypedArray> | TypedArray;
}
const BYTES: Record<DType, number> = { f32: 4, f16: 2, u8: 1 };

/**
 * Writes a bundle atomically: into a temp dir beside the target, then one rename; a failure
 * (or a throwing keyframe computation) leaves nothing behind. Parts are written one at a
 * time, so a baked scene never holds all its keyframes in memory.
 */
export async function writeBundle(scenesDir: string, input: BundleInput): Promise<string> {
  const { cloud } = input;
  const n = cloud.count;
  const k = shCoeffCount(cloud.shDegree);
  const parts: Part[] = [];
  const add = (name: string, dtype: DType, shape: number[], bytes: Part['bytes']) => parts.push({ name, dtype, shape, bytes });
  const f16 = (a: Float32Array) => () => floatToHalf(a);
  add('positions', 'f32', [n, 3], () => cloud.positions);
  add('rotations', 'f32', [n, 4], () => cloud.rotations);
  add('logScales', 'f32', [n, 3], () => cloud.logScales);
  add('opacityLogits', 'f32', [n], () => cloud.opacityLogits);
  add('sh', 'f16', [n, k, 3], f16(cloud.sh));
  if (input.features) add('features', 'f16', [n, input.features.dim], f16(input.features.data));
  else if (input.featuresHalf) add('features', 'f16', [n, input.featuresHalf.dim], () => input.featuresHalf!.half);
  if (input.partIds) add('partIds', 'u8', [n], () => input.partIds!);
  const netKeys = input.deformNet ? [...input.deformNet.tensors.keys()] : [];
  for (const key of netKeys) {
    const tensor = input.deformNet!.tensors.get(key)!;
    add(`net:${key}`, 'f32', tensor.shape, () => tensor.data);
  }
  let keyframeTimes: number[];
  if (Array.isArray(input.keyframes)) {
    const kfs = [...input.keyframes].sort((a, b) => a.t - b.t);
    keyframeTimes = kfs.map((kf) => kf.t);
    kfs.forEach((kf, i) => {
      add(`kf${i}.dxyz`, 'f16', [n, 3], f16(kf.dxyz));
      add(`kf${i}.drot`, 'f16', [n, 4], f16(kf.drot));
      add(`kf${i}.dscale`, 'f16', [n, 3], f16(kf.dscale));
    });
  } else {
    const lazy = input.keyframes;
    keyframeTimes = [...lazy.times].sort((a, b) => a - b);
    keyframeTimes.forEach((t, i) => {
      let sample: Promise<DeformSample> | null = null;
      const get = () => (sample ??= lazy.compute(t, i));
      add(`kf${i}.dxyz`, 'f16', [n, 3], async () => floatToHalf((await get()).dxyz));
      add(`kf${i}.drot`, 'f16', [n, 4], async () => floatToHalf((await get()).drot));
      add(`kf${i}.dscale`, 'f16', [n, 3], async () => floatToHalf((await get()).dscale));
    });
  }

  const arrays: Record<string, ArrayEntry> = {};
  let offset = 0;
  for (const p of parts) {
    const byteLength = p.shape.reduce((a, b) => a * b, 1) * BYTES[p.dtype];
    arrays[p.name] = { dtype: p.dtype, shape: p.shape, offset, byteLength };
    offset = align(offset + byteLength);
  }

  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    id: input.id,
    name: input.name,
    createdAt: new Date().toISOString(),
    source: input.source,
    count: n,
    shDegree: cloud.shDegree,
    featureDim: input.features?.dim ?? input.featuresHalf?.dim ?? 0,
    background: input.background,
    home: input.home,
    views: input.views,
    datasetDir: input.datasetDir,
    partNames: input.partNames,
    keyframeTimes,
    deformNet: input.deformNet ? { spec: input.deformNet.spec, keys: netKeys } : undefined,
    arrays,
  };
  const finalDir = path.join(scenesDir, input.id);
  const tmpDir = path.join(scenesDir, `.tmp-${input.id}-${process.pid}-${Date.now()}`);
  await mkdir(tmpDir, { recursive: true });
  try {
    const fh = await open(path.join(tmpDir, 'data.bin'), 'w');
    try {
      for (const p of parts) {
        const arr = await p.bytes();
        const e = arrays[p.name]!;
        if (arr.byteLength !== e.byteLength) throw new Error(`bundle array ${p.name}: expected ${e.byteLength} bytes (${p.shape.join('x')} ${p.dtype}), got ${arr.byteLength}`);
        await fh.write(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), 0, arr.byteLength, e.offset);
      }
      await fh.truncate(offset);
    } finally {
      await fh.close();
    }
    await writeFile(path.join(tmpDir, 'bundle.json'), JSON.stringify(header, null, 1));
    if (input.replace) {
      // Swap by renames so a reader sees the old or the new bundle, never neither for long.
      const oldDir = `${tmpDir}-old`;
      const had = await rename(finalDir, oldDir).then(() => true, () => false);
      await rename(tmpDir, finalDir);
      if (had) await rm(oldDir, { recursive: true, force: true });
    } else {
      await rename(tmpDir, finalDir);
    }
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new Error(`a scene with id ${input.id} already exists in ${scenesDir}`);
    throw err;
  }
  return finalDir;
}

export class BundleError extends Error {}

/** Reads file bytes [from, to) into dst at (from - base). */
async function readRange(fh: import('node:fs/promises').FileHandle, dst: Uint8Array, from: number, to: number, file: string, base = 0): Promise<void> {
  let pos = from;
  while (pos < to) {
    const { bytesRead } = await fh.read(dst, pos - base, Math.min(to - pos, 1 << 30), pos);
    if (bytesRead === 0) throw new BundleError(`${file}: short read at byte ${pos} of ${to} (truncated bundle?)`);
    pos += bytesRead;
  }
}

export async function readBundleHeader(dir: string): Promise<BundleHeader> {
  const file = path.join(dir, 'bundle.json');
  let header: BundleHeader;
  try {
    header = JSON.parse(await readFile(file, 'utf8')) as BundleHeader;
  } catch (err) {
    throw new BundleError(`${file}: cannot read the bundle header (${(err as Error).message})`);
  }
  if (header.format !== BUNDLE_FORMAT) throw new BundleError(`${file}: not a Splatsync bundle`);
  if (header.version !== BUNDLE_VERSION) throw new BundleError(`${file}: bundle version ${header.version}, this Splatsync reads ${BUNDLE_VERSION}; re-import the scene`);
  return header;
}

/** Loads a bundle with one read of data.bin; arrays are views into that one buffer where the dtype allows. */
export interface LoadOptions {
  /**
   * Leave the features on disk (`featuresFile` tells where): the native scene reads them itself,
   * so they are touched once instead of faulted into a JS buffer and copied.
   */
  featuresOnDisk?: boolean;
}

export async function loadBundle(dir: string, opts: LoadOptions = {}): Promise<SceneBundle> {
  const header = await readBundleHeader(dir);
  const file = path.join(dir, 'data.bin');
  const fh = await open(file, 'r');
  let buf: Uint8Array;
  let featuresHalf: Uint16Array | null = null;
  try {
    const { size } = await fh.stat();
    // Features (the bulk of a DGD scene) get their own buffer so the runtime can hand them to the
    // native scene and let the JS copy go; the main buffer's hole where they lie is never
    // touched, so it costs no resident memory.
    const fe = header.arrays.features;
    if (fe && (fe.dtype !== 'f16' || fe.offset % ALIGN !== 0 || fe.offset + fe.byteLength > size)) throw new BundleError(`${file}: array features lies outside the file (truncated bundle?)`);
    const ranges: [number, number][] = fe ? [[0, fe.offset], [fe.offset + fe.byteLength, size]] : [[0, size]];
    buf = new Uint8Array(size);
    for (const [from, to] of ranges) await readRange(fh, buf, from, to, file);
    if (fe && !opts.featuresOnDisk) {
      featuresHalf = new Uint16Array(fe.byteLength / 2);
      await readRange(fh, new Uint8Array(featuresHalf.buffer), fe.offset, fe.offset + fe.byteLength, file, fe.offset);
    }
  } finally {
    await fh.close();
  }
  const view = (name: string, dtype: DType, required: boolean): Float32Array | Uint16Array | Uint8Array | null => {
    const e = header.arrays[name];
    if (!e) {
      if (required) throw new BundleError(`${file}: array ${name} is missing`);
      return null;
    }
    if (e.dtype !== dtype) throw new BundleError(`${file}: array ${name} is ${e.dtype}, expected ${dtype}`);
    if (e.offset % ALIGN !== 0 || e.offset + e.byteLength > buf.byteLength) throw new BundleError(`${file}: array ${name} lies outside the file (truncated bundle?)`);
    if (dtype === 'f32') return new Float32Array(buf.buffer, e.offset, e.byteLength / 4);
    if (dtype === 'f16') return new Uint16Array(buf.buffer, e.offset, e.byteLength / 2);
    return new Uint8Array(buf.buffer, e.offset, e.byteLength);
  };
  const f32 = (name: string) => view(name, 'f32', true) as Float32Array;
  const f16 = (name: string) => halfToFloat(view(name, 'f16', true) as Uint16Array);
  const shHalf = view('sh', 'f16', true) as Uint16Array;
  const cloud = {
    count: header.count,
    shDegree: header.shDegree,
    positions: f32('positions'),
    rotations: f32('rotations'),
    logScales: f32('logScales'),
    opacityLogits: f32('opacityLogits'),
  } as GaussianCloud;
  // SH stay fp16 (the native scene takes them as they are); decoded only if someone reads them.
  let shF32: Float32Array | null = null;
  Object.defineProperty(cloud, 'sh', { enumerable: true, get: () => (shF32 ??= halfToFloat(shHalf)) });
  const keyframes = header.keyframeTimes.map((t, i) => ({ t, dxyz: f16(`kf${i}.dxyz`), drot: f16(`kf${i}.drot`), dscale: f16(`kf${i}.dscale`) }));
  let deformNet: DeformNet | null = null;
  if (header.deformNet) {
    const tensors = new Map<string, Tensor>();
    for (const key of header.deformNet.keys) {
      const e = header.arrays[`net:${key}`];
      tensors.set(key, { dtype: 'float32', shape: e?.shape ?? [], data: f32(`net:${key}`), device: 'cpu' });
    }
    deformNet = { spec: header.deformNet.spec, tensors };
  }
  return {
    header,
    cloud,
    shHalf,
    featuresHalf,
    featuresFile: opts.featuresOnDisk && header.arrays.features ? { path: file, offset: header.arrays.features.offset, dim: header.featureDim } : null,
    partIds: view('partIds', 'u8', false) as Uint8Array | null,
    keyframes,
    deformNet,
  };
}
