// D-NeRF / Blender-synthetic dataset reader: transforms_{train,test,val}.json -> dataset views.
//
// Conventions (as the D-NeRF data and Deformable-3DGS's readCamerasFromTransforms use them):
// - `camera_angle_x` is the horizontal field of view in radians; fx = fy = 0.5 W / tan(0.5 angle),
//   principal point at the image centre, W x H from the image file itself.
// - `frames[].transform_matrix` is a Blender / OpenGL camera-to-world 4x4 (x right, y up,
//   z backward); converted to the OpenCV world-to-camera of CameraJSON.
// - `frames[].time` in [0, 1]; when no frame has one, frame k of n gets k / (n - 1).
// - Image: `file_path` + ".png" (unless it already names an image) relative to the dataset dir.
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetView } from '../../protocol/events';
import { openglCameraToWorldToOpenCV } from '../../scene/camera';
import type { CameraJSON } from '../../scene/types';
import {
  ImportInputError,
  JsonReader,
  ROTATION_TOLERANCE,
  isDir,
  isFile,
  listSome,
  readJsonFile,
  rotationError,
  type DatasetReadResult,
} from './common';

type Split = DatasetView['split'];

/** Image size assumed when no image of the dataset can be found (the D-NeRF renders' size). */
export const DNERF_DEFAULT_SIZE = { width: 800, height: 800 } as const;

interface Frame {
  split: Split;
  index: number;
  time: number;
  cameraToWorld: number[]; // [16] row-major, OpenGL camera axes
  angleX: number;
  image: string; // relative to the dataset dir, posix
  exists: boolean;
}

const IMAGE_EXT = /\.(png|jpe?g|webp|exr)$/i;

/** Reads a D-NeRF dataset directory (transforms_train.json and transforms_test.json required). */
export async function readDNerf(dir: string): Promise<DatasetReadResult> {
  const root = path.resolve(dir);
  if (!(await isDir(root))) throw new ImportInputError(root, 'D-NeRF dataset directory not found');
  const warnings: string[] = [];
  const frames: Frame[] = [];
  const redirects = new Map<string, string | null>(); // referenced folder -> folder used (null: neither exists)

  for (const split of ['train', 'test', 'val'] as const) {
    const file = path.join(root, `transforms_${split}.json`);
    if (split === 'val' && !(await isFile(file))) continue;
    if (!(await isFile(file))) {
      throw new ImportInputError(file, `missing: a D-NeRF dataset needs transforms_train.json and transforms_test.json`);
    }
    frames.push(...(await readTransforms(root, file, split, warnings, redirects)));
  }

  for (const [from, to] of redirects) {
    if (to === null) warnings.push(`image folder ${from}/ does not exist (nor a sibling folder named after the split)`);
    else if (to !== from) warnings.push(`image folder ${from}/ does not exist; using ${to}/ instead`);
  }

  // Image sizes from the files; frames without an image take the first size found.
  const sizes = new Map<string, { width: number; height: number }>();
  for (const f of frames) {
    if (!f.exists) continue;
    const abs = path.join(root, f.image);
    try {
      const meta = await sharp(abs).metadata();
      if (!meta.width || !meta.height) throw new Error('no width/height in the image header');
      sizes.set(f.image, { width: meta.width, height: meta.height });
    } catch (e) {
      throw new ImportInputError(abs, `cannot read the image size: ${(e as Error).message}`);
    }
  }
  const distinct = new Set([...sizes.values()].map((s) => `${s.width}x${s.height}`));
  if (distinct.size > 1) warnings.push(`images have different sizes (${[...distinct].join(', ')}); each view uses its own image's size`);
  let fallback = sizes.values().next().value as { width: number; height: number } | undefined;
  if (!fallback) {
    fallback = { ...DNERF_DEFAULT_SIZE };
    warnings.push(`no image found; assuming ${fallback.width}x${fallback.height} for every view's intrinsics`);
  }

  const missingImages = frames.filter((f) => !f.exists).map((f) => f.image);
  for (const split of ['train', 'test', 'val'] as const) {
    const all = frames.filter((f) => f.split === split);
    const missing = all.filter((f) => !f.exists).map((f) => f.image);
    if (missing.length) {
      warnings.push(`${missing.length} of ${all.length} ${split} images missing (cameras and times still loaded): ${listSome(missing)}`);
    }
  }

  const views: DatasetView[] = frames.map((f) => {
    const { width, height } = sizes.get(f.image) ?? fallback;
    const focal = (0.5 * width) / Math.tan(0.5 * f.angleX);
    const camera: CameraJSON = {
      width,
      height,
      fx: focal,
      fy: focal,
      cx: width / 2,
      cy: height / 2,
      worldToCamera: openglCameraToWorldToOpenCV(f.cameraToWorld),
    };
    const view: DatasetView = { split: f.split, index: f.index, time: f.time, camera };
    if (f.exists) view.image = f.image;
    return view;
  });

  return { kind: 'dnerf', dir: root, views, missingImages, warnings };
}

