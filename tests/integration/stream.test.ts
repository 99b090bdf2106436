// The render server over real socket.io: join, view requests, frames, latest-wins, bad input.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Socket } from 'socket.io-client';
import type { Camera, ErrorPayload, FramePayload, SceneInfo } from '../../server/protocol/index';
import { scaleCamera } from '../../server/scene/camera';
import { demoDataDir } from '../helpers/data';
import { connect, join, nextEvent, nextFrame, startInProcess, type InProcessServer } from '../helpers/server';

let srv: InProcessServer;
let info: SceneInfo;
const sockets: Socket[] = [];

async function joined(): Promise<Socket> {
  const s = await connect(srv.url);
  sockets.push(s);
  const res = await join(s, 'demo');
  assert.ok(res.ok, JSON.stringify(res));
  info = res.data;
  return s;
}

const bytes = (j: FramePayload['jpeg']) => Buffer.from(j instanceof ArrayBuffer ? new Uint8Array(j) : j);

before(async () => {
  srv = await startInProcess(await demoDataDir());
});
after(async () => {
  for (const s of sockets) s.close();
  await srv.close();
});

describe('http', () => {
  test('health answers without authentication', async () => {
    const res = await fetch(`${srv.url}/api/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { ok: boolean; version: string; backend: string };
    assert.equal(body.ok, true);
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.equal(body.backend, 'cpu');
  });
  test('scene list has the demo (with a link token) and refuses without one', async () => {
    const anon = await fetch(`${srv.url}/api/scenes`);
    assert.equal(anon.status, 401);
    assert.match(((await anon.json()) as { error: string }).error, /link|sign/i);
    const list = (await (await fetch(`${srv.url}/api/scenes`, { headers: { 'x-splatsync-token': srv.token } })).json()) as { id: string; count: number; dynamic: boolean }[];
    const demo = list.find((s) => s.id === 'demo');
    assert.ok(demo && demo.count >= 50_000 && demo.dynamic);
  });
  test('unknown API route is a JSON 404', async () => {
    const res = await fetch(`${srv.url}/api/nope`, { headers: { 'x-splatsync-token': srv.token } });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /no API route/);
  });
});

describe('frames', () => {
  test('a view request gets a decodable JPEG of the requested size', async () => {
    const s = await joined();
    assert.ok(info.views.length >= 60);
    const camera = scaleCamera(info.home.camera, 320, 240);
    const framePromise = nextFrame(s);
    s.emit('view:set', { seq: 1, camera, t: 0.25 });
    const f = await framePromise;
    assert.equal(f.viewSeq, 1);
    assert.equal(f.width, 320);
    assert.equal(f.height, 240);
    const meta = await sharp(bytes(f.jpeg)).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 320);
    assert.equal(meta.height, 240);
    const stats = await sharp(bytes(f.jpeg)).stats();
    assert.ok(stats.channels.some((c) => c.stdev > 10), 'frame is not a flat colour');
    for (const k of ['queueMs', 'renderMs', 'encodeMs', 'totalMs'] as const) assert.ok(f.timings[k] >= 0);
    s.emit('frame:ack', { seq: f.seq });
  });

  test('three clients at once each get their own frames', async () => {
    const clients = await Promise.all([joined(), joined(), joined()]);
    const sizes = [[200, 150], [240, 180], [160, 160]] as const;
    const frames = await Promise.all(
      clients.map((s, i) => {
        const p = nextFrame(s);
        s.emit('view:set', { seq: 7, camera: scaleCamera(info.home.camera, sizes[i]![0], sizes[i]![1]), t: i / 3 });
        return p;
      }),
    );
    frames.forEach((f, i) => {
      assert.equal(f.width, sizes[i]![0]);
      assert.equal(f.t, i / 3);
    });
  });

  test('latest wins: one frame in flight, superseded views are dropped', async () => {
    const s = await joined();
    const camera = scaleCamera(info.home.camera, 200, 200);
    const got: FramePayload[] = [];
    s.on('frame', (f: FramePayload) => got.push(f));
    for (let i = 1; i <= 10; i++) s.emit('view:set', { seq: i, camera, t: i / 20 });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(got.length, 1, 'only one frame before the ack');
    const first = got[0]!;
    s.emit('frame:ack', { seq: first.seq });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(got.length, 2, 'exactly one more frame after the ack');
    assert.equal(got[1]!.viewSeq, 10, 'the newest view, not a queued older one');
    s.off('frame');
  });

  test('while moving the frame is reduced, then full resolution after the camera rests', async () => {
    const s = await joined();
    const camera = scaleCamera(info.home.camera, 2048, 2048);
    const got: FramePayload[] = [];
    s.on('frame', (f: FramePayload) => {
      got.push(f);
      s.emit('frame:ack', { seq: f.seq });
    });
    s.emit('view:set', { seq: 1, camera, t: 0.5, moving: true });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !got.some((f) => f.scale === 1)) await new Promise((r) => setTimeout(r, 50));
    s.off('frame');
    assert.ok(got[0]!.scale < 1, `first frame while moving is reduced (scale ${got[0]!.scale})`);
    assert.ok(got[0]!.width < 2048);
    const full = got.find((f) => f.scale === 1);
    assert.ok(full, 'a full-resolution frame follows');
    assert.equal(full.width, 2048);
  });
});

describe('bad input', () => {
  const bad: [string, (c: Camera) => unknown][] = [
    ['NaN in the camera', (c) => ({ seq: 1, t: 0.5, camera: { ...c, fx: NaN } })],
    ['width 100000', (c) => ({ seq: 1, t: 0.5, camera: { ...c, width: 100000 } })],
    ['missing camera', () => ({ seq: 1, t: 0.5 })],
    ['t outside [0,1]', (c) => ({ seq: 1, t: 7, camera: c })],
    ['a string payload', () => 'hello'],
    ['a 15-number matrix', (c) => ({ seq: 1, t: 0, camera: { ...c, worldToCamera: c.worldToCamera.slice(1) } })],
    ['an unknown field', (c) => ({ seq: 1, t: 0, camera: c, evil: true })],
  ];
  for (const [name, make] of bad) {
    test(`view:set with ${name} gets an error event and the server keeps serving`, async () => {
      const s = await joined();
      const camera = scaleCamera(info.home.camera, 64, 64);
      const errP = nextEvent<ErrorPayload>(s, 'error', 5000);
      s.emit('view:set', make(camera));
      const e = await errP;
      assert.equal(e.code, 'bad_request');
      assert.equal(e.event, 'view:set');
      assert.match(e.message, /view:set: /);
      const fp = nextFrame(s);
      s.emit('view:set', { seq: 2, camera, t: 0.1 });
      assert.equal((await fp).width, 64);
    });
  }

  test('view:set before joining a scene is refused', async () => {
    const s = await connect(srv.url);
    sockets.push(s);
    const errP = nextEvent<ErrorPayload>(s, 'error', 5000);
    s.emit('view:set', { seq: 1, t: 0, camera: scaleCamera(info.home.camera, 64, 64) });
    assert.equal((await errP).code, 'not_joined');
  });

  test('joining an unknown or malformed scene id says so', async () => {
    const s = await connect(srv.url);
    sockets.push(s);
    const a = await join(s, 'no-such-scene');
    assert.equal(a.ok, false);
    assert.ok(!a.ok && a.code === 'not_found');
    const b = await join(s, '../../etc');
    assert.ok(!b.ok && b.code === 'bad_request', JSON.stringify(b));
  });

  test('a client speaking another protocol version is refused at connect', async () => {
    await assert.rejects(connect(srv.url, { protocol: 999 }), /protocol_mismatch/);
    await assert.rejects(connect(srv.url, {}), /bad handshake/);
  });
});
