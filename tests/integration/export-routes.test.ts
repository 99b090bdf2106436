// Exports and evaluation from the browser's side (issue 8) over real socket.io and HTTP: an
// annotator's export job reports progress and ends with a download that only the room's
// exporters may fetch; a viewer's export is refused; a label exports as a .ply our reader opens;
// reference masks uploaded as a zip are evaluated (the export itself as reference gives 1.0);
// bad uploads are refused with a message.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import type { Socket } from 'socket.io-client';
import type { Ack, JobDone, JobProgress, JobStarted, LinkInfo, RoomSnapshot, SceneInfo } from '../../server/protocol/index';
import { parsePly } from '../../server/scene/ply';
import { demoDataDir } from '../helpers/data';
import { connect, join, nextEvent, startInProcess, type InProcessServer } from '../helpers/server';

let srv: InProcessServer;
let owner: Socket;
let info: SceneInfo;
let viewerToken: string;
let annotatorToken: string;
const sockets: Socket[] = [];
const ROOM = 'exports';

async function inRoom(token: string, name: string): Promise<Socket> {
  const s = await connect(srv.url, { protocol: 1, user: { id: `u-${name}`, name }, token });
  sockets.push(s);
  const j = await join(s, 'demo');
  assert.ok(j.ok);
  info = j.data;
  const r: Ack<RoomSnapshot> = await s.emitWithAck('room:join', { room: ROOM });
  assert.ok(r.ok, !r.ok ? r.message : '');
  return s;
}

const tokenOf = (path: string) => new URL(path, 'http://x').searchParams.get('token')!;
const get = (path: string, token?: string) => fetch(`${srv.url}${path}`, { headers: token ? { 'x-splatsync-token': token } : {} });

before(async () => {
  srv = await startInProcess(await demoDataDir());
  owner = await inRoom(srv.token, 'Owen');
  for (const role of ['viewer', 'annotator'] as const) {
    const r: Ack<LinkInfo> = await owner.emitWithAck('link:create', { role, expiresInMs: null });
    assert.ok(r.ok);
    if (role === 'viewer') viewerToken = tokenOf(r.data.path!);
    else annotatorToken = tokenOf(r.data.path!);
  }
  // One label: a click on the middle of the home view.
  const cam = info.home.camera;
  assert.ok((await owner.emitWithAck('op:submit', { opId: 'l1', body: { type: 'label.create', labelId: 'thing', name: 'thing', colour: '#ff8800' } })).ok);
  const click = await owner.emitWithAck('op:submit', {
    opId: 's1', body: { type: 'sel.add', labelId: 'thing', sel: { id: 'c1', kind: 'click', mode: 'add', theta: 0.6, query: { camera: cam, t: 0.3, x: Math.round(cam.width / 2), y: Math.round(cam.height * 0.45) } } },
  });
  assert.ok(click.ok, JSON.stringify(click));
});
after(async () => {
  for (const s of sockets) s.close();
  await srv?.close();
});

async function runJob(s: Socket, req: unknown): Promise<{ done: JobDone; progress: JobProgress[] }> {
  const progress: JobProgress[] = [];
  const onP = (p: JobProgress) => progress.push(p);
  s.on('job:progress', onP);
  const done = nextEvent<JobDone>(s, 'job:done', 300_000);
  const started: Ack<JobStarted> = await s.emitWithAck('export:start', req);
  assert.ok(started.ok, !started.ok ? started.message : '');
  const d = await done;
  s.off('job:progress', onP);
  assert.equal(d.jobId, started.data.jobId);
  return { done: d, progress };
}

