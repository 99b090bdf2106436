// Hostile input to rooms (issue 6) and presence: malformed ops, unknown ids, oversized payloads,
// a flood of ops from one socket, ops without joining a room, bad presence. Each is refused with
// a clear error, nothing is applied, and the server keeps serving everyone else. Presence is
// relayed (with the world point under the cursor), throttled, and cleaned up on disconnect.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Ack, Camera, ErrorPayload, PresenceEntry, SceneInfo } from '../../server/protocol/index';
import { PRESENCE_HZ } from '../../server/protocol/index';
import { MemoryRoomStore } from '../../server/rooms/store';
import { scaleCamera } from '../../server/scene/camera';
import { stateDigest } from '../../server/rooms/state';
import { demoDataDir } from '../helpers/data';
import { RoomClient } from '../helpers/room-client';
import { connect, join, nextEvent, nextFrame, startInProcess, type InProcessServer } from '../helpers/server';

let srv: InProcessServer;
let info: SceneInfo;
const rooms = new MemoryRoomStore();

before(async () => {
  srv = await startInProcess(await demoDataDir(), { rooms });
  const s = await connect(srv.url);
  const j = await join(s, 'demo');
  assert.ok(j.ok);
  info = j.data;
  s.close();
});
after(async () => srv?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healthy(): Promise<void> {
  const res = await fetch(`${srv.url}/api/health`);
  assert.equal(res.status, 200);
  const c = new RoomClient(srv.url, { id: 'u-probe', name: 'Probe' }, 'demo', 'probe');
  await c.connect();
  const r = await c.submit(`probe-${Date.now()}`, { type: 'label.create', labelId: `p${Date.now()}`, name: 'probe', colour: '#123456' });
  assert.ok(r.ok, 'the server still commits ops for others');
  c.disconnect();
}

test('malformed and unknown ops are refused with a message; nothing is applied', async () => {
  const c = new RoomClient(srv.url, { id: 'u-bad', name: 'Bad' }, 'demo', 'hostile');
  await c.connect();
  assert.ok((await c.submit('mk', { type: 'label.create', labelId: 'ok', name: 'fine', colour: '#112233' })).ok);
  await c.waitFor(1);
  const before = stateDigest(c.state);
  const bad: [unknown, RegExp][] = [
    [null, /op:submit: payload/],
    ['label.create', /op:submit/],
    [{ opId: 'x1', body: { type: 'label.nuke', labelId: 'ok' } }, /body\.type|Invalid/i],
    [{ opId: 'x2', body: { type: 'label.create', labelId: '../../etc', name: 'x', colour: '#112233' } }, /ids are 1-40/],
    [{ opId: 'x3', body: { type: 'label.create', labelId: 'c1', name: 'x', colour: 'red' } }, /colours are #rrggbb/],
    [{ opId: 'x4', body: { type: 'label.update', labelId: 'ok', patch: { name: 'x', admin: true } } }, /Unrecognized key|admin/],
    [{ opId: 'x5', body: { type: 'sel.update', labelId: 'ok', selId: 'nope', theta: 0.5 } }, /selection nope does not exist/],
    [{ opId: 'x6', body: { type: 'label.delete', labelId: 'ghost' } }, /label ghost does not exist/],
    [{ opId: 'x7', body: { type: 'sel.update', labelId: 'ok', selId: 's', theta: 7 } }, /theta/],
    [{ opId: 'x8', body: { type: 'label.create', labelId: 'ok', name: 'dup', colour: '#112233' } }, /already exists/],
    [{ opId: 'mk', body: { type: 'label.delete', labelId: 'ok' } }, /already used for a different op/],
  ];
  for (const [payload, re] of bad) {
    const res: Ack<unknown> = await c.socket.timeout(10_000).emitWithAck('op:submit', payload);
    assert.ok(!res.ok, `refused: ${JSON.stringify(payload)}`);
    assert.match(res.message, re, `message for ${JSON.stringify(payload)}`);
  }
  await sleep(100);
  assert.equal(c.version, 1, 'no op was committed');
  assert.equal(stateDigest(c.state), before);
  c.disconnect();
  await healthy();
});

test('ops, presence and time sync without joining a room are refused', async () => {
  const s = await connect(srv.url, { protocol: 1, user: { id: 'u-nojoin', name: 'NoJoin' } });
  const res: Ack<unknown> = await s.timeout(10_000).emitWithAck('op:submit', { opId: 'n1', body: { type: 'undo' } });
  assert.ok(!res.ok && res.code === 'not_joined' && /join a room first/.test(res.message));
  assert.ok(await join(s, 'demo').then((r) => r.ok));
  const res2: Ack<unknown> = await s.timeout(10_000).emitWithAck('op:submit', { opId: 'n2', body: { type: 'undo' } });
  assert.ok(!res2.ok && res2.code === 'not_joined', 'a scene is not a room');
  const err = nextEvent<ErrorPayload>(s, 'error');
  s.emit('presence:set', { cursor: { x: 0.5, y: 0.5 } });
  assert.equal((await err).code, 'not_joined');
  const err2 = nextEvent<ErrorPayload>(s, 'error');
  s.emit('time:sync', { t: 0.5, playing: true, rate: 1 });
  assert.equal((await err2).code, 'not_joined');
  s.close();
});

test('an oversized op is refused with too_large; a payload over the transport limit only costs its sender the connection', async () => {
  const c = new RoomClient(srv.url, { id: 'u-big', name: 'Big' }, 'demo', 'hostile-big');
  await c.connect();
  const huge = { opId: 'big1', body: { type: 'label.create', labelId: 'big', name: 'x'.repeat(600_000), colour: '#112233' } };
  const res: Ack<unknown> = await c.socket.timeout(10_000).emitWithAck('op:submit', huge);
  assert.ok(!res.ok && res.code === 'too_large', JSON.stringify(res).slice(0, 200));
  assert.match(res.message, /bytes/);
  // Past the transport's limit socket.io closes that connection; nobody else notices.
  const closed = nextEvent<string>(c.socket, 'disconnect', 10_000);
  c.socket.emit('op:submit', { opId: 'big2', body: { type: 'label.create', labelId: 'big2', name: 'y'.repeat(2_000_000), colour: '#112233' } });
  await closed;
  await healthy();
  const again = new RoomClient(srv.url, { id: 'u-big', name: 'Big' }, 'demo', 'hostile-big');
  await again.connect();
  assert.equal(again.version, 0, 'neither op was applied');
  again.disconnect();
});

test('1000 ops in a second from one socket are rate limited with a clear error', async () => {
  const c = new RoomClient(srv.url, { id: 'u-flood', name: 'Flood' }, 'demo', 'flood');
  await c.connect();
  const replies = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => c.submit(`f${i}`, i === 0 ? { type: 'label.create', labelId: 'f', name: 'flood', colour: '#112233' } : { type: 'label.update', labelId: 'f', patch: { name: `n${i}` } })),
  );
  const ok = replies.filter((r) => r.ok).length;
  const limited = replies.filter((r) => !r.ok && r.code === 'rate_limited');
  assert.ok(limited.length > 500, `most of the flood was refused (${limited.length})`);
  assert.ok(ok >= 20, `a burst was let through (${ok})`);
  assert.match(limited[0]!.ok ? '' : limited[0]!.message, /too many ops.*per second/i);
  await c.waitFor(ok);
  assert.equal(c.version, ok, 'exactly the accepted ops were committed');
  c.disconnect();
  await healthy();
});

