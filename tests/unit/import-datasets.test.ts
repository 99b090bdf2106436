// Dataset readers (server/import/datasets/): D-NeRF transforms and HyperNeRF camera files ->
// OpenCV dataset views. Real third-party files from ../shared/realdata, plus small datasets
// built here in temporary directories for the malformed cases.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ImportInputError } from '../../server/import/datasets/common';
import { DNERF_DEFAULT_SIZE, detectDatasetKind, readDataset, readDNerf, readHyperNerf } from '../../server/import/datasets/index';
import { DatasetView } from '../../server/protocol/events';
import { cameraPosition, projectPoint, type Vec3 } from '../../server/scene/camera';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REAL = resolve(repoRoot, '../shared/realdata');
const LEGO = join(REAL, 'dnerf-lego');
const CHICK = join(REAL, 'hypernerf-chickchicken');
const skipIfAbsent = (p: string) => (existsSync(p) ? false : `real data not found at ${p} (expected ../shared/realdata beside the checkout)`);

const tmp = mkdtempSync(join(tmpdir(), 'splatsync-datasets-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
function freshDir(name: string): string {
  const d = join(tmp, `${name}-${dirCount++}`);
  mkdirSync(d, { recursive: true });
  return d;
}

function close(a: number, b: number, tol: number, what: string) {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);
}

/** General 4x4 inverse (Gauss-Jordan), row-major; independent of server/scene/camera.ts. */
function inverse4(m: number[]): number[] {
  const a = m.slice();
  const inv = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(a[r * 4 + c]!) > Math.abs(a[p * 4 + c]!)) p = r;
    for (let k = 0; k < 4; k++) {
      [a[c * 4 + k], a[p * 4 + k]] = [a[p * 4 + k]!, a[c * 4 + k]!];
      [inv[c * 4 + k], inv[p * 4 + k]] = [inv[p * 4 + k]!, inv[c * 4 + k]!];
    }
    const d = a[c * 4 + c]!;
    for (let k = 0; k < 4; k++) {
      a[c * 4 + k] = a[c * 4 + k]! / d;
      inv[c * 4 + k] = inv[c * 4 + k]! / d;
    }
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = a[r * 4 + c]!;
      for (let k = 0; k < 4; k++) {
        a[r * 4 + k] = a[r * 4 + k]! - f * a[c * 4 + k]!;
        inv[r * 4 + k] = inv[r * 4 + k]! - f * inv[c * 4 + k]!;
      }
    }
  }
  return inv;
}

/**
 * World-to-camera as Deformable-3DGS's readCamerasFromTransforms builds it from a Blender
 * transform_matrix: w2c = inv(M); R = -w2c[:3,:3]^T with column 0 negated; T = -w2c[:3,3];
 * the rasterizer's world-to-camera is [R^T | T].
 */
function deformable3dgsWorldToCamera(transform: number[][]): number[] {
  const w2c = inverse4(transform.flat());
  const R = [0, 1, 2].map((i) => [0, 1, 2].map((j) => -w2c[j * 4 + i]!));
  for (const row of R) row[0] = -row[0]!;
  const T = [-w2c[3]!, -w2c[7]!, -w2c[11]!];
  return [0, 1, 2].flatMap((i) => [R[0]![i]!, R[1]![i]!, R[2]![i]!, T[i]!]).concat([0, 0, 0, 1]);
}

function opticalAxis(view: DatasetView): Vec3 {
  const m = view.camera.worldToCamera;
  return [m[8]!, m[9]!, m[10]!];
}

function angleToOrigin(view: DatasetView): number {
  const c = cameraPosition(view.camera);
  const z = opticalAxis(view);
  const toOrigin: Vec3 = [-c[0], -c[1], -c[2]];
  const x = [z[1] * toOrigin[2] - z[2] * toOrigin[1], z[2] * toOrigin[0] - z[0] * toOrigin[2], z[0] * toOrigin[1] - z[1] * toOrigin[0]];
  return Math.atan2(Math.hypot(x[0]!, x[1]!, x[2]!), z[0] * toOrigin[0] + z[1] * toOrigin[1] + z[2] * toOrigin[2]);
}

