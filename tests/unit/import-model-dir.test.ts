// Model directory inspection (server/import/model-dir.ts): which point cloud, deform network,
// cfg_args, cameras.json and dataset a 3DGS / Deformable-3DGS / DGD output holds. The model
// dirs are built here in temporary directories (file contents other than JSON / cfg_args are
// never read, so the .ply and .pth files are placeholders).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CfgArgsError } from '../../server/import/cfg-args';
import { ImportInputError } from '../../server/import/datasets/common';
import { inspectModelDir, parseCamerasJson } from '../../server/import/model-dir';
import { Camera } from '../../server/protocol/camera';
import { cameraPosition, projectPoint } from '../../server/scene/camera';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REAL_CFG = resolve(repoRoot, '../shared/realdata/dgd-splitcookie-cfg/cfg_args');

const tmp = mkdtempSync(join(tmpdir(), 'splatsync-modeldir-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let count = 0;
const fresh = (name: string) => {
  const d = join(tmp, `${name}-${count++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

function put(file: string, content = '') {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function close(a: number, b: number, tol: number, what: string) {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);
}

function expectError(re: RegExp, path?: string) {
  return (e: Error) => {
    assert.ok(e instanceof ImportInputError, `${e.name}: ${e.message}`);
    if (path) assert.ok(e.message.startsWith(`${path}: `), `message should start with ${path}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  };
}

/** A minimal D-NeRF dataset (no images). */
function makeDNerfDataset(dir: string) {
  const frame = { file_path: './train/r_0', time: 0, transform_matrix: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]] };
  put(join(dir, 'transforms_train.json'), JSON.stringify({ camera_angle_x: 0.7, frames: [frame] }));
  put(join(dir, 'transforms_test.json'), JSON.stringify({ camera_angle_x: 0.7, frames: [frame] }));
}

function makeHyperNerfDataset(dir: string) {
  put(join(dir, 'dataset.json'), JSON.stringify({ ids: ['a'], train_ids: ['a'], val_ids: [] }));
  put(join(dir, 'metadata.json'), JSON.stringify({ a: { time_id: 0 } }));
}

/** A Deformable-3DGS-style output dir. */
function makeModelDir(dir: string, opts: { iterations?: number[]; deform?: number[]; cfg?: string | null; cameras?: unknown } = {}) {
  for (const n of opts.iterations ?? [7000, 30000]) put(join(dir, 'point_cloud', `iteration_${n}`, 'point_cloud.ply'), 'ply\n');
  for (const n of opts.deform ?? opts.iterations ?? [7000, 30000]) put(join(dir, 'deform', `iteration_${n}`, 'deform.pth'), 'PK');
  if (opts.cfg !== null) put(join(dir, 'cfg_args'), opts.cfg ?? "Namespace(sh_degree=3, source_path='/nowhere/at/all', model_path='output/x', white_background=True, is_blender=True, is_6dof=False)");
  if (opts.cameras !== undefined) put(join(dir, 'cameras.json'), typeof opts.cameras === 'string' ? opts.cameras : JSON.stringify(opts.cameras));
}