test('presence: relayed with the world point under the cursor, throttled to 20 Hz, cleaned up on disconnect', async () => {
  const a = new RoomClient(srv.url, { id: 'u-pa', name: 'Ann' }, 'demo', 'presence');
  const b = new RoomClient(srv.url, { id: 'u-pb', name: 'Ben' }, 'demo', 'presence');
  await a.connect();
  await b.connect();
  await sleep(50);
  assert.ok([...a.presence.values()].some((p) => p.name === 'Ben'), 'A sees B arrive');
  assert.ok([...b.presence.values()].some((p) => p.name === 'Ann'), 'B lists A from the join answer');

  // A looks at the demo from home; the server renders A's frame, so it knows the depth there.
  const camera: Camera = scaleCamera(info.home.camera, 200, 200);
  a.socket.emit('view:set', { seq: 1, camera, t: 0.3 });
  await nextFrame(a.socket);
  const seen: (PresenceEntry & { receivedAt: number })[] = [];
  b.socket.on('presence', (p: PresenceEntry) => seen.push({ ...p, receivedAt: Date.now() }));
  a.socket.emit('presence:set', { cursor: { x: 0.5, y: 0.45 }, camera, t: 0.3 });
  await sleep(150);
  const mine = seen.filter((p) => p.name === 'Ann');
  assert.ok(mine.length >= 1);
  const last = mine[mine.length - 1]!;
  assert.ok(last.cursor && last.cursor.world, 'the cursor carries a world point');
  assert.equal(last.colour, a.presence.size ? last.colour : '', 'colour is set');
  assert.match(last.colour, /^#[0-9a-f]{6}$/);
  assert.deepEqual(last.camera?.worldToCamera, camera.worldToCamera);
  // The world point projects back to the cursor pixel in A's camera.
  const [X, Y, Z] = last.cursor!.world!;
  const m = camera.worldToCamera;
  const xc = m[0]! * X + m[1]! * Y + m[2]! * Z + m[3]!;
  const yc = m[4]! * X + m[5]! * Y + m[6]! * Z + m[7]!;
  const zc = m[8]! * X + m[9]! * Y + m[10]! * Z + m[11]!;
  assert.ok(Math.abs((camera.fx * xc) / zc + camera.cx - 100.5) < 1e-2 && Math.abs((camera.fy * yc) / zc + camera.cy - 90.5) < 1e-2);

  // A burst of 100 updates in ~0.25 s is relayed at <= 20 Hz, and the last position arrives.
  seen.length = 0;
  for (let i = 0; i < 100; i++) {
    a.socket.emit('presence:set', { cursor: { x: i / 100, y: 0.2 } });
    if (i % 20 === 19) await sleep(50);
  }
  a.socket.emit('presence:set', { cursor: { x: 0.99, y: 0.99 } });
  await sleep(400);
  const relayed = seen.filter((p) => p.name === 'Ann');
  const spanS = (relayed[relayed.length - 1]!.receivedAt - relayed[0]!.receivedAt) / 1000;
  assert.ok(relayed.length <= Math.ceil(spanS * PRESENCE_HZ) + 2, `${relayed.length} relays in ${spanS.toFixed(2)} s: ${relayed.map((r) => `${r.receivedAt - relayed[0]!.receivedAt}ms x=${r.cursor?.x}`).join(", ")}`);
  assert.deepEqual([relayed[relayed.length - 1]!.cursor!.x, relayed[relayed.length - 1]!.cursor!.y], [0.99, 0.99], 'the latest cursor is not lost');

  // Shared clock.
  const t = nextEvent<{ t: number; playing: boolean; name: string }>(b.socket, 'time');
  a.socket.emit('time:sync', { t: 0.7, playing: true, rate: 0.1 });
  const got = await t;
  assert.deepEqual([got.t, got.playing, got.name], [0.7, true, 'Ann']);

  // Leaving removes A from B's list.
  const left = nextEvent<{ sid: string }>(b.socket, 'presence:leave');
  a.disconnect();
  assert.equal((await left).sid, a.sid);
  b.disconnect();
});

test('bad presence updates are refused with a message', async () => {
  const a = new RoomClient(srv.url, { id: 'u-pc', name: 'Cat' }, 'demo', 'presence2');
  await a.connect();
  for (const [payload, re] of [
    [{ cursor: { x: 2, y: 0 } }, /cursor\.x/],
    [{ camera: { width: 1 } }, /camera/],
    [{ nickname: 'x' }, /Unrecognized key/],
    ['hello', /payload/],
  ] as [unknown, RegExp][]) {
    const err = nextEvent<ErrorPayload>(a.socket, 'error');
    a.socket.emit('presence:set', payload);
    const e = await err;
    assert.equal(e.code, 'bad_request');
    assert.match(e.message, re);
  }
  a.disconnect();
});


test('conflicts: an edit of a label someone deleted is refused with why; undo of an op whose label is gone does nothing and says so; both see the same', async () => {
  const a = new RoomClient(srv.url, { id: 'u-ca', name: 'Cam' }, 'demo', 'conflicts');
  const b = new RoomClient(srv.url, { id: 'u-cb', name: 'Dot' }, 'demo', 'conflicts');
  await a.connect();
  await b.connect();
  assert.ok((await a.submit('c1', { type: 'label.create', labelId: 'cup', name: 'cup', colour: '#112233' })).ok);
  assert.ok((await b.submit('c2', { type: 'edit.set', labelId: 'cup', patch: { tint: '#ff0000' } })).ok);
  // A deletes while B renames: whichever the server orders second meets the other's result.
  const [del, ren] = await Promise.all([
    a.submit('c3', { type: 'label.delete', labelId: 'cup' }),
    b.submit('c4', { type: 'label.update', labelId: 'cup', patch: { name: 'mug' } }),
  ]);
  assert.ok(del.ok);
  if (!ren.ok) assert.match(ren.message, /label cup does not exist \(it may have been deleted by someone else\)/);
  // B undoes its latest op (the rename if it landed, else the tint): the label is gone, so the
  // undo is accepted, changes nothing, and says so.
  const undo = await b.submit('c5', { type: 'undo' });
  assert.ok(undo.ok);
  assert.match((undo.ok && undo.data.note) || '', /did nothing: its label no longer exists/);
  await a.waitFor(b.version);
  await b.waitFor(a.version);
  assert.equal(stateDigest(a.state), stateDigest(b.state));
  assert.equal(a.state.labels.size, 0);
  a.disconnect();
  b.disconnect();
});