async function png(file: string, width: number, height: number) {
  mkdirSync(dirname(file), { recursive: true });
  await sharp({ create: { width, height, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 1 } } }).png().toFile(file);
}

const writeJson = (file: string, v: unknown) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, typeof v === 'string' ? v : JSON.stringify(v, null, 1));
};

/** A camera-to-world (Blender) looking at the origin from `eye`, z up. */
function blenderLookAt(eye: Vec3): number[][] {
  const back = eye.map((v) => v / Math.hypot(...eye)) as Vec3; // camera +z points away from the target
  const right = [-back[1], back[0], 0].map((v) => v / Math.hypot(back[0], back[1])) as Vec3;
  const up: Vec3 = [back[1] * right[2] - back[2] * right[1], back[2] * right[0] - back[0] * right[2], back[0] * right[1] - back[1] * right[0]];
  return [0, 1, 2].map((r) => [right[r]!, up[r]!, back[r]!, eye[r]!]).concat([[0, 0, 0, 1]]);
}

function dnerfFrames(n: number, folder: string, opts: { time?: boolean } = {}) {
  return Array.from({ length: n }, (_, k) => ({
    file_path: `./${folder}/r_${k}`,
    ...(opts.time === false ? {} : { time: n > 1 ? k / (n - 1) : 0 }),
    transform_matrix: blenderLookAt([4 * Math.cos(k), 4 * Math.sin(k), 1.5]),
  }));
}

async function makeDNerf(dir: string, opts: { images?: boolean; width?: number; height?: number } = {}) {
  const angle = 0.69;
  writeJson(join(dir, 'transforms_train.json'), { camera_angle_x: angle, frames: dnerfFrames(3, 'train') });
  writeJson(join(dir, 'transforms_test.json'), { camera_angle_x: angle, frames: dnerfFrames(2, 'test') });
  if (opts.images !== false) {
    for (const [split, n] of [['train', 3], ['test', 2]] as const) {
      for (let k = 0; k < n; k++) await png(join(dir, split, `r_${k}.png`), opts.width ?? 40, opts.height ?? 30);
    }
  }
  return angle;
}

function expectError(re: RegExp, file?: string) {
  return (e: Error) => {
    assert.ok(e instanceof ImportInputError, `${e.name}: ${e.message}`);
    if (file) assert.ok(e.message.startsWith(`${file}: `), `message should start with the file: ${e.message}`);
    assert.match(e.message, re);
    return true;
  };
}

