// HyperNeRF / Nerfies dataset reader: dataset.json + metadata.json + scene.json + camera/<id>.json
// -> dataset views.
//
// Conventions (google/hypernerf camera.py, datasets/core.py load_camera, datasets/nerfies.py;
// Deformable-3DGS / DGD scene/dataset_readers.py readNerfiesCameras):
// - `orientation` is the world-to-camera rotation (rows are the camera axes in world
//   coordinates, OpenCV: x right, y down, z forward); `position` is the camera centre.
// - scene.json: positions become (position - center) * scale; rotations and focal lengths stay.
// - Intrinsics in full-resolution pixels: fx = focal_length, fy = focal_length *
//   pixel_aspect_ratio, (cx, cy) = principal_point, image_size = [width, height]; for the
//   rgb/<s>x images all are multiplied by 1/s and the size rounded, as Camera.scale does.
// - Splits: dataset.json train_ids -> 'train', val_ids -> 'test', in the file's order.
// - time = time_id / (largest time_id over the dataset's ids), as Deformable-3DGS normalizes
//   (time_id falls back to warp_id as HyperNeRF's get_time_id does).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetView } from '../../protocol/events';
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

export interface HyperNerfOptions {
  /** Image downscale: images are rgb/<scale>x/<id>.png. Default: the largest <N>x folder under rgb/, else 2. */
  scale?: number;
  /**
   * 'hypernerf' (default): the calibrated camera (fx, fy = fx * pixel_aspect_ratio, principal
   * point). 'deformable3dgs': as Deformable-3DGS / DGD train on it: fx = fy = focal_length,
   * principal point at the image centre (their rasterizer has no principal point).
   */
  intrinsics?: 'hypernerf' | 'deformable3dgs';
}

export interface HyperNerfReadResult extends DatasetReadResult {
  kind: 'hypernerf';
  /** The downscale used (rgb/<scale>x). */
  scale: number;
  /** One entry per view skipped because its camera file is missing: `camera/<id>.json (<split> <index>)`. */
  missingCameras: string[];
  /** The time_id that maps to time 1. */
  maxTimeId: number;
}

interface ParsedCamera {
  orientation: number[]; // [9] row-major, world-to-camera
  position: number[]; // [3] camera centre, dataset units
  focal: number;
  principalPoint: [number, number];
  pixelAspectRatio: number;
  skew: number;
  distorted: boolean;
  imageSize: [number, number]; // [width, height], full resolution
}

