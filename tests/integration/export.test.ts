// Issue #8 end to end on the demo scene: labels for the ground-truth parts built by clicks (as the
// selection accuracy test does) and committed through a Room over the real SQLite store in a
// temporary data dir; masks exported at the test views in all three formats; evaluated against
// masks from the ground-truth part ids (mIoU >= 0.9); the same through the CLI (directory and
// zip); the .ply export read back through our reader.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { openDb, type Db } from '../../server/db';
import { evaluateMasks } from '../../server/eval/index';
import { canExport, computeAppearance, DirSink, exportMasks, loadRoomState, scaleOpacityLogit, viewNames, ZipSink } from '../../server/export/index';
import { SH_C0 } from '../../server/export/ply-export';
import { DEFAULT_PATCH, DEFAULT_THETA } from '../../server/protocol/room';
import { SceneRuntime } from '../../server/render/runtime';
import { Room } from '../../server/rooms/room';
import { SqliteRoomStore } from '../../server/rooms/sqlite-store';
import type { RoomState } from '../../server/rooms/state';
import { readPly } from '../../server/scene/ply';
import { halfToFloat } from '../../server/scene/half';
import { SceneStore } from '../../server/scene/store';
import { SemanticEngine } from '../../server/semantic/engine';
import { demoDataDir, ROOT, TEST_OUTPUT } from '../helpers/data';
import { interiorPixel, partMap } from '../helpers/parts';

const MIN_PART_PIXELS = 200;
const COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990'];

let tmp: string;
let data: string;
let db: Db;
let rt: SceneRuntime;
let engine: SemanticEngine;
let room: Room;
let names: string[];
let refDir: string;

const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/splatsync.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
const author = { id: 'u-ann', name: 'Ann' };
let opSeq = 0;
const commit = (body: Parameters<Room['commit']>[1]['body']) => room.commit(author, { opId: `op${++opSeq}`, body });

before(async () => {
  const demo = await demoDataDir();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'splatsync-export-'));
  data = path.join(tmp, 'data');
  mkdirSync(data);
  symlinkSync(path.join(demo, 'scenes'), path.join(data, 'scenes'), 'dir');
  db = openDb(data);
  rt = await SceneRuntime.load(new SceneStore(data), 'demo', 'cpu');
  engine = new SemanticEngine(rt, null);
  room = await Room.open('demo', 'main', new SqliteRoomStore(db), engine);
  names = rt.bundle.header.partNames!;
  const partIds = rt.bundle.partIds!;
  const views = rt.bundle.header.views;

  // One label per ground-truth part: one click at the part's most interior pixel in the first
  // view (in a part-dependent order) where the part is clearly visible, default θ.
  for (let p = 0; p < names.length; p++) {
    let clicked = false;
    for (let k = 0; k < views.length && !clicked; k++) {
      const v = views[(p * 7 + k * 13) % views.length]!;
      const gt = (await partMap(rt, partIds, v.camera, v.time)).map((x) => (x === p + 1 ? 1 : 0));
      if (gt.reduce((a, b) => a + b, 0) < MIN_PART_PIXELS) continue;
      const px = interiorPixel(gt, v.camera.width, v.camera.height)!;
      await commit({ type: 'label.create', labelId: `part${p}`, name: names[p]!, colour: COLOURS[p % COLOURS.length]! });
      await commit({ type: 'sel.add', labelId: `part${p}`, sel: { id: `click${p}`, kind: 'click', mode: 'add', theta: DEFAULT_THETA, query: { camera: v.camera, t: v.time, x: px.x, y: px.y, patch: DEFAULT_PATCH } } });
      clicked = true;
    }
    assert.ok(clicked, `part ${names[p]} is clickable in some view`);
  }

  // Reference masks from the ground-truth part ids at the test views, written with sharp (an
  // encoder independent of ours) as per-label PNGs.
  refDir = path.join(tmp, 'ref');
  const testViews = views.filter((v) => v.split === 'test');
  const vn = viewNames(testViews);
  for (let i = 0; i < testViews.length; i++) {
    const v = testViews[i]!;
    const map = await partMap(rt, partIds, v.camera, v.time);
    mkdirSync(path.join(refDir, vn[i]!), { recursive: true });
    for (let p = 0; p < names.length; p++) {
      const m = map.map((x) => (x === p + 1 ? 255 : 0));
      await sharp(m, { raw: { width: v.camera.width, height: v.camera.height, channels: 1 } }).png().toFile(path.join(refDir, vn[i]!, `${names[p]}.png`));
    }
  }
});