describe('D-NeRF reader: real lego transforms (dnerf-lego)', { skip: skipIfAbsent(LEGO) }, () => {
  const transforms = (split: string) =>
    JSON.parse(readFileSync(join(LEGO, `transforms_${split}.json`), 'utf8')) as { camera_angle_x: number; frames: { file_path: string; time: number; transform_matrix: number[][] }[] };

  test('every frame of train, test and val loads in file order, valid for the wire schema', async () => {
    const r = await readDNerf(LEGO);
    assert.equal(r.kind, 'dnerf');
    assert.equal(r.dir, LEGO);
    assert.deepEqual(
      r.views.map((v) => `${v.split}${v.index}`),
      [...Array.from({ length: 50 }, (_, i) => `train${i}`), ...Array.from({ length: 20 }, (_, i) => `test${i}`), ...Array.from({ length: 11 }, (_, i) => `val${i}`)],
    );
    for (const v of r.views) DatasetView.parse(v);
  });

  test('times are the files\' k/99', async () => {
    const r = await readDNerf(LEGO);
    for (const split of ['train', 'test', 'val'] as const) {
      const frames = transforms(split).frames;
      const views = r.views.filter((v) => v.split === split);
      assert.deepEqual(views.map((v) => v.time), frames.map((f) => f.time));
      for (const v of views) close(v.time * 99, Math.round(v.time * 99), 1e-6, `${split} ${v.index} time * 99`);
    }
    assert.equal(r.views[1]!.time, 2 / 99); // train frames step 2/99, as the file has them
  });

  test('./train_low/r_N resolves to train/r_N.png, and the 16 missing train images are listed', async () => {
    const r = await readDNerf(LEGO);
    const present = new Set(readdirSync(join(LEGO, 'train')));
    const expectedMissing = Array.from({ length: 50 }, (_, n) => `r_${n}.png`).filter((f) => !present.has(f)).map((f) => `train/${f}`);
    assert.equal(expectedMissing.length, 16);
    assert.deepEqual(r.missingImages, expectedMissing);
    for (const v of r.views.filter((x) => x.split === 'train')) {
      const file = `train/r_${v.index}.png`;
      assert.equal(v.image, present.has(`r_${v.index}.png`) ? file : undefined, `train ${v.index}`);
    }
    assert.equal(r.views.find((v) => v.split === 'test' && v.index === 7)!.image, 'test/r_007.png');
    assert.equal(r.views.find((v) => v.split === 'val' && v.index === 10)!.image, 'val/r_10.png');
    assert.ok(r.warnings.some((w) => w === 'image folder train_low/ does not exist; using train/ instead'), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => w.startsWith('16 of 50 train images missing') && w.includes('train/r_0.png')), r.warnings.join('\n'));
  });

  test('intrinsics from camera_angle_x and the 800x800 images', async () => {
    const r = await readDNerf(LEGO);
    const angle = transforms('train').camera_angle_x;
    for (const v of r.views) {
      assert.equal(v.camera.width, 800);
      assert.equal(v.camera.height, 800);
      close(v.camera.fx, 400 / Math.tan(angle / 2), 1e-9, 'fx');
      assert.equal(v.camera.fy, v.camera.fx);
      assert.equal(v.camera.cx, 400);
      assert.equal(v.camera.cy, 400);
    }
    close(r.views[0]!.camera.fx, 1111.111, 1e-3, 'the well-known lego focal');
  });

  test('cameras look at the lego at the origin: optical axis through it, projecting to the image centre', async () => {
    const r = await readDNerf(LEGO);
    for (const v of r.views) {
      assert.ok(angleToOrigin(v) < 1e-5, `${v.split} ${v.index}: optical axis misses the origin by ${angleToOrigin(v)} rad`);
      const p = projectPoint(v.camera, [0, 0, 0]);
      close(p.z, 4.0311, 1e-3, 'depth of the origin');
      close(p.u, 400, 1e-3, 'u');
      close(p.v, 400, 1e-3, 'v');
    }
  });

  test('the image is upright: world +z (Blender up) projects above the origin', async () => {
    const r = await readDNerf(LEGO);
    for (const v of r.views) assert.ok(projectPoint(v.camera, [0, 0, 1]).v < 400, `${v.split} ${v.index}`);
  });

  test('the same world-to-camera as Deformable-3DGS builds from transform_matrix', async () => {
    const r = await readDNerf(LEGO);
    for (const split of ['train', 'test', 'val'] as const) {
      transforms(split).frames.forEach((f, i) => {
        const v = r.views.find((x) => x.split === split && x.index === i)!;
        const expected = deformable3dgsWorldToCamera(f.transform_matrix);
        v.camera.worldToCamera.forEach((x, k) => close(x, expected[k]!, 1e-5, `${split} ${i} worldToCamera[${k}]`));
      });
    }
  });
});

