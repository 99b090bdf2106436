// Selection over real socket.io: labels and click / text / region ops, the label channel in the
// frames, θ re-thresholding, hover preview, undo, and every bad input refused with nothing applied.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { decodeLabelRle, type Camera, type FramePayload, type Op, type RoomSnapshot, type SceneInfo } from '../../server/protocol/index';
import { SceneRuntime } from '../../server/render/runtime';
import { SceneStore } from '../../server/scene/store';
import { ClipTextEncoder } from '../../server/semantic/clip/index';
import { makeClipFixtureDir } from '../fixtures/clip/make-clip-fixtures';
import { demoDataDir } from '../helpers/data';
import { interiorPixel, partMap } from '../helpers/parts';
import { connect, join, startInProcess, type InProcessServer } from '../helpers/server';

let srv: InProcessServer;
let info: SceneInfo;
let torso: { x: number; y: number };
let camera: Camera;
const sockets: Socket[] = [];
let seq = 0;
const id = (p: string) => `${p}${++seq}`;

async function client(name: string, room?: string): Promise<{ s: Socket; room: RoomSnapshot; ops: Op[] }> {
  const s = await connect(srv.url, { protocol: 1, user: { id: `user-${name}`, name } });
  sockets.push(s);
  const j = await join(s, 'demo');
  assert.ok(j.ok);
  info = j.data;
  const r = await s.emitWithAck('room:join', room ? { room } : {});
  assert.ok(r.ok, JSON.stringify(r));
  const ops: Op[] = [...r.data.ops];
  s.on('op', (op: Op) => ops.push(op));
  return { s, room: r.data, ops };
}

const submit = (s: Socket, body: unknown) => s.timeout(60_000).emitWithAck('op:submit', { opId: id('op'), body });

async function frameWithLabels(s: Socket, t = 0.3, fullSize = false): Promise<{ f: FramePayload; labels: Uint8Array }> {
  const got: FramePayload[] = [];
  const on = (f: FramePayload) => {
    got.push(f);
    s.emit('frame:ack', { seq: f.seq });
  };
  s.on('frame', on);
  s.emit('view:set', { seq: ++seq, camera, t });
  const deadline = Date.now() + 30_000;
  const wanted = (f: FramePayload) => f.viewSeq === seq && (!fullSize || f.scale === 1);
  while (Date.now() < deadline && !got.some(wanted)) await new Promise((r) => setTimeout(r, 20));
  s.off('frame', on);
  const f = got.find(wanted)!;
  assert.ok(f, 'a frame arrived');
  const buf = f.labels instanceof ArrayBuffer ? new Uint8Array(f.labels) : f.labels ? new Uint8Array(f.labels) : new Uint8Array();
  return { f, labels: f.labels ? decodeLabelRle(buf, f.width * f.height) : new Uint8Array(f.width * f.height) };
}

before(async () => {
  const data = await demoDataDir();
  srv = await startInProcess(data);
  // Where the torso is in the home view at t = 0.3 (ground truth from the demo's part ids).
  const rt = await SceneRuntime.load(new SceneStore(data), 'demo', 'cpu');
  const { header } = rt.bundle;
  camera = { ...header.home.camera };
  const parts = await partMap(rt, rt.bundle.partIds!, camera, 0.3);
  const p = header.partNames!.indexOf('torso');
  torso = interiorPixel(parts.map((x) => (x === p + 1 ? 1 : 0)), camera.width, camera.height)!;
  rt.dispose();
});
after(async () => {
  for (const s of sockets) s.close();
  await srv.close();
});

test('labels and a click selection reach every client; frames carry the label channel', async () => {
  const a = await client('ana');
  const b = await client('ben');
  const labelId = id('lab');
  const c = await submit(a.s, { type: 'label.create', labelId, name: 'torso', colour: '#ff8800' });
  assert.ok(c.ok, JSON.stringify(c));
  const click = await submit(a.s, { type: 'sel.add', labelId, sel: { id: id('sel'), kind: 'click', mode: 'add', theta: 0.5, query: { camera, t: 0.3, x: torso.x, y: torso.y } } });
  assert.ok(click.ok, JSON.stringify(click));
  await new Promise((r) => setTimeout(r, 100));
  const seen = b.ops.find((o) => o.body.type === 'sel.add');
  assert.ok(seen, 'the other client received the op');
  assert.equal(seen.authorName, 'ana');
  assert.ok(seen.body.type === 'sel.add' && seen.body.sel.kind === 'click' && seen.body.sel.feature?.length === info.featureDim, 'the committed op carries its query feature');

  const { f, labels } = await frameWithLabels(b.s);
  assert.deepEqual(f.labelOrder?.slice(0, 1), [labelId]);
  const lx = Math.round(torso.x * (f.width / camera.width));
  const ly = Math.round(torso.y * (f.height / camera.height));
  assert.equal(labels[ly * f.width + lx], 1, 'the clicked pixel is labelled in the other client frame');
  const labelled = labels.reduce((n, v) => n + (v === 1 ? 1 : 0), 0);
  assert.ok(labelled > 500 && labelled < f.width * f.height * 0.3, `a torso-sized mask (${labelled} px)`);

  // θ up: fewer Gaussians, scores reused; histogram answers.
  const sel = seen.body.type === 'sel.add' ? seen.body.sel : null;
  const h1 = await a.s.emitWithAck('sel:histogram', { labelId, selId: sel!.id });
  assert.ok(h1.ok && h1.data.bins.length === 64);
  const up = await submit(a.s, { type: 'sel.update', labelId, selId: sel!.id, theta: 0.9 });
  assert.ok(up.ok);
  const h2 = await a.s.emitWithAck('sel:histogram', { labelId, selId: sel!.id });
  assert.ok(h2.ok && h2.data.count < h1.data.count, 'a higher θ selects fewer Gaussians');
  const fewer = (await frameWithLabels(b.s)).labels.reduce((n, v) => n + (v === 1 ? 1 : 0), 0);
  assert.ok(fewer < labelled, 'and the mask shrinks');

  // Undo is per user: ben has nothing to undo, ana's undo restores θ.
  const bu = await submit(b.s, { type: 'undo' });
  assert.ok(!bu.ok && /nothing of yours to undo/.test(bu.message));
  const au = await submit(a.s, { type: 'undo' });
  assert.ok(au.ok);
  const h3 = await a.s.emitWithAck('sel:histogram', { labelId, selId: sel!.id });
  assert.ok(h3.ok && h3.data.count === h1.data.count, 'undo restored the previous θ');
});