after(() => {
  rt?.dispose();
  db?.close();
  // The scenes folder is a symlink to the shared demo data dir: rm removes the link only.
  rmSync(tmp, { recursive: true, force: true });
});

async function stateFromStore(): Promise<RoomState> {
  return loadRoomState(new SqliteRoomStore(db), 'demo', 'main');
}

test('exported masks of click-built part labels match the ground-truth parts: mIoU >= 0.9 (png, davis and coco agree)', async () => {
  const state = await stateFromStore();
  assert.equal(state.labels.size, names.length);
  const out = path.join(tmp, 'api-export');
  const t0 = performance.now();
  const progress: number[] = [];
  const res = await exportMasks({
    runtime: rt, engine, state, roomId: 'main', sink: await DirSink.open(out), formats: ['png', 'davis', 'coco'], split: 'test',
    onProgress: (p) => progress.push(p.done),
  });
  const exportMs = performance.now() - t0;
  const m = res.manifest;
  assert.equal(m.views.length, 20);
  assert.deepEqual(progress, Array.from({ length: 21 }, (_, i) => i));
  assert.equal(m.room!.version, state.version);
  assert.deepEqual(m.labels.map((l) => l.name), names);
  assert.ok(m.labels.every((l) => l.selections.length === 1 && l.selections[0]!.theta === DEFAULT_THETA));

  const report = await evaluateMasks(out, refDir);
  assert.equal(report.pred.layout, 'png');
  assert.equal(report.problems.length, 0, JSON.stringify(report.problems.slice(0, 5)));
  assert.equal(report.frames.length, 20);
  assert.deepEqual([...report.labels].sort(), [...names].sort());
  const davis = await evaluateMasks(path.join(out, 'davis'), refDir);
  const coco = await evaluateMasks(path.join(out, 'coco.json'), refDir);
  assert.equal(davis.problems.length, 0, JSON.stringify(davis.problems.slice(0, 5)));
  assert.equal(coco.problems.length, 0, JSON.stringify(coco.problems.slice(0, 5)));
  for (const other of [davis, coco]) {
    assert.equal(other.rows.length, report.rows.length);
    other.rows.forEach((r, i) => assert.deepEqual(r, report.rows[i]));
  }
  mkdirSync(TEST_OUTPUT, { recursive: true });
  writeFileSync(path.join(TEST_OUTPUT, 'export-accuracy.json'), JSON.stringify({ mIoU: report.mIoU, perLabel: report.perLabel, exportMs }, null, 1));
  console.log(`export of ${names.length} labels x 20 views in ${exportMs.toFixed(0)} ms; mIoU ${report.mIoU!.toFixed(3)}`);
  for (const l of report.perLabel) console.log(`  ${l.label.padEnd(14)} ${l.meanIoU?.toFixed(3)} (${l.frames} frames, min ${l.minIoU?.toFixed(3)})`);
  assert.ok(report.mIoU! >= 0.9, `mIoU ${report.mIoU!.toFixed(3)} >= 0.9`);
});

