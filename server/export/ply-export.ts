// Object / scene export as a standard 3DGS .ply (the layout of server/scene/ply.ts writePly:
// x y z nx ny nz f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3 [sem_*]) that other 3DGS viewers
// open, plus the deformation of dynamic scenes and a JSON sidecar saying what was exported.
//
// What is written:
// - whole scene (members null): every Gaussian, with the room's appearance edits applied
//   (unless edits are off): a hidden label's Gaussians are removed, opacity multiplied, tint
//   baked into the colour;
// - one label (members = its membership): its Gaussians, with opacity and tint edits applied but
//   never removed for being hidden (asking for the object is asking for it).
// Opacity: the .ply stores a logit; scaling the opacity by s gives logit(s * sigmoid(o)), computed
//   in float64 (s = 0 removes the Gaussian: logit(0) is -inf).
// Tint: the renderer mixes the colour after SH evaluation, c' = (1 - m) c + m tint. Colour is
//   linear in the SH coefficients (c = C0 f_dc + 0.5 + higher bands), so the same mix is
//   f_dc' = ((1 - m)(C0 f_dc + 0.5) + m tint - 0.5) / C0 and f_rest' = (1 - m) f_rest: exact
//   in every direction, except where the unedited colour was negative before the renderer's
//   clamp at 0 (the renderer clamps first, then mixes).
// Values: positions, rotations, scales and opacities are the bundle's float32 (as imported);
//   SH and features are the bundle's fp16, widened (what Splatsync renders).
// Deformation: a scene with its MLP gets `<out>.deform.pth` (torch state_dict, readable by
//   DGD / Deformable-3DGS' DeformModel; the MLP is per Gaussian, so it applies to a subset too);
//   a scene with keyframes only gets `<out>.keyframes.npz` (t [T], d_xyz [T,n,3], d_rotation
//   [T,n,4], d_scaling [T,n,3], applied as mean = x + d_xyz, rot = r + d_rotation,
//   scale = exp(s) + d_scaling, linearly interpolated between keyframes).
import { open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SceneBundle } from '../scene/bundle';
import { halfToFloat } from '../scene/half';
import { shCoeffCount } from '../scene/types';
import type { AppearanceArrays } from './appearance';
import { bytesOf, npyHeader } from './npy';
import { ZipSink } from './sinks';
import { writeStateDict } from './torch-save';

export const SH_C0 = 0.28209479177387814;
/** Source Gaussians decoded per step (SH + features of one block in memory at a time). */
const BLOCK = 16384;

export interface PlyExportInput {
  bundle: SceneBundle;
  /** The bundle's directory (features are read from its data.bin block by block). */
  bundleDir: string;
  /** [N] 1 = export this Gaussian (a label's membership); null = the whole scene. */
  members: Uint8Array | null;
  /** Edits to apply (computeAppearance); null = none. */
  appearance: AppearanceArrays | null;
  /** Include sem_* features (when the scene has them). */
  features: boolean;
  /** Output .ply path; the deformation and sidecar go beside it. */
  out: string;
  /** Written into the sidecar JSON (scene, room, version, label...). */
  meta?: Record<string, unknown>;
  onProgress?: (fraction: number, message: string) => void;
}

export interface PlyExportResult {
  ply: string;
  count: number;
  files: string[];
  featureDim: number;
  deform: 'mlp' | 'keyframes' | null;
}

function sideFile(out: string, suffix: string): string {
  return out.replace(/\.ply$/i, '') + suffix;
}

/** logit(s * sigmoid(o)) for s in (0, 1], in float64. */
export function scaleOpacityLogit(logit: number, s: number): number {
  if (s === 1) return logit;
  // log(p / (1 - p)) with p = s / (1 + e^-o): p / (1 - p) = s / (1 + e^-o - s)
  const e = Math.exp(-logit);
  return Math.log(s) - Math.log(1 + e - s);
}

