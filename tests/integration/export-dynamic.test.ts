// Export of an imported dynamic scene that carries its deformation MLP (not baked): masks wait for
// the exact deformation at every view's time, view names carry the dataset image stems, and the
// .ply export writes the network as a torch state_dict that reads back with the same weights.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DirSink, exportMasks, exportScenePly, loadRoomState } from '../../server/export/index';
import { writeStateDict } from '../../server/export/torch-save';
import { importModel } from '../../server/import/index';
import { readStateDict } from '../../server/import/pth';
import { SceneRuntime } from '../../server/render/runtime';
import { Room } from '../../server/rooms/room';
import { MemoryRoomStore } from '../../server/rooms/store';
import { readPly } from '../../server/scene/ply';
import { SceneStore } from '../../server/scene/store';
import { SemanticEngine } from '../../server/semantic/engine';
import { ROOT } from '../helpers/data';
import { makeFakeModel } from '../helpers/model-dir';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'splatsync-export-dyn-'));
let store: SceneStore;
let sceneId: string;
let rt: SceneRuntime;
let rooms: MemoryRoomStore;

before(async () => {
  const model = await makeFakeModel({ frames: 3, size: 48 });
  store = new SceneStore(path.join(tmp, 'data'));
  sceneId = (await importModel(store, { modelDir: model.modelDir, name: 'dyn' })).sceneId;
  rt = await SceneRuntime.load(store, sceneId, 'cpu');
  rooms = new MemoryRoomStore();
  const room = await Room.open(sceneId, 'main', rooms, new SemanticEngine(rt, null));
  const v = rt.bundle.header.views[1]!;
  const author = { id: 'u1', name: 'U' };
  await room.commit(author, { opId: 'a', body: { type: 'label.create', labelId: 'obj', name: 'thing/with slash', colour: '#ff8800' } });
  // A region covering the middle of the frame: independent of what the features pick.
  const spans: [number, number, number][] = [];
  for (let y = 14; y < 34; y++) spans.push([y, 14, 34]);
  await room.commit(author, { opId: 'b', body: { type: 'sel.add', labelId: 'obj', sel: { id: 's1', kind: 'region', mode: 'add', theta: 0, query: { camera: v.camera, t: v.time, spans } } } });
});

after(() => {
  rt?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('torch state_dict writer: PyTorch-written checkpoints read back unchanged after a rewrite', () => {
  for (const f of ['default.pth', 'blender.pth', 'blender_sixdof.pth']) {
    const original = readStateDict(new Uint8Array(readFileSync(path.join(ROOT, 'tests/fixtures/deform', f))), f);
    const again = readStateDict(writeStateDict(new Map([...original].map(([k, t]) => [k, { shape: t.shape, data: t.data }]))), `rewritten ${f}`);
    assert.deepEqual([...again.keys()], [...original.keys()], f);
    for (const [k, t] of original) {
      const u = again.get(k)!;
      assert.deepEqual(u.shape, t.shape, `${f} ${k}`);
      assert.deepEqual(u.data, t.data, `${f} ${k}`);
      assert.equal(u.dtype, 'float32');
    }
  }
});

test('masks of an unbaked MLP scene are rendered at the exact deformation of each view', async () => {
  const state = await loadRoomState(rooms, sceneId, 'main');
  // A fresh runtime: no deformation computed yet except t = 0.
  const fresh = await SceneRuntime.load(store, sceneId, 'cpu');
  try {
    const views = fresh.bundle.header.views;
    const out = path.join(tmp, 'masks');
    const res = await exportMasks({ runtime: fresh, engine: new SemanticEngine(fresh, null), state, roomId: 'main', sink: await DirSink.open(out), formats: ['png', 'coco'] });
    const m = res.manifest;
    assert.equal(m.views.length, views.length);
    for (const v of views) assert.ok(fresh.isExact(v.time), `exact at t=${v.time}`);
    assert.deepEqual(m.views.map((v) => v.name), views.map((v) => `${v.split}_${v.index}_r_${v.index}`));
    assert.deepEqual(m.labels.map((l) => l.file), ['thing_with slash']);
    const coco = JSON.parse(readFileSync(path.join(out, 'coco.json'), 'utf8')) as { images: { file_name: string }[]; annotations: unknown[] };
    assert.deepEqual(coco.images.map((i) => i.file_name), views.map((v) => v.image));
    assert.ok(coco.annotations.length > 0);
    assert.ok(m.views.some((v) => (v.pixels['thing/with slash'] ?? 0) > 50));
  } finally {
    fresh.dispose();
  }
});

test('export-ply of an MLP scene writes deform.pth with the bundle\'s weights', async () => {
  const state = await loadRoomState(rooms, sceneId, 'main');
  const out = path.join(tmp, 'obj.ply');
  const res = await exportScenePly({ scenes: store, sceneId, roomId: 'main', state, label: 'thing/with slash', out });
  assert.equal(res.deform, 'mlp');
  const ply = await readPly(out);
  assert.equal(ply.cloud.count, res.count);
  assert.ok(res.count > 0 && res.count < rt.bundle.header.count);
  const weights = readStateDict(new Uint8Array(readFileSync(path.join(tmp, 'obj.deform.pth'))), 'obj.deform.pth');
  const net = rt.bundle.deformNet!;
  assert.deepEqual([...weights.keys()], [...net.tensors.keys()]);
  for (const [k, t] of net.tensors) assert.deepEqual(weights.get(k)!.data, t.data, k);
  const side = JSON.parse(readFileSync(path.join(tmp, 'obj.json'), 'utf8')) as { deform: { kind: string; network: { isBlender: boolean } }; label: { name: string } };
  assert.equal(side.deform.kind, 'mlp');
  assert.equal(side.deform.network.isBlender, true);
  assert.equal(side.label.name, 'thing/with slash');
});