test('CLI export-masks (directory and zip) and eval give the same result', async () => {
  const outDir = path.join(tmp, 'cli-export');
  const r = cli('export-masks', '--data', data, '--scene', 'demo', '--room', 'main', '--split', 'test', '--format', 'png,davis,coco', '--out', outDir);
  assert.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as { views: number; labels: string[] };
  assert.equal(printed.views, 20);
  assert.match(r.stderr, /exported 10 labels x 20 views/);
  const json = path.join(tmp, 'eval.json');
  const e = cli('eval', '--pred', outDir, '--ref', refDir, '--json', json);
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /mIoU 0\.9\d+/);
  const report = JSON.parse(readFileSync(json, 'utf8')) as { mIoU: number; rows: unknown[] };
  assert.ok(report.mIoU >= 0.9);
  assert.equal(report.rows.length, 200);

  const zip = path.join(tmp, 'cli-export.zip');
  const z = cli('export-masks', '--data', data, '--scene', 'demo', '--split', 'test', '--format', 'davis,coco', '--out', zip);
  assert.equal(z.status, 0, z.stderr);
  const files = unzipSync(readFileSync(zip));
  const davisNames = Object.keys(files).filter((f) => f.startsWith('davis/') && f.endsWith('.png'));
  assert.equal(davisNames.length, 20);
  for (const f of davisNames) assert.deepEqual(files[f], new Uint8Array(readFileSync(path.join(outDir, f))), f);
  const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json'])) as { formats: string[]; room: { id: string } };
  assert.deepEqual(manifest.formats, ['davis', 'coco']);
  assert.equal(manifest.room.id, 'main');

  // Bad arguments and an existing output.
  const bad = cli('export-masks', '--data', data, '--scene', 'demo', '--format', 'tiff', '--out', path.join(tmp, 'x'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown format "tiff"/);
  const again = cli('export-masks', '--data', data, '--scene', 'demo', '--split', 'test', '--out', outDir);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /not empty/);
  const noRoom = cli('export-masks', '--data', data, '--scene', 'demo', '--room', 'nobody', '--out', path.join(tmp, 'y'));
  assert.notEqual(noRoom.status, 0);
  assert.match(noRoom.stderr, /room nobody of scene demo has no labels/);
});