export async function readHyperNerf(dir: string, opts: HyperNerfOptions = {}): Promise<HyperNerfReadResult> {
  const root = path.resolve(dir);
  if (!(await isDir(root))) throw new ImportInputError(root, 'HyperNeRF dataset directory not found');
  const warnings: string[] = [];

  // dataset.json: the ids and the splits.
  const datasetFile = path.join(root, 'dataset.json');
  const dj: JsonReader = new JsonReader(datasetFile);
  const dataset = dj.object(await readJsonFile(datasetFile, 'HyperNeRF dataset.json'), '');
  const idList = (key: string) => (dataset[key] === undefined ? undefined : dj.array(dataset[key], key).map((v, i) => idString(dj, v, `${key}[${i}]`)));
  const ids = idList('ids');
  let trainIds = idList('train_ids');
  const valIds = idList('val_ids') ?? [];
  if (!trainIds) {
    if (!ids) dj.fail('', 'has neither "train_ids" nor "ids"');
    trainIds = ids;
    warnings.push('dataset.json has no train_ids; every id is a train view');
  }
  if (trainIds.length + valIds.length === 0) dj.fail('', 'lists no ids');
  const allIds = [...new Set([...(ids ?? []), ...trainIds, ...valIds])];

  // metadata.json: time ids.
  const metaFile = path.join(root, 'metadata.json');
  const mj: JsonReader = new JsonReader(metaFile);
  const meta = mj.object(await readJsonFile(metaFile, 'HyperNeRF metadata.json'), '');
  const timeIds = new Map<string, number>();
  const noMeta: string[] = [];
  for (const id of allIds) {
    if (meta[id] === undefined) {
      noMeta.push(id);
      continue;
    }
    const entry = mj.object(meta[id], id);
    const key = entry.time_id !== undefined ? 'time_id' : 'warp_id';
    const t = mj.number(entry[key], `${id}.${key}`);
    if (t < 0) mj.fail(`${id}.${key}`, `${t} is negative`);
    timeIds.set(id, t);
  }
  if (noMeta.length) mj.fail('', `no entry for ${noMeta.length} id${noMeta.length > 1 ? 's' : ''} of dataset.json: ${listSome(noMeta)}`);
  const maxTimeId = Math.max(...timeIds.values());

  // scene.json: the normalization of positions.
  const sceneFile = path.join(root, 'scene.json');
  const sj: JsonReader = new JsonReader(sceneFile);
  const scene = sj.object(await readJsonFile(sceneFile, 'HyperNeRF scene.json'), '');
  const sceneScale = sj.number(scene.scale, 'scale');
  if (!(sceneScale > 0)) sj.fail('scale', `${sceneScale} is not positive`);
  const center = sj.numbers(scene.center, 3, 'center');

  // Image folder and downscale.
  const scale = await pickScale(root, opts.scale, warnings);
  const imageDir = `rgb/${scale}x`;
  const haveImageDir = await isDir(path.join(root, imageDir));
  if (!haveImageDir) warnings.push(`image folder ${imageDir}/ not found: views have no images`);

  const views: DatasetView[] = [];
  const missingCameras: string[] = [];
  const missingImages: string[] = [];
  const distorted: string[] = [];
  const skewed: string[] = [];
  const resized: string[] = [];
  let offCentre = false;
  for (const [split, list] of [['train', trainIds], ['test', valIds]] as const) {
    for (let index = 0; index < list.length; index++) {
      const id = list[index]!;
      const camFile = path.join(root, 'camera', `${id}.json`);
      if (!(await isFile(camFile))) {
        missingCameras.push(`camera/${id}.json (${split} ${index})`);
        continue;
      }
      const cam = parseCamera(new JsonReader(camFile), await readJsonFile(camFile, 'camera file'));
      if (cam.distorted) distorted.push(id);
      if (cam.skew !== 0) skewed.push(id);

      const s = 1 / scale;
      let width = Math.round(cam.imageSize[0] * s);
      let height = Math.round(cam.imageSize[1] * s);
      const rel = `${imageDir}/${id}.png`;
      const abs = path.join(root, rel);
      const exists = haveImageDir && (await isFile(abs));
      if (exists) {
        const m = await sharp(abs)
          .metadata()
          .catch((e: Error) => {
            throw new ImportInputError(abs, `cannot read the image size: ${e.message}`);
          });
        if (m.width && m.height && (m.width !== width || m.height !== height)) {
          resized.push(`${id} (${m.width}x${m.height}, camera says ${width}x${height})`);
          width = m.width;
          height = m.height;
        }
      } else {
        missingImages.push(rel);
      }

      const fx = cam.focal * s;
      let fy = cam.focal * cam.pixelAspectRatio * s;
      let cx = cam.principalPoint[0] * s;
      let cy = cam.principalPoint[1] * s;
      if (Math.abs(cam.pixelAspectRatio - 1) > 1e-3 || Math.abs(cx - width / 2) > 0.01 * width || Math.abs(cy - height / 2) > 0.01 * height) {
        offCentre = true;
      }
      if (opts.intrinsics === 'deformable3dgs') {
        fy = fx;
        cx = width / 2;
        cy = height / 2;
      }

      const r = cam.orientation;
      const c = [0, 1, 2].map((k) => (cam.position[k]! - center[k]!) * sceneScale);
      const t = [0, 1, 2].map((row) => -(r[row * 3]! * c[0]! + r[row * 3 + 1]! * c[1]! + r[row * 3 + 2]! * c[2]!));
      const camera: CameraJSON = {
        width,
        height,
        fx,
        fy,
        cx,
        cy,
        worldToCamera: [r[0]!, r[1]!, r[2]!, t[0]!, r[3]!, r[4]!, r[5]!, t[1]!, r[6]!, r[7]!, r[8]!, t[2]!, 0, 0, 0, 1],
      };
      const view: DatasetView = { split, index, time: maxTimeId > 0 ? timeIds.get(id)! / maxTimeId : 0, camera };
      if (exists) view.image = rel;
      views.push(view);
    }
  }

  const total = trainIds.length + valIds.length;
  if (views.length === 0) {
    throw new ImportInputError(path.join(root, 'camera'), `none of the ${total} camera files the splits name exists (e.g. camera/${(trainIds[0] ?? valIds[0])!}.json)`);
  }
  if (missingCameras.length) {
    warnings.push(`${missingCameras.length} of ${total} camera files missing; those views are skipped: ${listSome(missingCameras)}`);
  }
  if (haveImageDir && missingImages.length) warnings.push(`${missingImages.length} of ${views.length} images missing: ${listSome(missingImages)}`);
  if (distorted.length) {
    warnings.push(`${distorted.length} camera${distorted.length > 1 ? 's have' : ' has'} non-zero radial/tangential distortion, ignored (views render as undistorted pinhole cameras): ${listSome(distorted)}`);
  }
  if (skewed.length) warnings.push(`${skewed.length} camera(s) have non-zero skew, ignored: ${listSome(skewed)}`);
  if (resized.length) warnings.push(`image size differs from the camera's image_size / ${scale}; using the image's: ${listSome(resized, 3)}`);
  if (offCentre && opts.intrinsics !== 'deformable3dgs') {
    warnings.push('cameras have pixel_aspect_ratio != 1 or an off-centre principal point; Deformable-3DGS / DGD train with fx = fy and a centred principal point (intrinsics: "deformable3dgs" renders as they did)');
  }

  return { kind: 'hypernerf', dir: root, views, missingImages, warnings, scale, missingCameras, maxTimeId };
}