describe('D-NeRF reader: built datasets', () => {
  test('image size from the files drives the intrinsics; val is optional', async () => {
    const dir = freshDir('dnerf');
    const angle = await makeDNerf(dir, { width: 40, height: 30 });
    const r = await readDNerf(dir);
    assert.equal(r.views.length, 5);
    assert.deepEqual(r.missingImages, []);
    assert.deepEqual(r.warnings, []);
    const cam = r.views[0]!.camera;
    assert.deepEqual([cam.width, cam.height, cam.cx, cam.cy], [40, 30, 20, 15]);
    close(cam.fx, 20 / Math.tan(angle / 2), 1e-9, 'fx');
    assert.equal(cam.fy, cam.fx);
    assert.equal(r.views[0]!.image, 'train/r_0.png');
    for (const v of r.views) assert.ok(angleToOrigin(v) < 1e-6, `${v.split} ${v.index}: optical axis misses the origin by ${angleToOrigin(v)} rad`);
  });

  test('no images at all: 800x800 with a warning; all listed missing', async () => {
    const dir = freshDir('dnerf');
    await makeDNerf(dir, { images: false });
    const r = await readDNerf(dir);
    assert.equal(r.views[0]!.camera.width, DNERF_DEFAULT_SIZE.width);
    assert.equal(r.views[0]!.camera.height, DNERF_DEFAULT_SIZE.height);
    assert.equal(r.missingImages.length, 5);
    assert.ok(r.warnings.some((w) => /no image found; assuming 800x800/.test(w)), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => /image folder train\/ does not exist \(nor a sibling/.test(w)), r.warnings.join('\n'));
    for (const v of r.views) assert.equal(v.image, undefined);
  });

  test('frames without time get index / (n - 1), with a warning', async () => {
    const dir = freshDir('dnerf');
    await makeDNerf(dir);
    writeJson(join(dir, 'transforms_train.json'), { camera_angle_x: 0.7, frames: dnerfFrames(3, 'train', { time: false }) });
    const r = await readDNerf(dir);
    assert.deepEqual(r.views.filter((v) => v.split === 'train').map((v) => v.time), [0, 0.5, 1]);
    assert.ok(r.warnings.some((w) => w.startsWith('transforms_train.json: frames have no "time"')), r.warnings.join('\n'));
  });

  test('file_path with an extension is kept; val split read when present', async () => {
    const dir = freshDir('dnerf');
    await makeDNerf(dir);
    writeJson(join(dir, 'transforms_val.json'), { camera_angle_x: 0.7, frames: [{ ...dnerfFrames(1, 'val')[0], file_path: 'val/a.png' }] });
    await png(join(dir, 'val', 'a.png'), 40, 30);
    const r = await readDNerf(dir);
    const val = r.views.filter((v) => v.split === 'val');
    assert.equal(val.length, 1);
    assert.equal(val[0]!.image, 'val/a.png');
  });

  test('missing transforms_test.json', async () => {
    const dir = freshDir('dnerf');
    await makeDNerf(dir);
    rmSync(join(dir, 'transforms_test.json'));
    const file = join(dir, 'transforms_test.json');
    await assert.rejects(readDNerf(dir), expectError(/missing: a D-NeRF dataset needs transforms_train.json and transforms_test.json/, file));
  });

  test('missing directory', async () => {
    await assert.rejects(readDNerf(join(tmp, 'nope')), expectError(/D-NeRF dataset directory not found/));
  });

  test('invalid JSON names the file', async () => {
    const dir = freshDir('dnerf');
    await makeDNerf(dir);
    const file = join(dir, 'transforms_train.json');
    writeJson(file, '{"camera_angle_x": 0.7, "frames": [');
    await assert.rejects(readDNerf(dir), expectError(/invalid JSON/, file));
  });

  test('Python-style NaN in the JSON is named', async () => {
    const dir = freshDir('dnerf');
    await makeDNerf(dir);
    const file = join(dir, 'transforms_train.json');
    writeJson(file, JSON.stringify({ camera_angle_x: 0.7, frames: dnerfFrames(1, 'train') }).replace('"time":0', '"time": NaN'));
    await assert.rejects(readDNerf(dir), expectError(/invalid JSON \(it contains NaN: non-finite numbers are not allowed\)/, file));
  });

  const HUGE = 'huge-number-placeholder';
  const badFrames: [string, (f: Record<string, unknown>) => void, RegExp][] = [
    ['frame without transform_matrix', (f) => delete f.transform_matrix, /frames\[1\]: no transform_matrix/],
    ['3x4 transform_matrix', (f) => (f.transform_matrix as unknown[]).pop(), /frames\[1\]\.transform_matrix: expected 4 rows, found 3/],
    ['non-finite number (1e999)', (f) => ((f.transform_matrix as unknown[][])[0]![3] = HUGE), /frames\[1\]\.transform_matrix\[0\]\[3\]: expected a finite number, found Infinity/],
    ['string in the matrix', (f) => ((f.transform_matrix as unknown[][])[2]![1] = 'x'), /frames\[1\]\.transform_matrix\[2\]\[1\]: expected a number, found the string "x"/],
    ['scaled rotation', (f) => ((f.transform_matrix as number[][])[0]![0] = 2), /frames\[1\]\.transform_matrix: the upper 3x3 is not a rotation/],
    ['bad last row', (f) => ((f.transform_matrix as number[][])[3] = [0, 0, 1, 1]), /last row is \[0, 0, 1, 1\]/],
    ['time missing on one frame', (f) => delete f.time, /frames: 2 of 3 frames have a "time"; either all or none must/],
    ['time not a number', (f) => (f.time = '0.5'), /frames\[1\]\.time: expected a number/],
    ['no file_path', (f) => delete f.file_path, /frames\[1\]\.file_path: expected a string, found nothing/],
  ];
  for (const [name, mutate, re] of badFrames) {
    test(name, async () => {
      const dir = freshDir('dnerf');
      await makeDNerf(dir);
      const frames = dnerfFrames(3, 'train') as unknown as Record<string, unknown>[];
      mutate(frames[1]!);
      const file = join(dir, 'transforms_train.json');
      writeJson(file, JSON.stringify({ camera_angle_x: 0.7, frames }).replace(`"${HUGE}"`, '1e999')); // JSON.parse makes 1e999 Infinity
      await assert.rejects(readDNerf(dir), expectError(re, file));
    });
  }

  test('bad camera_angle_x, no frames', async () => {
    const dir = freshDir('dnerf');
    await makeDNerf(dir);
    const file = join(dir, 'transforms_train.json');
    writeJson(file, { frames: dnerfFrames(1, 'train') });
    await assert.rejects(readDNerf(dir), expectError(/camera_angle_x: expected a number, found nothing/, file));
    writeJson(file, { camera_angle_x: 4, frames: dnerfFrames(1, 'train') });
    await assert.rejects(readDNerf(dir), expectError(/camera_angle_x: 4 is not a field of view/, file));
    writeJson(file, { camera_angle_x: 0.7, frames: [] });
    await assert.rejects(readDNerf(dir), expectError(/frames: no frames/, file));
    writeJson(file, [1, 2]);
    await assert.rejects(readDNerf(dir), expectError(/expected an object, found an array of 2/, file));
  });
});

