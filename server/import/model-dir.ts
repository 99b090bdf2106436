// What a model directory holds: a 3DGS / Deformable-3DGS / DGD training output
//   MODEL/point_cloud/iteration_N/point_cloud.ply   (required)
//   MODEL/deform/iteration_N/deform.pth             (dynamic scenes)
//   MODEL/cfg_args                                   (optional: the training's argparse Namespace)
//   MODEL/cameras.json                               (optional: the training cameras, 3DGS format)
// or a plain .ply file (a static scene). Finds the pieces, the dataset they were trained on and
// its kind; reads nothing large. Cross-checks against the .ply (sh_degree vs f_rest count,
// semantic_dimension vs sem_* count) are the caller's: the values are exposed here.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { invertRigid } from '../scene/camera';
import type { CameraJSON } from '../scene/types';
import { parseCfgArgs, type CfgArgs } from './cfg-args';
import { ImportInputError, JsonReader, ROTATION_TOLERANCE, isDir, isFile, readJsonFile, rotationError, type DatasetKind } from './datasets/common';
import { detectDatasetKind } from './datasets/index';

export interface ModelDirOptions {
  /** point_cloud/iteration_N to use; default the highest. */
  iteration?: number;
  /** Dataset directory; default cfg_args' source_path when it exists here. */
  dataset?: string;
}

/** One entry of cameras.json, converted to CameraJSON (principal point at the image centre). */
export interface ModelDirCamera {
  id: number;
  name: string;
  camera: CameraJSON;
}

export interface ModelDirInfo {
  /** 'dir': a training output directory; 'ply': a plain .ply file (static scene). */
  kind: 'dir' | 'ply';
  /** The inspected path, absolute. */
  path: string;
  plyPath: string;
  /** The point_cloud iteration used (kind 'dir'). */
  iteration?: number;
  /** Every point_cloud/iteration_N holding a point_cloud.ply, ascending. */
  iterations: number[];
  /** deform/iteration_M/deform.pth; absent for a static scene. */
  deformPath?: string;
  deformIteration?: number;
  cfgPath?: string;
  cfg?: CfgArgs;
  camerasPath?: string;
  cameras?: ModelDirCamera[];
  /** Absolute dataset directory, when one was given or found. */
  datasetDir?: string;
  datasetKind?: DatasetKind;
  /** cfg_args white_background; false without cfg_args. */
  whiteBackground: boolean;
  warnings: string[];
}

export async function inspectModelDir(input: string, opts: ModelDirOptions = {}): Promise<ModelDirInfo> {
  const abs = path.resolve(input);
  const warnings: string[] = [];

  if (await isFile(abs)) {
    if (!/\.ply$/i.test(abs)) throw new ImportInputError(abs, 'expected a model directory or a .ply file');
    if (opts.iteration !== undefined) warnings.push(`--iteration ${opts.iteration} ignored: ${path.basename(abs)} is a plain .ply`);
    const info: ModelDirInfo = { kind: 'ply', path: abs, plyPath: abs, iterations: [], whiteBackground: false, warnings };
    if (opts.dataset !== undefined) await attachDataset(info, path.resolve(opts.dataset), true);
    return info;
  }
  if (!(await isDir(abs))) throw new ImportInputError(abs, 'not found (expected a model directory or a .ply file)');

  // point_cloud/iteration_N/point_cloud.ply
  const pcRoot = path.join(abs, 'point_cloud');
  const iterations = await iterationsWith(pcRoot, 'point_cloud.ply');
  if (iterations.length === 0) {
    throw new ImportInputError(
      abs,
      `no point_cloud/iteration_N/point_cloud.ply (${(await isDir(pcRoot)) ? 'point_cloud/ has none' : 'no point_cloud/ folder'}); not a 3DGS / Deformable-3DGS output directory`,
    );
  }
  let iteration = iterations[iterations.length - 1]!;
  if (opts.iteration !== undefined) {
    if (!iterations.includes(opts.iteration)) {
      throw new ImportInputError(
        path.join(pcRoot, `iteration_${opts.iteration}`, 'point_cloud.ply'),
        `not found; available iterations: ${iterations.join(', ')}`,
      );
    }
    iteration = opts.iteration;
  }
  const info: ModelDirInfo = {
    kind: 'dir',
    path: abs,
    plyPath: path.join(pcRoot, `iteration_${iteration}`, 'point_cloud.ply'),
    iteration,
    iterations,
    whiteBackground: false,
    warnings,
  };

  // deform/iteration_M/deform.pth, the same M as the point cloud when there.
  const deformRoot = path.join(abs, 'deform');
  const deformIterations = await iterationsWith(deformRoot, 'deform.pth');
  if (deformIterations.length) {
    const m = deformIterations.includes(iteration) ? iteration : deformIterations[deformIterations.length - 1]!;
    if (m !== iteration) {
      warnings.push(`no deform/iteration_${iteration}/deform.pth for point cloud iteration ${iteration}; using deform iteration ${m} (available: ${deformIterations.join(', ')})`);
    }
    info.deformIteration = m;
    info.deformPath = path.join(deformRoot, `iteration_${m}`, 'deform.pth');
  } else if (await isDir(deformRoot)) {
    warnings.push(`${deformRoot} has no iteration_N/deform.pth; importing as a static scene`);
  }

  // cfg_args
  const cfgPath = path.join(abs, 'cfg_args');
  if (await isFile(cfgPath)) {
    info.cfgPath = cfgPath;
    info.cfg = parseCfgArgs(await readFile(cfgPath, 'utf8'), cfgPath);
    info.whiteBackground = info.cfg.whiteBackground ?? false;
    if (info.cfg.whiteBackground === undefined) warnings.push(`${cfgPath} has no white_background; assuming a black background`);
  } else {
    warnings.push(`no cfg_args in ${abs}; assuming a black background`);
  }

  // cameras.json
  const camerasPath = path.join(abs, 'cameras.json');
  if (await isFile(camerasPath)) {
    info.camerasPath = camerasPath;
    info.cameras = parseCamerasJson(await readJsonFile(camerasPath, 'cameras.json'), camerasPath);
  }

  // The dataset.
  if (opts.dataset !== undefined) {
    await attachDataset(info, path.resolve(opts.dataset), true);
  } else if (info.cfg?.sourcePath) {
    const found = await findSourcePath(abs, info.cfg);
    if (found) await attachDataset(info, found, false);
    else warnings.push(`cfg_args source_path ${JSON.stringify(info.cfg.sourcePath)} does not exist here; no dataset views (pass the dataset directory explicitly)`);
  } else {
    warnings.push('no dataset given and no cfg_args source_path; no dataset views');
  }

  const blender = info.cfg?.isBlender;
  if (blender !== undefined && info.datasetKind !== undefined && blender !== (info.datasetKind === 'dnerf')) {
    warnings.push(
      `cfg_args is_blender=${blender ? 'True' : 'False'} but the dataset is ${info.datasetKind === 'dnerf' ? 'D-NeRF' : 'HyperNeRF'}; the deformation network follows is_blender`,
    );
  }
  return info;
}

