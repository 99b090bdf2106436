// The viewer's presence (app/viewer/presence.ts): frustum and cursor geometry, what goes out as
// `presence:set` (only changes, throttled under the server's limit), following, shared time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cursorViews, extrapolateTime, frustumSegments, PRESENCE_SEND_HZ, PresenceSession, project, type PresenceHost } from '../../app/viewer/presence';
import { PRESENCE_HZ, type Camera, type PresenceEntry, type RoomSnapshot, type TimeBroadcast } from '../../server/protocol';
import { makeCamera } from '../../server/scene/camera';

const cam: Camera = makeCamera(640, 480, Math.PI / 3, [0, 0, -5], [0, 0, 0], [0, -1, 0]);

function entry(sid: string, p: Partial<PresenceEntry> = {}): PresenceEntry {
  return { sid, userId: `u-${sid}`, name: `User ${sid}`, colour: '#ff0000', role: 'editor', cursor: null, camera: cam, t: 0, playing: false, at: 0, ...p };
}

const close = (a: number, b: number, eps = 1e-3) => Math.abs(a - b) < eps;

test('a frustum starts at the camera centre and its far corners project to the image corners', () => {
  const segs = frustumSegments(cam, 2);
  assert.equal(segs.length % 6, 0);
  const apex = [segs[0]!, segs[1]!, segs[2]!];
  assert.ok(close(apex[0]!, 0) && close(apex[1]!, 0) && close(apex[2]!, -5), `apex at the camera centre (${apex})`);
  const corners = [[segs[3]!, segs[4]!, segs[5]!], [segs[9]!, segs[10]!, segs[11]!], [segs[15]!, segs[16]!, segs[17]!], [segs[21]!, segs[22]!, segs[23]!]];
  const expected = [[0, 0], [640, 0], [640, 480], [0, 480]];
  corners.forEach((c, i) => {
    const p = project(cam, c);
    assert.ok(close(p.z, 2) && close(p.u, expected[i]![0]!) && close(p.v, expected[i]![1]!), `corner ${i} at (${p.u}, ${p.v}) depth ${p.z}`);
  });
  // the "up" triangle is above the image (smaller v)
  const tip = project(cam, [segs[51]!, segs[52]!, segs[53]!]);
  assert.ok(tip.v < 0, `the up marker points up (v ${tip.v})`);
});

test('cursors: a world point lands where my camera sees it; without one, only for whom I follow', () => {
  const entries = [
    entry('a', { cursor: { x: 0.2, y: 0.3, world: [0, 0, 0] } }),
    entry('b', { cursor: { x: 0.2, y: 0.3, world: [0, 0, -10] } }), // behind me
    entry('c', { cursor: { x: 0.25, y: 0.75, world: null } }),
    entry('d', { cursor: null }),
  ];
  const views = cursorViews(entries, cam, 1280, 960, null, null);
  assert.deepEqual(views.map((v) => v.sid), ['a']);
  assert.ok(close(views[0]!.x, 640) && close(views[0]!.y, 480), 'the target point is in the middle of my view');
  const following = cursorViews(entries, cam, 1280, 960, 'c', { left: 100, top: 0, width: 800, height: 600 });
  assert.deepEqual(following.map((v) => v.sid), ['a', 'c']);
  assert.deepEqual([following[1]!.x, following[1]!.y], [300, 450], 'at its place in their image as my view frames it');
});

test('extrapolated shared time wraps like playback', () => {
  assert.equal(extrapolateTime(0.5, false, 0.125, 3), 0.5);
  assert.equal(extrapolateTime(0.5, true, 0.125, 2), 0.75);
  assert.ok(close(extrapolateTime(0.9, true, 0.125, 2), 0.15));
});

interface Sent {
  event: string;
  payload: Record<string, unknown>;
}

function fakeHost(): { host: PresenceHost; sent: Sent[]; followed: PresenceEntry[]; adopted: [number, boolean, number][]; connected: { v: boolean } } {
  const sent: Sent[] = [];
  const followed: PresenceEntry[] = [];
  const adopted: [number, boolean, number][] = [];
  const connected = { v: true };
  const socket = {
    get connected() {
      return connected.v;
    },
    emit(event: string, payload: Record<string, unknown>) {
      sent.push({ event, payload });
    },
  };
  const host: PresenceHost = {
    socket: () => socket as never,
    changed: () => {},
    followTo: (e) => followed.push(e),
    adoptTime: (t, playing, rate) => adopted.push([t, playing, rate]),
    localTime: () => ({ t: 0.4, playing: true, rate: 0.125 }),
  };
  return { host, sent, followed, adopted, connected };
}

const joinAnswer = (presence: PresenceEntry[]): RoomSnapshot => ({ roomId: 'main', version: 0, reset: true, ops: [], userId: 'me', sid: 'me1', colour: '#00ff00', presence, role: 'owner' });