describe('HyperNeRF reader: real chickchicken metadata (hypernerf-chickchicken)', { skip: skipIfAbsent(CHICK) }, () => {
  const json = (f: string) => JSON.parse(readFileSync(join(CHICK, f), 'utf8'));
  const cameraIds = () => readdirSync(join(CHICK, 'camera')).map((f) => f.replace('.json', '')).sort();

  test('the 25 cameras present load; the 431 missing ones are listed per id and skipped', async () => {
    const r = await readHyperNerf(CHICK);
    const dataset = json('dataset.json') as { ids: string[]; train_ids: string[]; val_ids: string[] };
    assert.equal(r.kind, 'hypernerf');
    assert.equal(r.views.length, 25);
    assert.deepEqual(r.views.map((v) => dataset.train_ids[v.index]), cameraIds());
    assert.deepEqual(new Set(r.views.map((v) => v.split)), new Set(['train']));
    assert.equal(r.missingCameras.length, 431);
    assert.equal(r.missingCameras[0], 'camera/000003.json (train 2)');
    assert.ok(r.warnings.some((w) => w.startsWith('431 of 456 camera files missing; those views are skipped: camera/000003.json (train 2)')), r.warnings.join('\n'));
    for (const v of r.views) DatasetView.parse(v);
  });

  test('time = time_id / max time_id (455)', async () => {
    const r = await readHyperNerf(CHICK);
    const meta = json('metadata.json') as Record<string, { time_id: number }>;
    const dataset = json('dataset.json') as { train_ids: string[] };
    assert.equal(r.maxTimeId, 455);
    for (const v of r.views) assert.equal(v.time, meta[dataset.train_ids[v.index]!]!.time_id / 455);
    assert.equal(r.views[0]!.time, 0);
    assert.equal(r.views.at(-1)!.time, 1);
  });

  test('no images: scale 2 assumed, intrinsics at half resolution, distortion warned about', async () => {
    const r = await readHyperNerf(CHICK);
    assert.equal(r.scale, 2);
    assert.equal(r.missingImages.length, 25);
    assert.equal(r.missingImages[0], 'rgb/2x/000001.png');
    const cam = json('camera/000001.json');
    const v = r.views[0]!.camera;
    assert.deepEqual([v.width, v.height], [536, 960]); // image_size [1072, 1920] / 2
    close(v.fx, cam.focal_length / 2, 1e-9, 'fx');
    close(v.fy, (cam.focal_length * cam.pixel_aspect_ratio) / 2, 1e-9, 'fy');
    close(v.cx, cam.principal_point[0] / 2, 1e-9, 'cx');
    close(v.cy, cam.principal_point[1] / 2, 1e-9, 'cy');
    for (const re of [/no rgb\/<N>x image folder; assuming scale 2/, /25 cameras have non-zero radial\/tangential distortion, ignored/, /pixel_aspect_ratio != 1/]) {
      assert.ok(r.warnings.some((w) => re.test(w)), `${re}\n${r.warnings.join('\n')}`);
    }
  });

  test('projection agrees with HyperNeRF\'s own camera model after the scene.json normalization', async () => {
    // hypernerf camera.py: local = orientation (P - position); pixel = f * local.xy / local.z
    // (y times pixel_aspect_ratio) + principal_point, in full-resolution pixels; the scene's
    // normalized coordinates are X = (P - center) * scale.
    const r = await readHyperNerf(CHICK, { scale: 1 });
    const scene = json('scene.json') as { scale: number; center: number[] };
    const dataset = json('dataset.json') as { train_ids: string[] };
    for (const v of r.views) {
      const cam = json(`camera/${dataset.train_ids[v.index]}.json`);
      for (const X of [[0, 0, 0], [0.1, -0.2, 0.3], [-0.3, 0.05, 0.2]] as Vec3[]) {
        const P = X.map((x, k) => x / scene.scale + scene.center[k]!);
        const d = P.map((p, k) => p - cam.position[k]);
        const local = [0, 1, 2].map((row) => cam.orientation[row].reduce((s: number, o: number, k: number) => s + o * d[k]!, 0) as number);
        const u = (cam.focal_length * local[0]!) / local[2]! + cam.principal_point[0];
        const vv = (cam.focal_length * cam.pixel_aspect_ratio * local[1]!) / local[2]! + cam.principal_point[1];
        const p = projectPoint(v.camera, X);
        close(p.u, u, 1e-6, 'u');
        close(p.v, vv, 1e-6, 'v');
        close(p.z, local[2]! * scene.scale, 1e-9, 'depth (normalized units)');
      }
    }
  });

  test('cameras sit where Deformable-3DGS puts them and see the scene centre within near..far', async () => {
    const r = await readHyperNerf(CHICK);
    const scene = json('scene.json') as { scale: number; center: number[]; near: number; far: number };
    const dataset = json('dataset.json') as { train_ids: string[] };
    for (const v of r.views) {
      const cam = json(`camera/${dataset.train_ids[v.index]}.json`);
      const c = cameraPosition(v.camera);
      c.forEach((x, k) => close(x, (cam.position[k] - scene.center[k]!) * scene.scale, 1e-6, 'centre'));
      const p = projectPoint(v.camera, [0, 0, 0]);
      assert.ok(p.z > scene.near && p.z < scene.far, `depth of the origin ${p.z}`);
      assert.ok(p.u > 0 && p.u < v.camera.width && p.v > 0 && p.v < v.camera.height, `origin projects inside the image: ${p.u}, ${p.v}`);
    }
  });

  test('intrinsics "deformable3dgs": fx = fy = focal, centred principal point; scale 4', async () => {
    const r = await readHyperNerf(CHICK, { scale: 4, intrinsics: 'deformable3dgs' });
    const cam = json('camera/000001.json');
    const v = r.views[0]!.camera;
    assert.equal(r.scale, 4);
    assert.deepEqual([v.width, v.height, v.cx, v.cy], [268, 480, 134, 240]);
    close(v.fx, cam.focal_length / 4, 1e-9, 'fx');
    assert.equal(v.fy, v.fx);
    assert.ok(!r.warnings.some((w) => /pixel_aspect_ratio != 1/.test(w)), r.warnings.join('\n'));
  });
});