test('export-ply: a label\'s Gaussians read back unchanged; the scene with edits applied', async () => {
  const bundle = rt.bundle;
  const n = bundle.header.count;
  const K = 16;
  const sh = halfToFloat(bundle.shHalf!);
  const ballFile = path.join(tmp, 'ball.ply');
  const r = cli('export-ply', '--data', data, '--scene', 'demo', '--label', 'ball', '--features', '--out', ballFile);
  assert.equal(r.status, 0, r.stderr);
  const state = await stateFromStore();
  const members = await engine.membership(state.labels.get('part7')!);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (members[i]) idx.push(i);
  const ply = await readPly(ballFile);
  assert.equal(ply.cloud.count, idx.length);
  assert.equal(ply.cloud.shDegree, 3);
  assert.equal(ply.features?.dim, bundle.header.featureDim);
  const c = bundle.cloud;
  idx.forEach((i, r) => {
    for (let a = 0; a < 3; a++) assert.equal(ply.cloud.positions[r * 3 + a], c.positions[i * 3 + a]);
    for (let a = 0; a < 4; a++) assert.equal(ply.cloud.rotations[r * 4 + a], c.rotations[i * 4 + a]);
    for (let a = 0; a < 3; a++) assert.equal(ply.cloud.logScales[r * 3 + a], c.logScales[i * 3 + a]);
    assert.equal(ply.cloud.opacityLogits[r], c.opacityLogits[i]);
    for (let a = 0; a < K * 3; a++) assert.equal(ply.cloud.sh[r * K * 3 + a], sh[i * K * 3 + a]);
  });
  // Keyframe deformation of the subset, and the sidecar.
  const npz = unzipSync(readFileSync(path.join(tmp, 'ball.keyframes.npz')));
  assert.deepEqual(Object.keys(npz).sort(), ['d_rotation.npy', 'd_scaling.npy', 'd_xyz.npy', 'indices.npy', 't.npy']);
  const side = JSON.parse(readFileSync(path.join(tmp, 'ball.json'), 'utf8')) as { count: number; label: { name: string }; deform: { kind: string } };
  assert.equal(side.count, idx.length);
  assert.equal(side.label.name, 'ball');
  assert.equal(side.deform.kind, 'keyframes');

  // Edits: hide the table, halve the torso's opacity, tint the ball red; whole-scene export.
  await commit({ type: 'edit.set', labelId: 'part8', patch: { hidden: true } });
  await commit({ type: 'edit.set', labelId: 'part1', patch: { opacity: 0.5 } });
  await commit({ type: 'edit.set', labelId: 'part7', patch: { tint: '#ff0000' } });
  const edited = await stateFromStore();
  const channel = await engine.labelChannel(edited);
  const app = computeAppearance(edited, channel);
  const sceneFile = path.join(tmp, 'scene.ply');
  const s = cli('export-ply', '--data', data, '--scene', 'demo', '--out', sceneFile);
  assert.equal(s.status, 0, s.stderr);
  const out = await readPly(sceneFile);
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (app.opacityScale![i]! > 0) kept.push(i);
  assert.ok(kept.length < n, 'the hidden label removed Gaussians');
  assert.equal(out.cloud.count, kept.length);
  assert.equal(out.features, null);
  const torsoIdx = channel.order.indexOf('part1') + 1;
  const ballIdx = channel.order.indexOf('part7') + 1;
  let checkedTorso = 0;
  let checkedBall = 0;
  kept.forEach((i, r) => {
    const lab = channel.labels[i]!;
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    if (lab === torsoIdx) {
      assert.ok(Math.abs(sig(out.cloud.opacityLogits[r]!) - 0.5 * sig(c.opacityLogits[i]!)) < 1e-5);
      checkedTorso++;
    } else {
      assert.equal(out.cloud.opacityLogits[r], c.opacityLogits[i]);
    }
    if (lab === ballIdx) {
      // DC colour mixed toward red by the tint's mix, higher bands scaled by (1 - mix).
      const m = app.tint![i * 4 + 3]!;
      const red = [1, 0, 0];
      for (let ch = 0; ch < 3; ch++) {
        const before = SH_C0 * sh[i * K * 3 + ch]! + 0.5;
        const after = SH_C0 * out.cloud.sh[r * K * 3 + ch]! + 0.5;
        assert.ok(Math.abs(after - ((1 - m) * before + m * red[ch]!)) < 1e-5);
        assert.ok(Math.abs(out.cloud.sh[r * K * 3 + 3 + ch]! - (1 - m) * sh[i * K * 3 + 3 + ch]!) < 1e-6);
      }
      checkedBall++;
    }
  });
  assert.ok(checkedTorso > 100 && checkedBall > 100, `${checkedTorso} torso and ${checkedBall} ball Gaussians checked`);
  assert.ok(Math.abs(scaleOpacityLogit(0.3, 0.5) - Math.log(0.5 * sig0(0.3) / (1 - 0.5 * sig0(0.3)))) < 1e-12);

  // Masks ignore appearance edits: the hidden table still has its mask.
  const zipFile = path.join(tmp, 'after-edits.zip');
  const sink = ZipSink.toFile(zipFile);
  const res = await exportMasks({ runtime: rt, engine, state: edited, roomId: 'main', sink, formats: ['coco'], views: rt.bundle.header.views.filter((v) => v.split === 'test').slice(0, 3) });
  const tablePixels = res.manifest.views.reduce((a, v) => a + (v.pixels.table ?? 0), 0);
  assert.ok(tablePixels > 1000, `table still masked (${tablePixels} px)`);
});

test('a cancelled export stops and leaves nothing behind', async () => {
  const state = await stateFromStore();
  const out = path.join(tmp, 'cancelled');
  const ctrl = new AbortController();
  await assert.rejects(
    exportMasks({ runtime: rt, engine, state, roomId: 'main', sink: await DirSink.open(out), formats: ['png'], split: 'train', signal: ctrl.signal, onProgress: (p) => p.done === 2 && ctrl.abort() }),
    /cancelled|abort/i,
  );
  const left = readdirSync(tmp).filter((f) => f.startsWith('cancelled'));
  assert.deepEqual(left, [], 'no output and no partial directory');
});

test('only owners and annotators may export', () => {
  assert.equal(canExport('owner'), true);
  assert.equal(canExport('annotator'), true);
  assert.equal(canExport('viewer'), false);
});

function sig0(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