test('an annotator exports masks with progress; the download is for the room\'s exporters only', async () => {
  const a = await inRoom(annotatorToken, 'Ada');
  const { done, progress } = await runJob(a, { kind: 'masks', split: 'test', formats: ['png', 'davis', 'coco'] });
  assert.ok(done.ok, done.message);
  assert.ok(progress.length > 1 && progress.every((p) => p.kind === 'export'), `progress events (${progress.length})`);
  assert.match(done.download!, /^\/api\/downloads\/[0-9a-f-]{36}$/);

  const anon = await get(done.download!);
  assert.equal(anon.status, 401);
  const viewer = await get(done.download!, viewerToken);
  assert.equal(viewer.status, 403, 'a viewer cannot fetch it');
  const res = await get(done.download!, annotatorToken);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-disposition')!, /attachment; filename="demo-exports-masks-v\d+-1labels\.zip"/);
  const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
  const manifest = JSON.parse(Buffer.from(files['manifest.json']!).toString()) as { room: { id: string }; labels: { name: string }[]; views: unknown[] };
  assert.equal(manifest.room.id, ROOM);
  assert.deepEqual(manifest.labels.map((l) => l.name), ['thing']);
  const testViews = info.views.filter((v) => v.split === 'test').length;
  assert.equal(manifest.views.length, testViews);
  assert.ok(Object.keys(files).some((f) => f.endsWith('/thing.png')), 'per-label PNGs');
  assert.ok(Object.keys(files).some((f) => /coco/i.test(f) && f.endsWith('.json')), 'COCO JSON');

  // The same zip as reference masks: evaluation agrees with itself.
  const up = await fetch(`${srv.url}/api/scenes/demo/rooms/${ROOM}/eval`, {
    method: 'POST', headers: { 'x-splatsync-token': annotatorToken, 'content-type': 'application/zip' }, body: zipSync(files),
  });
  const report = (await up.json()) as { mIoU: number; labels: string[]; frames: string[]; problems: unknown[] };
  assert.equal(up.status, 200, JSON.stringify(report).slice(0, 300));
  assert.deepEqual(report.labels, ['thing']);
  assert.equal(report.frames.length, testViews);
  assert.ok(Math.abs(report.mIoU - 1) < 1e-9, `mIoU ${report.mIoU}`);
});

test('a viewer cannot export, nor upload reference masks', async () => {
  const v = await inRoom(viewerToken, 'Vera');
  const r: Ack<JobStarted> = await v.emitWithAck('export:start', { kind: 'masks' });
  assert.ok(!r.ok && r.code === 'forbidden' && /viewers cannot export masks/.test(r.message), JSON.stringify(r));
  const up = await fetch(`${srv.url}/api/scenes/demo/rooms/${ROOM}/eval`, { method: 'POST', headers: { 'x-splatsync-token': viewerToken }, body: new Uint8Array(10) });
  assert.equal(up.status, 403);
});

test('bad uploads and requests are refused with a message', async () => {
  const notZip = await fetch(`${srv.url}/api/scenes/demo/rooms/${ROOM}/eval`, { method: 'POST', headers: { 'x-splatsync-token': annotatorToken }, body: new TextEncoder().encode('hello') });
  assert.equal(notZip.status, 400);
  assert.match(((await notZip.json()) as { error: string }).error, /cannot unpack|zip/i);
  const huge = await fetch(`${srv.url}/api/scenes/demo/rooms/${ROOM}/eval`, {
    method: 'POST', headers: { 'x-splatsync-token': annotatorToken, 'content-length': String(300 * 1024 * 1024) }, body: new Uint8Array(16),
  }).catch((e: Error) => e);
  if (!(huge instanceof Error)) assert.equal(huge.status, 413);
  const noView = await get('/api/scenes/demo/views/9999/image', annotatorToken);
  assert.equal(noView.status, 404);
  assert.match(((await noView.json()) as { error: string }).error, /there is no view 9999/);
  const noPhoto = await get('/api/scenes/demo/views/0/image', viewerToken);
  assert.equal(noPhoto.status, 404);
  assert.match(((await noPhoto.json()) as { error: string }).error, /no source photo/);
  const a = await inRoom(annotatorToken, 'Abe');
  const bad: Ack<JobStarted> = await a.emitWithAck('export:start', { kind: 'masks', formats: ['gif'] });
  assert.ok(!bad.ok && bad.code === 'bad_request');
  const ghost: Ack<JobStarted> = await a.emitWithAck('export:start', { kind: 'ply', labelId: 'ghost' });
  assert.ok(!ghost.ok && ghost.code === 'not_found');
  const gone = await get('/api/downloads/00000000-0000-0000-0000-000000000000', annotatorToken);
  assert.equal(gone.status, 404);
});

test('a label exports as a .ply (with features) that our reader opens', async () => {
  const { done } = await runJob(owner, { kind: 'ply', labelId: 'thing', features: true });
  assert.ok(done.ok, done.message);
  const res = await get(done.download!, srv.token);
  assert.equal(res.status, 200);
  const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
  const plyName = Object.keys(files).find((f) => f.endsWith('.ply'))!;
  assert.ok(plyName, Object.keys(files).join(', '));
  const ply = parsePly(files[plyName]!, plyName);
  assert.ok(ply.cloud.count > 100 && ply.cloud.count < info.count, `${ply.cloud.count} Gaussians of ${info.count}`);
  assert.equal(ply.features?.dim, info.featureDim, 'sem_* kept');
  assert.ok(Object.keys(files).some((f) => /keyframes|deform/.test(f)), 'the motion comes with it');
});