async function attachDataset(info: ModelDirInfo, dir: string, explicit: boolean): Promise<void> {
  if (!(await isDir(dir))) throw new ImportInputError(dir, 'dataset directory not found');
  const kind = await detectDatasetKind(dir);
  if (!kind) {
    const problem = 'not a known dataset: expected transforms_train.json (D-NeRF) or dataset.json + metadata.json (HyperNeRF)';
    if (explicit) throw new ImportInputError(dir, problem);
    info.warnings.push(`${dir} (cfg_args source_path): ${problem}; no dataset views`);
    return;
  }
  info.datasetDir = dir;
  info.datasetKind = kind;
}

/**
 * cfg_args' source_path on this machine: as written if absolute; if relative, against the
 * training's working directory (inferred when the model dir ends with a relative model_path),
 * then against the current directory.
 */
async function findSourcePath(modelDir: string, cfg: CfgArgs): Promise<string | undefined> {
  const src = cfg.sourcePath!;
  const candidates: string[] = [];
  if (path.isAbsolute(src)) candidates.push(src);
  else {
    const mp = cfg.modelPath;
    if (mp && !path.isAbsolute(mp)) {
      const parts = path.normalize(mp).split(/[\\/]+/).filter((p) => p && p !== '.');
      const mine = modelDir.split(path.sep);
      const tail = mine.slice(mine.length - parts.length);
      if (parts.length && parts.every((p, i) => p === tail[i])) candidates.push(path.resolve(mine.slice(0, mine.length - parts.length).join(path.sep) || path.sep, src));
    }
    candidates.push(path.resolve(src));
  }
  for (const c of candidates) if (await isDir(c)) return c;
  return undefined;
}

/** N of every `<root>/iteration_N/<file>` that exists, ascending. */
async function iterationsWith(root: string, file: string): Promise<number[]> {
  if (!(await isDir(root))) return [];
  const out: number[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    const m = /^iteration_(\d+)$/.exec(e.name);
    if (m && e.isDirectory() && (await isFile(path.join(root, e.name, file)))) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/**
 * The 3DGS cameras.json (utils/camera_utils.py camera_to_JSON): a list of {id, img_name, width,
 * height, position (camera centre), rotation (3x3 camera-to-world, rows), fx, fy}, OpenCV axes.
 */
export function parseCamerasJson(raw: unknown, file: string): ModelDirCamera[] {
  const j: JsonReader = new JsonReader(file);
  const list = j.array(raw, '');
  return list.map((item, i) => {
    const where = `[${i}]`;
    const o = j.object(item, where);
    const width = j.number(o.width, `${where}.width`);
    const height = j.number(o.height, `${where}.height`);
    if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
      j.fail(where, `width x height ${width}x${height} is not a positive integer size`);
    }
    const fx = j.number(o.fx, `${where}.fx`);
    const fy = j.number(o.fy, `${where}.fy`);
    if (!(fx > 0 && fy > 0)) j.fail(where, `focal lengths must be positive, found fx ${fx}, fy ${fy}`);
    const r = j.matrix(o.rotation, 3, 3, `${where}.rotation`);
    const err = rotationError(r);
    if (err > ROTATION_TOLERANCE) j.fail(`${where}.rotation`, `not a rotation matrix (error ${err.toExponential(2)})`);
    const c = j.numbers(o.position, 3, `${where}.position`);
    const cameraToWorld = [r[0]!, r[1]!, r[2]!, c[0]!, r[3]!, r[4]!, r[5]!, c[1]!, r[6]!, r[7]!, r[8]!, c[2]!, 0, 0, 0, 1];
    const id = o.id === undefined ? i : j.number(o.id, `${where}.id`);
    const name = o.img_name === undefined ? String(id) : j.string(o.img_name, `${where}.img_name`);
    return { id, name, camera: { width, height, fx, fy, cx: width / 2, cy: height / 2, worldToCamera: invertRigid(cameraToWorld) } };
  });
}