test('appearance edits (tint, hide) change every client\'s frames live and undo restores them', async () => {
  const a = await client('eda', 'edits');
  const b = await client('edb', 'edits');
  const labelId = id('lab');
  assert.ok((await submit(a.s, { type: 'label.create', labelId, name: 'torso', colour: '#ff8800' })).ok);
  assert.ok((await submit(a.s, { type: 'sel.add', labelId, sel: { id: id('sel'), kind: 'click', mode: 'add', theta: 0.5, query: { camera, t: 0.3, x: torso.x, y: torso.y } } })).ok);
  const rgbAt = async () => {
    const { f, labels } = await frameWithLabels(b.s, 0.3, true);
    const raw = await sharp(Buffer.from(f.jpeg as ArrayBuffer)).raw().toBuffer();
    // Mean colour over the pixels labelled before any edit (the torso).
    let n = 0;
    const sum = [0, 0, 0];
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      n++;
      for (let c = 0; c < 3; c++) sum[c]! += raw[i * 3 + c]!;
    }
    return { mean: sum.map((v) => v / n), labelled: labels.reduce((k, v) => k + (v === 1 ? 1 : 0), 0) };
  };
  const mask = (await frameWithLabels(b.s, 0.3, true)).labels.map((v) => (v === 1 ? 1 : 0));
  const plain = await rgbAt();
  assert.ok(plain.labelled > 500);

  assert.ok((await submit(a.s, { type: 'edit.set', labelId, patch: { tint: '#00ff00' } })).ok);
  const tinted = await rgbAt();
  assert.ok(tinted.mean[1]! - plain.mean[1]! > 40, `green rises under a green tint (${plain.mean.map((v) => v.toFixed(0))} -> ${tinted.mean.map((v) => v.toFixed(0))})`);

  assert.ok((await submit(a.s, { type: 'edit.set', labelId, patch: { tint: null, hidden: true } })).ok);
  const hidden = await rgbAt();
  assert.ok(hidden.labelled < plain.labelled * 0.2, `a hidden label draws (almost) no pixels (${hidden.labelled} of ${plain.labelled})`);
  assert.ok(Math.abs(hidden.mean[0]! - plain.mean[0]!) + Math.abs(hidden.mean[2]! - plain.mean[2]!) > 30, `what was behind the torso shows (${plain.mean.map((v) => v.toFixed(0))} -> ${hidden.mean.map((v) => v.toFixed(0))})`);

  assert.ok((await submit(a.s, { type: 'undo' })).ok);
  assert.ok((await submit(a.s, { type: 'undo' })).ok);
  const back = await rgbAt();
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(back.mean[c]! - plain.mean[c]!) < 3, `undoing both edits restores the frame (${plain.mean.map((v) => v.toFixed(0))} vs ${back.mean.map((v) => v.toFixed(0))}, labelled ${plain.labelled} vs ${back.labelled})`);
  assert.equal(back.labelled, plain.labelled);
});