export async function exportPly(input: PlyExportInput): Promise<PlyExportResult> {
  const { bundle, members, appearance } = input;
  const h = bundle.header;
  const n = h.count;
  const K = shCoeffCount(h.shDegree);
  const D = input.features ? h.featureDim : 0;
  const scale = appearance?.opacityScale ?? null;
  const tint = appearance?.tint ?? null;
  const dropHidden = members === null;
  const keep = (i: number) => (members ? members[i] !== 0 : true) && !(dropHidden && scale !== null && scale[i] === 0);
  let count = 0;
  for (let i = 0; i < n; i++) if (keep(i)) count++;
  if (count === 0) throw new Error(members ? 'the label selects no Gaussian: nothing to export' : 'every Gaussian is hidden: nothing to export');

  const names = ['x', 'y', 'z', 'nx', 'ny', 'nz', 'f_dc_0', 'f_dc_1', 'f_dc_2'];
  for (let j = 0; j < 3 * (K - 1); j++) names.push(`f_rest_${j}`);
  names.push('opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3');
  for (let d = 0; d < D; d++) names.push(`sem_${d}`);
  const P = names.length;
  const comments = [`splatsync export of scene ${h.id}`];
  const header = ['ply', 'format binary_little_endian 1.0', ...comments.map((c) => `comment ${c}`), `element vertex ${count}`, ...names.map((p) => `property float ${p}`), 'end_header', ''].join('\n');

  const outFile = path.resolve(input.out);
  const tmp = `${outFile}.partial-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  const written: string[] = [];
  try {
    await fh.write(header);
    const shHalf = bundle.shHalf ?? null;
    const shF32 = shHalf ? null : bundle.cloud.sh;
    const featEntry = D > 0 ? h.arrays.features : undefined;
    const dataFile = D > 0 ? await open(path.join(input.bundleDir, 'data.bin'), 'r') : null;
    try {
      const { positions, rotations, logScales, opacityLogits } = bundle.cloud;
      const row = new Float32Array(P);
      for (let b0 = 0; b0 < n; b0 += BLOCK) {
        const b1 = Math.min(n, b0 + BLOCK);
        let rows = 0;
        for (let i = b0; i < b1; i++) if (keep(i)) rows++;
        if (rows === 0) continue;
        const sh = shHalf ? halfToFloat(shHalf.subarray(b0 * K * 3, b1 * K * 3)) : shF32!.subarray(b0 * K * 3, b1 * K * 3);
        let feats: Float32Array | null = null;
        if (dataFile && featEntry) {
          const bytes = new Uint8Array((b1 - b0) * D * 2);
          const { bytesRead } = await dataFile.read(bytes, 0, bytes.length, featEntry.offset + b0 * D * 2);
          if (bytesRead !== bytes.length) throw new Error(`${path.join(input.bundleDir, 'data.bin')}: short read of the features (truncated bundle?)`);
          feats = halfToFloat(new Uint16Array(bytes.buffer, 0, bytes.length / 2));
        }
        const block = new Float32Array(rows * P);
        let r = 0;
        for (let i = b0; i < b1; i++) {
          if (!keep(i)) continue;
          const j = i - b0;
          row.fill(0);
          row[0] = positions[i * 3]!;
          row[1] = positions[i * 3 + 1]!;
          row[2] = positions[i * 3 + 2]!;
          // normals stay 0
          const m = tint ? tint[i * 4 + 3]! : 0;
          for (let c = 0; c < 3; c++) {
            const dc = sh[j * K * 3 + c]!;
            row[6 + c] = m > 0 ? ((1 - m) * (SH_C0 * dc + 0.5) + m * tint![i * 4 + c]! - 0.5) / SH_C0 : dc;
            for (let k = 1; k < K; k++) row[9 + c * (K - 1) + (k - 1)] = (1 - m) * sh[j * K * 3 + k * 3 + c]!;
          }
          const o = 9 + 3 * (K - 1);
          const s = scale ? scale[i]! : 1;
          row[o] = s > 0 ? scaleOpacityLogit(opacityLogits[i]!, s) : opacityLogits[i]!;
          row[o + 1] = logScales[i * 3]!;
          row[o + 2] = logScales[i * 3 + 1]!;
          row[o + 3] = logScales[i * 3 + 2]!;
          for (let q = 0; q < 4; q++) row[o + 4 + q] = rotations[i * 4 + q]!;
          if (feats) row.set(feats.subarray(j * D, (j + 1) * D), o + 8);
          block.set(row, r * P);
          r++;
        }
        await fh.write(new Uint8Array(block.buffer));
        input.onProgress?.(b1 / n * 0.9, `writing Gaussians ${b1}/${n}`);
      }
    } finally {
      await dataFile?.close();
    }
    await fh.close();
    await rename(tmp, outFile);
    written.push(outFile);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }

  // Deformation.
  let deform: PlyExportResult['deform'] = null;
  const deformFiles: Record<string, string> = {};
  if (bundle.deformNet) {
    deform = 'mlp';
    const file = sideFile(outFile, '.deform.pth');
    const tensors = new Map([...bundle.deformNet.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
    await writeFile(file, writeStateDict(tensors));
    written.push(file);
    deformFiles.weights = path.basename(file);
  } else if (bundle.keyframes.length > 0) {
    deform = 'keyframes';
    const file = sideFile(outFile, '.keyframes.npz');
    const sink = ZipSink.toFile(file);
    const kfs = bundle.keyframes;
    const sel = new Int32Array(count);
    for (let i = 0, r = 0; i < n; i++) if (keep(i)) sel[r++] = i;
    const gather = function* (field: 'dxyz' | 'drot' | 'dscale', width: number) {
      yield npyHeader('<f4', [kfs.length, count, width]);
      for (const kf of kfs) {
        const src = kf[field];
        const out = new Float32Array(count * width);
        for (let r = 0; r < count; r++) for (let c = 0; c < width; c++) out[r * width + c] = src[sel[r]! * width + c]!;
        yield bytesOf(out);
      }
    };
    try {
      await sink.writeChunks('t.npy', [npyHeader('<f8', [kfs.length]), bytesOf(Float64Array.from(kfs.map((k) => k.t)))]);
      await sink.writeChunks('d_xyz.npy', gather('dxyz', 3));
      await sink.writeChunks('d_rotation.npy', gather('drot', 4));
      await sink.writeChunks('d_scaling.npy', gather('dscale', 3));
      await sink.writeChunks('indices.npy', [npyHeader('<i4', [count]), bytesOf(sel)]);
      await sink.close();
    } catch (e) {
      await sink.abort(e as Error);
      throw e;
    }
    written.push(file);
    deformFiles.keyframes = path.basename(file);
  }
  input.onProgress?.(0.97, 'writing the sidecar');

  const sidecar = sideFile(outFile, '.json');
  const net = bundle.deformNet?.spec;
  const doc = {
    format: 'splatsync-ply-export',
    version: 1,
    ...input.meta,
    scene: { id: h.id, name: h.name, count: n },
    ply: path.basename(outFile),
    count,
    shDegree: h.shDegree,
    featureDim: D,
    editsApplied: Boolean(appearance?.any),
    deform: deform
      ? {
          kind: deform,
          files: deformFiles,
          ...(net
            ? { network: { depth: net.depth, width: net.width, skips: net.skips, xyzMultires: net.xyzMultires, tMultires: net.tMultires, isBlender: net.isBlender, is6dof: net.is6dof, notes: net.notes } }
            : { times: bundle.keyframes.map((k) => k.t) }),
        }
      : null,
  };
  await writeFile(sidecar, JSON.stringify(doc, null, 1));
  written.push(sidecar);
  input.onProgress?.(1, `exported ${count} Gaussians`);
  return { ply: outFile, count, files: written, featureDim: D, deform };
}