describe('inspectModelDir: pieces of a model directory', () => {
  test('highest iteration, matching deform.pth, cfg_args, white background', async () => {
    const dir = fresh('model');
    const dataset = fresh('lego');
    makeDNerfDataset(dataset);
    makeModelDir(dir, { cfg: `Namespace(sh_degree=3, source_path='${dataset}', model_path='output/x', white_background=True, is_blender=True, is_6dof=False, semantic_dimension=384)` });
    const info = await inspectModelDir(dir);
    assert.equal(info.kind, 'dir');
    assert.equal(info.path, dir);
    assert.equal(info.iteration, 30000);
    assert.deepEqual(info.iterations, [7000, 30000]);
    assert.equal(info.plyPath, join(dir, 'point_cloud', 'iteration_30000', 'point_cloud.ply'));
    assert.equal(info.deformIteration, 30000);
    assert.equal(info.deformPath, join(dir, 'deform', 'iteration_30000', 'deform.pth'));
    assert.equal(info.cfgPath, join(dir, 'cfg_args'));
    assert.equal(info.cfg?.shDegree, 3);
    assert.equal(info.cfg?.semanticDimension, 384);
    assert.equal(info.whiteBackground, true);
    assert.equal(info.datasetDir, dataset);
    assert.equal(info.datasetKind, 'dnerf');
    assert.equal(info.cameras, undefined);
    assert.deepEqual(info.warnings, []);
  });

  test('iterations compare as numbers, not strings', async () => {
    const dir = fresh('model');
    makeModelDir(dir, { iterations: [9000, 10000, 800] });
    const info = await inspectModelDir(dir);
    assert.equal(info.iteration, 10000);
    assert.deepEqual(info.iterations, [800, 9000, 10000]);
  });

  test('an asked iteration; deform at another iteration is used and said', async () => {
    const dir = fresh('model');
    makeModelDir(dir, { iterations: [7000, 30000], deform: [20000, 30000] });
    const info = await inspectModelDir(dir, { iteration: 7000 });
    assert.equal(info.iteration, 7000);
    assert.equal(info.plyPath, join(dir, 'point_cloud', 'iteration_7000', 'point_cloud.ply'));
    assert.equal(info.deformIteration, 30000);
    assert.ok(
      info.warnings.includes('no deform/iteration_7000/deform.pth for point cloud iteration 7000; using deform iteration 30000 (available: 20000, 30000)'),
      info.warnings.join('\n'),
    );
  });

  test('an asked iteration that is not there lists the available ones', async () => {
    const dir = fresh('model');
    makeModelDir(dir);
    await assert.rejects(
      inspectModelDir(dir, { iteration: 5 }),
      expectError(/not found; available iterations: 7000, 30000/, join(dir, 'point_cloud', 'iteration_5', 'point_cloud.ply')),
    );
  });

  test('an iteration folder without point_cloud.ply does not count', async () => {
    const dir = fresh('model');
    makeModelDir(dir, { iterations: [1000] });
    mkdirSync(join(dir, 'point_cloud', 'iteration_2000'));
    assert.equal((await inspectModelDir(dir)).iteration, 1000);
  });

  test('no deform/: a static scene; deform/ without deform.pth is warned about', async () => {
    const dir = fresh('model');
    makeModelDir(dir, { deform: [] });
    const info = await inspectModelDir(dir);
    assert.equal(info.deformPath, undefined);
    assert.equal(info.deformIteration, undefined);
    mkdirSync(join(dir, 'deform', 'iteration_30000'), { recursive: true });
    const again = await inspectModelDir(dir);
    assert.ok(again.warnings.some((w) => w.endsWith('has no iteration_N/deform.pth; importing as a static scene')), again.warnings.join('\n'));
  });

  test('no cfg_args: black background, warned', async () => {
    const dir = fresh('model');
    makeModelDir(dir, { cfg: null });
    const info = await inspectModelDir(dir);
    assert.equal(info.cfg, undefined);
    assert.equal(info.whiteBackground, false);
    assert.ok(info.warnings.some((w) => w.startsWith('no cfg_args in')), info.warnings.join('\n'));
    assert.ok(info.warnings.includes('no dataset given and no cfg_args source_path; no dataset views'), info.warnings.join('\n'));
  });

  test('a plain .ply is a static scene', async () => {
    const dir = fresh('plain');
    const ply = join(dir, 'scene.ply');
    put(ply, 'ply\n');
    const info = await inspectModelDir(ply);
    assert.deepEqual(info, { kind: 'ply', path: ply, plyPath: ply, iterations: [], whiteBackground: false, warnings: [] });
    const ds = fresh('hyper');
    makeHyperNerfDataset(ds);
    const withDataset = await inspectModelDir(ply, { dataset: ds });
    assert.equal(withDataset.datasetKind, 'hypernerf');
    put(join(dir, 'notes.txt'), 'x');
    await assert.rejects(inspectModelDir(join(dir, 'notes.txt')), expectError(/expected a model directory or a \.ply file/, join(dir, 'notes.txt')));
  });

  test('missing pieces are errors naming the path', async () => {
    await assert.rejects(inspectModelDir(join(tmp, 'does-not-exist')), expectError(/not found \(expected a model directory or a \.ply file\)/, join(tmp, 'does-not-exist')));
    const empty = fresh('empty');
    await assert.rejects(inspectModelDir(empty), expectError(/no point_cloud\/iteration_N\/point_cloud\.ply \(no point_cloud\/ folder\)/, empty));
    mkdirSync(join(empty, 'point_cloud', 'iteration_10'), { recursive: true });
    await assert.rejects(inspectModelDir(empty), expectError(/\(point_cloud\/ has none\)/, empty));
  });
});