async function readTransforms(
  root: string,
  file: string,
  split: Split,
  warnings: string[],
  redirects: Map<string, string | null>,
): Promise<Frame[]> {
  const j: JsonReader = new JsonReader(file);
  const top = j.object(await readJsonFile(file, 'transforms file'), '');
  const angleX = j.number(top.camera_angle_x, 'camera_angle_x');
  if (!(angleX > 0 && angleX < Math.PI)) j.fail('camera_angle_x', `${angleX} is not a field of view in (0, pi) radians`);
  const list = j.array(top.frames, 'frames');
  if (list.length === 0) j.fail('frames', 'no frames');
  const base = path.basename(file);

  const withTime = list.filter((f) => typeof f === 'object' && f !== null && 'time' in f).length;
  if (withTime !== 0 && withTime !== list.length) {
    j.fail('frames', `${withTime} of ${list.length} frames have a "time"; either all or none must`);
  }
  if (withTime === 0) warnings.push(`${base}: frames have no "time"; using frame index / (count - 1)`);

  const out: Frame[] = [];
  for (let i = 0; i < list.length; i++) {
    const where = `frames[${i}]`;
    const fr = j.object(list[i], where);
    if (fr.transform_matrix === undefined) j.fail(where, 'no transform_matrix');
    const m = j.matrix(fr.transform_matrix, 4, 4, `${where}.transform_matrix`);
    if (Math.abs(m[12]!) + Math.abs(m[13]!) + Math.abs(m[14]!) + Math.abs(m[15]! - 1) > 1e-6) {
      j.fail(`${where}.transform_matrix`, `last row is [${m.slice(12).join(', ')}], expected [0, 0, 0, 1]`);
    }
    const rot = [m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!];
    const err = rotationError(rot);
    if (err > ROTATION_TOLERANCE) {
      j.fail(`${where}.transform_matrix`, `the upper 3x3 is not a rotation (error ${err.toExponential(2)}); scaled or mirrored cameras are not supported`);
    }
    let time: number;
    if (withTime) {
      time = j.number(fr.time, `${where}.time`);
      if (time < 0 || time > 1) warnings.push(`${base} ${where}.time is ${time}, outside [0, 1]`);
    } else {
      time = list.length > 1 ? i / (list.length - 1) : 0;
    }
    const filePath = j.string(fr.file_path, `${where}.file_path`);
    const { rel, exists } = await resolveImage(root, filePath, split, redirects);
    out.push({ split, index: i, time, cameraToWorld: m, angleX, image: rel, exists });
  }
  return out;
}

/**
 * `file_path` -> image path relative to the dataset dir. When the referenced folder does not
 * exist (the real lego data points at `./train_low/` but ships `train/`), the sibling folder
 * named after the split is used if it exists.
 */
async function resolveImage(
  root: string,
  filePath: string,
  split: Split,
  redirects: Map<string, string | null>,
): Promise<{ rel: string; exists: boolean }> {
  let rel = path.posix.normalize(filePath.replace(/\\/g, '/'));
  if (!IMAGE_EXT.test(rel)) rel += '.png';
  if (path.posix.isAbsolute(rel)) rel = path.relative(root, rel).split(path.sep).join('/');
  const folder = path.posix.dirname(rel);
  let use = redirects.get(folder);
  if (use === undefined) {
    use = folder;
    if (!(await isDir(path.join(root, folder)))) {
      const sibling = path.posix.join(path.posix.dirname(folder), split);
      use = sibling !== folder && (await isDir(path.join(root, sibling))) ? sibling : null;
    }
    redirects.set(folder, use);
  }
  if (use !== null && use !== folder) rel = path.posix.join(use, path.posix.basename(rel));
  return { rel, exists: await isFile(path.join(root, rel)) };
}