test('region (brush) selection and hover preview', async () => {
  // Its own room: in 'main' the torso label (first in order) would claim these Gaussians.
  const a = await client('cy', 'brush');
  const labelId = id('lab');
  assert.ok((await submit(a.s, { type: 'label.create', labelId, name: 'brushed', colour: '#00aaff' })).ok);
  const spans = [] as [number, number, number][];
  for (let y = torso.y - 4; y <= torso.y + 4; y++) spans.push([y, torso.x - 4, torso.x + 5]);
  const r = await submit(a.s, { type: 'sel.add', labelId, sel: { id: id('sel'), kind: 'region', mode: 'add', theta: 0, query: { camera, t: 0.3, spans } } });
  assert.ok(r.ok, JSON.stringify(r));
  const { labels, f } = await frameWithLabels(a.s);
  const idx = f.labelOrder!.indexOf(labelId) + 1;
  assert.ok(idx > 0);
  assert.ok(labels.some((v) => v === idx), 'the brushed Gaussians are labelled');

  const p = await a.s.emitWithAck('sel:preview', { query: { camera, t: 0.3, x: torso.x, y: torso.y }, theta: 0.5 });
  assert.ok(p.ok && p.data && p.data.count > 0);
  const withPreview = await frameWithLabels(a.s);
  assert.ok(withPreview.labels.some((v) => v === 255), 'the preview shows as label 255 in my frames');
  const cleared = await a.s.emitWithAck('sel:preview', { query: null, theta: 0.5 });
  assert.ok(cleared.ok);
  assert.ok(!(await frameWithLabels(a.s)).labels.some((v) => v === 255), 'cleared');
});

test('text selection with a CLIP encoder of the scene width', async () => {
  const clipDir = mkdtempSync(path.join(os.tmpdir(), 'splatsync-clip-'));
  makeClipFixtureDir(clipDir, { dim: info.featureDim });
  const clip = await ClipTextEncoder.load(clipDir);
  const srvClip = await startInProcess(await demoDataDir(), { clip });
  const url = srvClip.url;
  try {
    const s = await connect(url, { protocol: 1, user: { id: 'user-t', name: 'tess' } });
    assert.ok((await join(s, 'demo')).ok);
    assert.ok((await s.emitWithAck('room:join', {})).ok);
    const labelId = id('lab');
    assert.ok((await submit(s, { type: 'label.create', labelId, name: 'texty', colour: '#aa00ff' })).ok);
    const selId = id('sel');
    const r = await submit(s, { type: 'sel.add', labelId, sel: { id: selId, kind: 'text', mode: 'add', theta: 0.1, query: { text: 'a red ball' } } });
    assert.ok(r.ok, JSON.stringify(r));
    const h = await s.emitWithAck('sel:histogram', { labelId, selId });
    assert.ok(h.ok);
    assert.equal(h.data.bins.reduce((a: number, b: number) => a + b, 0), info.count, 'every Gaussian scored');
    const long = await submit(s, { type: 'sel.add', labelId, sel: { id: id('sel'), kind: 'text', mode: 'add', theta: 0.1, query: { text: 'x'.repeat(10_000) } } });
    assert.ok(!long.ok && long.code === 'bad_request' && /longer than 1000/.test(long.message));
    s.close();
  } finally {
    await srvClip.close();
    clip.dispose();
  }
});

test('bad selection input is refused with a clear message and changes nothing', async () => {
  const a = await client('dee');
  const labelId = id('lab');
  assert.ok((await submit(a.s, { type: 'label.create', labelId, name: 'x', colour: '#123456' })).ok);
  const before = (await a.s.emitWithAck('room:join', {})).data.version;
  const click = (x: number, y: number, theta = 0.5) => ({ type: 'sel.add', labelId, sel: { id: id('sel'), kind: 'click', mode: 'add', theta, query: { camera, t: 0.3, x, y } } });
  const cases: [unknown, string, RegExp][] = [
    [click(camera.width + 5, 10), 'bad_request', /outside the image/],
    [click(10, 10, 2), 'bad_request', /theta/],
    [{ type: 'sel.add', labelId, sel: { id: id('sel'), kind: 'text', mode: 'add', theta: 0.5, query: { text: '   ' } } }, 'bad_request', /empty/],
    [{ type: 'sel.add', labelId, sel: { id: id('sel'), kind: 'text', mode: 'add', theta: 0.5, query: { text: 'cat' } } }, 'unavailable', /CLIP text encoder/],
    [{ type: 'sel.add', labelId, sel: { id: id('sel'), kind: 'region', mode: 'add', theta: 0, query: { camera, t: 0.3, spans: [[5, 10, 10]] } } }, 'bad_request', /no pixels/],
    [click(2, 2), 'bad_request', /nothing is rendered/],
    [{ type: 'sel.add', labelId: 'nope', sel: { id: id('sel'), kind: 'text', mode: 'add', theta: 0.5, query: { text: 'cat' } } }, 'not_found', /does not exist/],
    [{ type: 'label.create', labelId: '../../x', name: 'y', colour: '#000000' }, 'bad_request', /ids are/],
    [{ type: 'label.create', labelId: id('l'), name: 'y', colour: 'red' }, 'bad_request', /colour/],
  ];
  for (const [body, code, re] of cases) {
    const r = await submit(a.s, body);
    assert.ok(!r.ok, `refused: ${JSON.stringify(body).slice(0, 80)}`);
    assert.equal(r.code, code, r.message);
    assert.match(r.message, re);
  }
  const after_ = (await a.s.emitWithAck('room:join', {})).data.version;
  assert.equal(after_, before, 'no refused op reached the log');
  const ok = await frameWithLabels(a.s);
  assert.ok(ok.f.width > 0, 'the server still renders');
});