test('presence:set carries only what changed, at most PRESENCE_SEND_HZ a second', (t) => {
  assert.ok(PRESENCE_SEND_HZ <= PRESENCE_HZ);
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { host, sent } = fakeHost();
  const p = new PresenceSession(host);
  p.update({ camera: cam, t: 0.1 });
  assert.equal(sent.length, 0, 'nothing before the room is joined');
  p.onJoined(joinAnswer([entry('x')]));
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0], { event: 'presence:set', payload: { cursor: null, camera: cam, t: 0.1, playing: false } }, 'the whole state after a join');
  // a burst of pointer moves within one interval: one trailing update with the last cursor
  for (let i = 0; i < 10; i++) p.update({ cursor: { x: i / 10, y: 0.5 } });
  assert.equal(sent.length, 1);
  t.mock.timers.tick(1000 / PRESENCE_SEND_HZ);
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1]!.payload, { cursor: { x: 0.9, y: 0.5 } }, 'only the cursor changed');
  t.mock.timers.tick(1000);
  p.update({ camera: cam, t: 0.1 }); // unchanged: nothing to send
  assert.equal(sent.length, 2);
  p.update({ cursor: { x: 2, y: -1 } });
  assert.deepEqual(sent[2]!.payload, { cursor: { x: 1, y: 0 } }, 'clamped to the frame');
  // over a second of continuous moves, no more than PRESENCE_SEND_HZ messages
  const before = sent.length;
  for (let ms = 0; ms < 1000; ms += 5) {
    p.update({ cursor: { x: (ms % 100) / 100, y: 0.5 } });
    t.mock.timers.tick(5);
  }
  assert.ok(sent.length - before <= PRESENCE_SEND_HZ + 1, `${sent.length - before} messages in a second`);
  p.dispose();
});

test('entries come and go; following tracks an entry and stops when it leaves', () => {
  const { host, followed } = fakeHost();
  const p = new PresenceSession(host);
  p.onJoined(joinAnswer([entry('b', { name: 'Bea' }), entry('a', { name: 'Al' }), entry('n', { name: 'No camera', camera: null })]));
  assert.deepEqual(p.entries.map((e) => e.name), ['Al', 'Bea', 'No camera'], 'sorted by name');
  p.onPresence(entry('me1')); // my own echo, if any, is not someone else
  assert.equal(p.entries.length, 3);
  p.cycleFollow();
  assert.equal(p.getSnapshot().followed, 'a');
  assert.equal(followed.length, 1, 'the camera goes there at once');
  p.onPresence(entry('a', { name: 'Al', t: 0.5 }));
  assert.equal(followed.length, 2, "each update of the followed user's entry moves us");
  p.onPresence(entry('b', { name: 'Bea', t: 0.7 }));
  assert.equal(followed.length, 2, 'updates of others do not');
  p.cycleFollow();
  assert.equal(p.getSnapshot().followed, 'b');
  p.cycleFollow();
  assert.equal(p.getSnapshot().followed, null, 'after the last one with a camera: stop');
  p.follow('b');
  p.onLeave({ sid: 'b' });
  assert.equal(p.getSnapshot().followed, null, 'the followed user left');
  assert.deepEqual(p.entries.map((e) => e.sid), ['a', 'n']);
  p.onDisconnect();
  assert.equal(p.entries.length, 0, 'nothing kept while disconnected');
  p.dispose();
});

test('sync time: my changes go out only when it is on; the room clock is adopted and extrapolated', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { host, sent, adopted } = fakeHost();
  const p = new PresenceSession(host);
  p.onJoined(joinAnswer([]));
  sent.length = 0;
  p.sendTime({ t: 0.3, playing: false, rate: 0.125 });
  assert.equal(sent.length, 0, 'sync off: nothing shared');
  const b: TimeBroadcast = { sid: 'x', userId: 'ux', name: 'X', at: 0, t: 0.2, playing: false, rate: 0.125 };
  p.onTime(b);
  assert.equal(adopted.length, 0, 'sync off: not adopted');
  p.setSyncTime(true);
  assert.deepEqual(adopted, [[0.2, false, 0.125]], 'turning it on adopts the latest room clock');
  p.onTime({ ...b, t: 0.5, playing: true });
  assert.ok(close(adopted[1]![0], 0.5) && adopted[1]![1] && adopted[1]![2] === 0.125, `adopted ${adopted[1]}`);
  p.sendTime({ t: 0.6, playing: true, rate: 0.25 });
  assert.deepEqual(sent.at(-1), { event: 'time:sync', payload: { t: 0.6, playing: true, rate: 0.25 } });
  p.dispose();
});

test('sync time turned on with no room clock shares mine', () => {
  const { host, sent } = fakeHost();
  const p = new PresenceSession(host);
  p.onJoined(joinAnswer([]));
  p.setSyncTime(true);
  assert.deepEqual(sent.at(-1), { event: 'time:sync', payload: { t: 0.4, playing: true, rate: 0.125 } });
  p.dispose();
});