describe('inspectModelDir: the dataset', () => {
  test('cfg source_path that does not exist here: warning, no dataset', async () => {
    const dir = fresh('model');
    makeModelDir(dir);
    const info = await inspectModelDir(dir);
    assert.equal(info.datasetDir, undefined);
    assert.ok(info.warnings.some((w) => w.startsWith('cfg_args source_path "/nowhere/at/all" does not exist here')), info.warnings.join('\n'));
  });

  test('an explicit dataset wins over cfg_args; kind detected; is_blender cross-checked', async () => {
    const dir = fresh('model');
    makeModelDir(dir);
    const ds = fresh('hyper');
    makeHyperNerfDataset(ds);
    const info = await inspectModelDir(dir, { dataset: ds });
    assert.equal(info.datasetDir, ds);
    assert.equal(info.datasetKind, 'hypernerf');
    assert.ok(info.warnings.some((w) => w.startsWith('cfg_args is_blender=True but the dataset is HyperNeRF')), info.warnings.join('\n'));
  });

  test('an explicit dataset that is missing or unknown is an error', async () => {
    const dir = fresh('model');
    makeModelDir(dir);
    await assert.rejects(inspectModelDir(dir, { dataset: join(tmp, 'gone') }), expectError(/dataset directory not found/, join(tmp, 'gone')));
    const junk = fresh('junk');
    await assert.rejects(inspectModelDir(dir, { dataset: junk }), expectError(/not a known dataset/, junk));
  });

  test('a source_path that exists but is no dataset: warning', async () => {
    const junk = fresh('junk');
    const dir = fresh('model');
    makeModelDir(dir, { cfg: `Namespace(source_path='${junk}')` });
    const info = await inspectModelDir(dir);
    assert.equal(info.datasetDir, undefined);
    assert.ok(info.warnings.some((w) => w.includes('(cfg_args source_path): not a known dataset')), info.warnings.join('\n'));
  });

  test('a relative source_path resolves against the training directory inferred from model_path', async () => {
    const work = fresh('work');
    const ds = join(work, 'data', 'lego');
    makeDNerfDataset(ds);
    const dir = join(work, 'output', 'lego_run');
    makeModelDir(dir, { cfg: "Namespace(source_path='data/lego', model_path='./output/lego_run', white_background=False, is_blender=True)" });
    const info = await inspectModelDir(dir);
    assert.equal(info.datasetDir, ds);
    assert.equal(info.datasetKind, 'dnerf');
    assert.deepEqual(info.warnings, []);
  });

  test('the real DGD cfg_args: no white background, source path absent here', { skip: existsSync(REAL_CFG) ? false : `real data not found at ${REAL_CFG}` }, async () => {
    const dir = fresh('dgd');
    makeModelDir(dir, { cfg: null });
    copyFileSync(REAL_CFG, join(dir, 'cfg_args'));
    const info = await inspectModelDir(dir);
    assert.equal(info.whiteBackground, false);
    assert.equal(info.cfg?.semanticDimension, 384);
    assert.equal(info.cfg?.shDegree, 3);
    assert.ok(info.warnings.some((w) => w.includes('/DGD-Dynamic-3D-Gaussians-Distillation/data/split-cookie" does not exist here')), info.warnings.join('\n'));
  });

  test('a malformed cfg_args is an error naming it', async () => {
    const dir = fresh('model');
    makeModelDir(dir, { cfg: '{"sh_degree": 3}' });
    await assert.rejects(inspectModelDir(dir), (e: Error) => {
      assert.ok(e instanceof CfgArgsError, `${e.name}: ${e.message}`);
      assert.ok(e.message.startsWith(`${join(dir, 'cfg_args')}: line 1, column 1: not a printed argparse Namespace`), e.message);
      return true;
    });
  });
});