/** A small HyperNeRF dataset: 4 ids, train 0,1,3 / val 2, with cameras looking at the origin. */
function makeHyperNerf(dir: string, opts: { cameras?: string[] } = {}) {
  const ids = ['a0', 'a1', 'a2', 'a3'];
  writeJson(join(dir, 'dataset.json'), { count: 4, num_exemplars: 4, ids, train_ids: ['a0', 'a1', 'a3'], val_ids: ['a2'] });
  writeJson(join(dir, 'metadata.json'), Object.fromEntries(ids.map((id, i) => [id, { time_id: i * 2, warp_id: i * 2, appearance_id: i, camera_id: 0 }])));
  writeJson(join(dir, 'scene.json'), { scale: 0.5, center: [1, 2, 3], near: 0.1, far: 10 });
  for (const id of opts.cameras ?? ids) {
    writeJson(join(dir, 'camera', `${id}.json`), {
      orientation: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
      position: [1, 2, -5],
      focal_length: 100,
      principal_point: [40, 30],
      skew: 0,
      pixel_aspect_ratio: 1,
      radial_distortion: [0, 0, 0],
      tangential_distortion: [0, 0],
      image_size: [80, 60],
    });
  }
}

describe('HyperNeRF reader: built datasets', () => {
  test('splits from train_ids / val_ids, times, positions normalized by scene.json', async () => {
    const dir = freshDir('hyper');
    makeHyperNerf(dir);
    const r = await readHyperNerf(dir);
    assert.deepEqual(r.views.map((v) => `${v.split}${v.index}:${v.time}`), ['train0:0', 'train1:' + 2 / 6, 'train2:1', 'test0:' + 4 / 6]);
    assert.deepEqual(r.missingCameras, []);
    const c = cameraPosition(r.views[0]!.camera);
    c.forEach((x, k) => close(x, ([0, 0, -8][k]! * 0.5), 1e-12, 'centre'));
    assert.deepEqual(r.views[0]!.camera.worldToCamera.map((x) => x + 0), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4, 0, 0, 0, 1]);
    assert.ok(r.warnings.every((w) => !/distortion|pixel_aspect/.test(w)), r.warnings.join('\n'));
  });

  test('default scale is the largest rgb/<N>x folder; image sizes checked against the camera', async () => {
    const dir = freshDir('hyper');
    makeHyperNerf(dir);
    await png(join(dir, 'rgb', '1x', 'a0.png'), 80, 60);
    await png(join(dir, 'rgb', '4x', 'a0.png'), 20, 15);
    await png(join(dir, 'rgb', '4x', 'a1.png'), 21, 15); // not 80/4 wide
    mkdirSync(join(dir, 'rgb', 'notascale'));
    const r = await readHyperNerf(dir);
    assert.equal(r.scale, 4);
    const [v0, v1] = r.views;
    assert.equal(v0!.image, 'rgb/4x/a0.png');
    assert.deepEqual([v0!.camera.width, v0!.camera.height, v0!.camera.fx, v0!.camera.cx], [20, 15, 25, 10]);
    assert.equal(v1!.camera.width, 21);
    assert.deepEqual(r.missingImages, ['rgb/4x/a3.png', 'rgb/4x/a2.png']);
    assert.ok(r.warnings.some((w) => /image size differs .* a1 \(21x15, camera says 20x15\)/.test(w)), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => w.startsWith('2 of 4 images missing')), r.warnings.join('\n'));
    const r1 = await readHyperNerf(dir, { scale: 1 });
    assert.equal(r1.views[0]!.image, 'rgb/1x/a0.png');
  });

  test('missing cameras are skipped per id, indices keep the dataset order', async () => {
    const dir = freshDir('hyper');
    makeHyperNerf(dir, { cameras: ['a1', 'a2'] });
    const r = await readHyperNerf(dir);
    assert.deepEqual(r.views.map((v) => `${v.split}${v.index}`), ['train1', 'test0']);
    assert.deepEqual(r.missingCameras, ['camera/a0.json (train 0)', 'camera/a3.json (train 2)']);
  });

  test('no camera file at all is an error', async () => {
    const dir = freshDir('hyper');
    makeHyperNerf(dir, { cameras: [] });
    await assert.rejects(readHyperNerf(dir), expectError(/none of the 4 camera files the splits name exists \(e\.g\. camera\/a0\.json\)/, join(dir, 'camera')));
  });

  test('warp_id when there is no time_id; ids as numbers; no train_ids', async () => {
    const dir = freshDir('hyper');
    makeHyperNerf(dir, { cameras: ['1', '2'] });
    writeJson(join(dir, 'dataset.json'), { ids: [1, 2] });
    writeJson(join(dir, 'metadata.json'), { '1': { warp_id: 3 }, '2': { warp_id: 6 } });
    const r = await readHyperNerf(dir);
    assert.deepEqual(r.views.map((v) => v.time), [0.5, 1]);
    assert.ok(r.warnings.includes('dataset.json has no train_ids; every id is a train view'), r.warnings.join('\n'));
  });

  const broken: [string, (dir: string) => void, RegExp, string][] = [
    ['invalid dataset.json', (d) => writeJson(join(d, 'dataset.json'), '{"ids": ['), /invalid JSON/, 'dataset.json'],
    ['missing metadata.json', (d) => rmSync(join(d, 'metadata.json')), /HyperNeRF metadata\.json not found/, 'metadata.json'],
    ['metadata without an id', (d) => writeJson(join(d, 'metadata.json'), { a0: { time_id: 0 } }), /no entry for 3 ids of dataset\.json: a1, a2, a3/, 'metadata.json'],
    ['missing scene.json', (d) => rmSync(join(d, 'scene.json')), /HyperNeRF scene\.json not found/, 'scene.json'],
    ['scene.json without center', (d) => writeJson(join(d, 'scene.json'), { scale: 1 }), /center: expected an array, found nothing/, 'scene.json'],
    ['camera orientation not a rotation', (d) => {
      const f = join(d, 'camera', 'a1.json');
      writeJson(f, { ...JSON.parse(readFileSync(f, 'utf8')), orientation: [[2, 0, 0], [0, 1, 0], [0, 0, 1]] });
    }, /orientation: not a rotation matrix/, 'camera/a1.json'],
    ['camera with a non-finite position', (d) => {
      const f = join(d, 'camera', 'a1.json');
      writeJson(f, JSON.stringify({ ...JSON.parse(readFileSync(f, 'utf8')), position: [1, 2, 3] }).replace('[1,2,3]', '[1,2e999,3]'));
    }, /position\[1\]: expected a finite number, found Infinity/, 'camera/a1.json'],
    ['camera without image_size', (d) => {
      const f = join(d, 'camera', 'a1.json');
      const c = JSON.parse(readFileSync(f, 'utf8'));
      delete c.image_size;
      writeJson(f, c);
    }, /image_size: expected an array, found nothing/, 'camera/a1.json'],
  ];
  for (const [name, breakIt, re, file] of broken) {
    test(name, async () => {
      const dir = freshDir('hyper');
      makeHyperNerf(dir);
      breakIt(dir);
      await assert.rejects(readHyperNerf(dir), expectError(re, join(dir, file)));
    });
  }
});

describe('dataset kind detection', () => {
  test('transforms_train.json -> dnerf; dataset.json + metadata.json -> hypernerf; else undefined', async () => {
    const d = freshDir('dnerf');
    await makeDNerf(d, { images: false });
    const h = freshDir('hyper');
    makeHyperNerf(h);
    const e = freshDir('empty');
    writeJson(join(e, 'dataset.json'), {});
    assert.equal(await detectDatasetKind(d), 'dnerf');
    assert.equal(await detectDatasetKind(h), 'hypernerf');
    assert.equal(await detectDatasetKind(e), undefined);
    assert.equal(await detectDatasetKind(join(tmp, 'nope')), undefined);
    assert.equal((await readDataset(d)).kind, 'dnerf');
    assert.equal((await readDataset(h)).kind, 'hypernerf');
    await assert.rejects(readDataset(e), expectError(/not a known dataset: expected transforms_train\.json \(D-NeRF\) or dataset\.json \+ metadata\.json \(HyperNeRF\)/, e));
    await assert.rejects(readDataset(join(tmp, 'nope')), expectError(/dataset directory not found/));
  });
});