function idString(j: JsonReader, v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  return j.fail(where, `expected an id string, found ${JSON.stringify(v)}`);
}

async function pickScale(root: string, asked: number | undefined, warnings: string[]): Promise<number> {
  if (asked !== undefined) {
    if (!(Number.isInteger(asked) && asked >= 1)) throw new ImportInputError(root, `image scale must be a positive integer (rgb/<scale>x), got ${asked}`);
    return asked;
  }
  const rgb = path.join(root, 'rgb');
  const found: number[] = [];
  if (await isDir(rgb)) {
    for (const e of await readdir(rgb, { withFileTypes: true })) {
      const m = /^(\d+)x$/.exec(e.name);
      if (m && e.isDirectory() && Number(m[1]) >= 1) found.push(Number(m[1]));
    }
  }
  if (found.length === 0) {
    warnings.push('no rgb/<N>x image folder; assuming scale 2 (rgb/2x) for the intrinsics');
    return 2;
  }
  return Math.max(...found);
}

function parseCamera(j: JsonReader, raw: unknown): ParsedCamera {
  const o = j.object(raw, '');
  const orientation = j.matrix(o.orientation, 3, 3, 'orientation');
  const err = rotationError(orientation);
  if (err > ROTATION_TOLERANCE) j.fail('orientation', `not a rotation matrix (error ${err.toExponential(2)})`);
  const position = j.numbers(o.position, 3, 'position');
  const focal = j.number(o.focal_length, 'focal_length');
  if (!(focal > 0)) j.fail('focal_length', `${focal} is not positive`);
  const pp = j.numbers(o.principal_point, 2, 'principal_point');
  const pixelAspectRatio = o.pixel_aspect_ratio === undefined ? 1 : j.number(o.pixel_aspect_ratio, 'pixel_aspect_ratio');
  if (!(pixelAspectRatio > 0)) j.fail('pixel_aspect_ratio', `${pixelAspectRatio} is not positive`);
  const skew = o.skew === undefined ? 0 : j.number(o.skew, 'skew');
  const distortion = (key: string) => (o[key] === undefined ? [] : j.array(o[key], key).map((v, i) => j.number(v, `${key}[${i}]`)));
  // Old camera files name it "tangential" (Deformable-3DGS's camera_nerfies_from_JSON fixes that up too).
  const radial = distortion('radial_distortion');
  const tangential = o.tangential_distortion !== undefined ? distortion('tangential_distortion') : distortion('tangential');
  const size = j.numbers(o.image_size, 2, 'image_size');
  if (!size.every((v) => Number.isInteger(v) && v > 0)) j.fail('image_size', `[${size.join(', ')}] is not a positive integer [width, height]`);
  return {
    orientation,
    position,
    focal,
    principalPoint: [pp[0]!, pp[1]!],
    pixelAspectRatio,
    skew,
    distorted: [...radial, ...tangential].some((v) => v !== 0),
    imageSize: [size[0]!, size[1]!],
  };
}