describe('inspectModelDir: cameras.json (3DGS camera_to_JSON format)', () => {
  // Camera 0 sits at (0, 0, -5) with the OpenCV axes aligned to the world's; camera 1 at
  // (5, 0, 0) looks at the origin with world +z up: its columns (x, y, z camera axes in world
  // coordinates) are (0, 1, 0), (0, 0, -1), (-1, 0, 0).
  const entries = [
    { id: 0, img_name: 'r_000', width: 800, height: 600, position: [0, 0, -5], rotation: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], fy: 1000, fx: 1100 },
    { id: 1, img_name: 'r_001', width: 800, height: 600, position: [5, 0, 0], rotation: [[0, 0, -1], [1, 0, 0], [0, -1, 0]], fy: 1000, fx: 1000 },
  ];

  test('position is the camera centre, rotation camera-to-world; OpenCV world-to-camera out', async () => {
    const dir = fresh('model');
    makeModelDir(dir, { cameras: entries });
    const info = await inspectModelDir(dir);
    assert.equal(info.camerasPath, join(dir, 'cameras.json'));
    const cams = info.cameras!;
    assert.deepEqual(cams.map((c) => [c.id, c.name]), [[0, 'r_000'], [1, 'r_001']]);
    for (const c of cams) Camera.parse(c.camera);
    const [a, b] = cams.map((c) => c.camera) as [Camera, Camera];
    assert.deepEqual([a.width, a.height, a.fx, a.fy, a.cx, a.cy], [800, 600, 1100, 1000, 400, 300]);
    assert.deepEqual(a.worldToCamera.map((x) => x + 0), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 5, 0, 0, 0, 1]);
    cameraPosition(b).forEach((x, k) => close(x, [5, 0, 0][k]!, 1e-12, 'centre'));
    const o = projectPoint(b, [0, 0, 0]);
    assert.deepEqual([o.u, o.v, o.z], [400, 300, 5]);
    assert.ok(projectPoint(b, [0, 0, 1]).v < 300, 'world up projects above the centre');
    assert.ok(projectPoint(b, [0, 1, 0]).u > 400, 'world +y is to the camera\'s right');
  });

  test('malformed cameras.json', async () => {
    const file = (dir: string) => join(dir, 'cameras.json');
    const cases: [unknown, RegExp][] = [
      ['[{"id": 0,', /invalid JSON/],
      [{ cams: [] }, /expected an array, found an object/],
      [[{ ...entries[0], rotation: [[1, 0], [0, 1]] }], /\[0\]\.rotation: expected 3 rows, found 2/],
      [[entries[0], { ...entries[1], fx: -1 }], /\[1\]: focal lengths must be positive/],
      [[{ ...entries[0], rotation: [[1, 0, 0], [0, 1, 0], [0, 0, -1]] }], /\[0\]\.rotation: not a rotation matrix/],
      [[{ ...entries[0], width: 800.5 }], /\[0\]: width x height 800\.5x600 is not a positive integer size/],
      [JSON.stringify([{ ...entries[0], position: [0, 0, 'X'] }]).replace('"X"', '-1e999'), /\[0\]\.position\[2\]: expected a finite number, found -Infinity/],
    ];
    for (const [content, re] of cases) {
      const dir = fresh('model');
      makeModelDir(dir, { cameras: content });
      await assert.rejects(inspectModelDir(dir), expectError(re, file(dir)));
    }
  });

  test('parseCamerasJson alone', () => {
    assert.equal(parseCamerasJson([], 'cameras.json').length, 0);
    assert.throws(() => parseCamerasJson([{}], 'x/cameras.json'), expectError(/\[0\]\.width: expected a number, found nothing/, 'x/cameras.json'));
  });
});
