// Share links and roles over real socket.io and HTTP (issue 7): forged, expired and revoked
// links (revocation reaches a connected socket at once), a viewer trying every mutating event,
// a room-A link in room B, path traversal in ids. Every refusal says why and changes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import type { Ack, ErrorPayload, LinkInfo, RoomSnapshot } from '../../server/protocol/index';
import { createAuth, SigningSecret } from '../../server/auth/index';
import { openDb } from '../../server/db';
import { demoDataDir } from '../helpers/data';
import { connect, join, nextEvent, startInProcess, type InProcessServer } from '../helpers/server';

let srv: InProcessServer;
const sockets: Socket[] = [];

before(async () => {
  srv = await startInProcess(await demoDataDir());
});
after(async () => {
  for (const s of sockets) s.close();
  await srv?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tokenOf = (path: string) => new URL(path, 'http://x').searchParams.get('token')!;

async function as(token: string | undefined, name: string): Promise<Socket> {
  const s = await connect(srv.url, { protocol: 1, user: { id: `u-${name}`, name }, token });
  sockets.push(s);
  return s;
}

async function inRoom(token: string | undefined, name: string, room = 'main'): Promise<{ s: Socket; snap: RoomSnapshot }> {
  const s = await as(token, name);
  const j = await join(s, 'demo');
  assert.ok(j.ok, !j.ok ? j.message : '');
  const r: Ack<RoomSnapshot> = await s.timeout(10_000).emitWithAck('room:join', { room });
  assert.ok(r.ok, !r.ok ? r.message : '');
  return { s, snap: r.data };
}

async function makeLink(owner: Socket, role: 'viewer' | 'annotator' | 'owner', expiresInMs: number | null = null): Promise<LinkInfo> {
  const r: Ack<LinkInfo> = await owner.timeout(10_000).emitWithAck('link:create', { role, expiresInMs, label: `${role} link` });
  assert.ok(r.ok, !r.ok ? r.message : '');
  return r.data;
}

async function refusedHandshake(token: string | undefined, re: RegExp): Promise<void> {
  await assert.rejects(connect(srv.url, { protocol: 1, token }), (e: Error) => {
    assert.match(e.message, re);
    return true;
  });
}

test('no token, a forged signature or a malformed token: the handshake is refused with a reason', async () => {
  await refusedHandshake(undefined, /link/i);
  const { s: owner } = await inRoom(srv.token, 'Fay');
  const viewer = tokenOf((await makeLink(owner, 'viewer')).path!);
  const [head, payload, sig] = viewer.split('.');
  const flipped = sig!.slice(0, -2) + (sig!.endsWith('AA') ? 'BB' : 'AA');
  await refusedHandshake(`${head}.${payload}.${flipped}`, /signature|not issued by this server/i);
  // A payload edited to claim more (the signature no longer matches).
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  assert.equal(claims.role, 'viewer');
  const forged = Buffer.from(JSON.stringify({ ...claims, role: 'owner' })).toString('base64url');
  await refusedHandshake(`${head}.${forged}.${sig}`, /signature|not issued by this server/i);
  await refusedHandshake('not-a-token', /damaged or incomplete/i);
  const health = await fetch(`${srv.url}/api/health`);
  assert.equal(health.status, 200, 'the server keeps serving');
});

test('the owner creates links of each role; each grants exactly its role', async () => {
  const { s: owner, snap } = await inRoom(srv.token, 'Olga');
  assert.equal(snap.role, 'owner');
  const viewer = await makeLink(owner, 'viewer');
  const annot = await makeLink(owner, 'annotator', 3_600_000);
  assert.match(viewer.path!, /^\/s\/demo\?room=main&token=/);
  assert.ok(annot.expiresAt! > Date.now() + 3_500_000);
  const list: Ack<LinkInfo[]> = await owner.emitWithAck('link:list', {});
  assert.ok(list.ok && list.data.some((l) => l.linkId === viewer.linkId) && list.data.some((l) => l.linkId === annot.linkId));

  const { snap: vs } = await inRoom(tokenOf(viewer.path!), 'Vic');
  assert.equal(vs.role, 'viewer');
  const { s: a, snap: as_ } = await inRoom(tokenOf(annot.path!), 'Ada');
  assert.equal(as_.role, 'annotator');
  const ok = await a.emitWithAck('op:submit', { opId: 'ada-1', body: { type: 'label.create', labelId: 'ada', name: 'by ada', colour: '#112233' } });
  assert.ok(ok.ok, 'an annotator may edit');
  const no = await a.emitWithAck('link:create', { role: 'owner', expiresInMs: null });
  assert.ok(!no.ok && no.code === 'forbidden' && /annotators cannot create share links/.test(no.message));
});

test('a viewer is refused every mutating event, and nothing changes', async () => {
  const { s: owner } = await inRoom(srv.token, 'Olga2', 'viewer-room');
  const link = await makeLink(owner, 'viewer');
  const v = await inRoom(tokenOf(link.path!), 'Val', 'viewer-room').catch(async () => {
    // The link is for room main: create one for this room instead (links are per room).
    throw new Error('unexpected');
  });
  const before = v.snap.version;
  const acks: [string, unknown][] = [
    ['op:submit', { opId: 'v1', body: { type: 'label.create', labelId: 'v', name: 'v', colour: '#112233' } }],
    ['op:submit', { opId: 'v2', body: { type: 'undo' } }],
    ['sel:histogram', { labelId: 'x', selId: 'y' }],
    ['sel:preview', { query: null, theta: 0.5 }],
    ['import:start', { modelDir: '/tmp' }],
    ['scene:bake', { sceneId: 'demo' }],
    ['link:create', { role: 'viewer', expiresInMs: null }],
    ['link:list', {}],
    ['link:revoke', { linkId: link.linkId }],
    ['access:list', {}],
    ['access:revoke', { userId: 'someone' }],
  ];
  for (const [event, payload] of acks) {
    const r: Ack<unknown> = await v.s.timeout(10_000).emitWithAck(event, payload);
    assert.ok(!r.ok, `${event} refused`);
    assert.equal(r.code, 'forbidden', `${event}: ${r.message}`);
    assert.match(r.message, /viewers cannot|not for every/);
  }
  for (const event of ['time:sync']) {
    const err = nextEvent<ErrorPayload>(v.s, 'error');
    v.s.emit(event, { t: 0.5, playing: true, rate: 1 });
    const e = await err;
    assert.equal(e.code, 'forbidden');
  }
  // What a viewer may do: move their own camera, show presence.
  v.s.emit('presence:set', { cursor: { x: 0.5, y: 0.5 } });
  const frame = nextEvent(v.s, 'frame');
  v.s.emit('view:set', { seq: 1, camera: { width: 64, height: 64, fx: 60, fy: 60, cx: 32, cy: 32, worldToCamera: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4, 0, 0, 0, 1] }, t: 0 });
  await frame;
  const check = await inRoom(srv.token, 'Olga3', 'viewer-room');
  assert.equal(check.snap.version, before, 'no op was applied');
  const links: Ack<LinkInfo[]> = await owner.emitWithAck('link:list', {});
  assert.ok(links.ok && links.data.find((l) => l.linkId === link.linkId)?.status === 'active', 'the link was not revoked by its viewer');
});

test('/api/me says who the credentials are and whether they may import', async () => {
  const { s: owner } = await inRoom(srv.token, 'Olga6');
  const link = await makeLink(owner, 'annotator');
  const me = async (token: string) => (await fetch(`${srv.url}/api/me`, { headers: { 'x-splatsync-token': token } })).json() as Promise<{ canImport: boolean; via: string }>;
  assert.deepEqual([(await me(srv.token)).canImport, (await me(srv.token)).via], [true, 'link']);
  assert.equal((await me(tokenOf(link.path!))).canImport, false);
  assert.equal((await fetch(`${srv.url}/api/me`)).status, 401);
});

test('a link for room A is refused in room B; the other rooms of the scene stay closed', async () => {
  const { s: owner } = await inRoom(srv.token, 'Olga4', 'room-a');
  const link = await makeLink(owner, 'annotator');
  assert.match(link.path!, /room=room-a/);
  const s = await as(tokenOf(link.path!), 'Bob');
  assert.ok((await join(s, 'demo')).ok);
  const r: Ack<RoomSnapshot> = await s.emitWithAck('room:join', { room: 'room-b' });
  assert.ok(!r.ok && r.code === 'forbidden', JSON.stringify(r));
  assert.match(r.message, /room-a|room/);
  const good: Ack<RoomSnapshot> = await s.emitWithAck('room:join', { room: 'room-a' });
  assert.ok(good.ok);
});

test('ids with path traversal are refused before anything is touched', async () => {
  const s = await as(srv.token, 'Eve');
  for (const sceneId of ['../../etc/passwd', '..', 'demo/../../x', '%2e%2e', 'a'.repeat(200)]) {
    const r = await join(s, sceneId);
    assert.ok(!r.ok, `scene ${sceneId} refused`);
    assert.ok(r.code === 'bad_request' || r.code === 'forbidden', `${sceneId}: ${r.code} ${r.message}`);
  }
  assert.ok((await join(s, 'demo')).ok);
  for (const room of ['../x', 'a/b', '', 'x'.repeat(41)]) {
    const r: Ack<unknown> = await s.emitWithAck('room:join', { room });
    assert.ok(!r.ok && r.code === 'bad_request', `room ${JSON.stringify(room)}: ${JSON.stringify(r)}`);
  }
});

test('revoking a link drops the sockets connected with it at once; an expired link stops working', async () => {
  const { s: owner } = await inRoom(srv.token, 'Olga5');
  const link = await makeLink(owner, 'annotator');
  const { s: a } = await inRoom(tokenOf(link.path!), 'Ann');
  const gone = nextEvent<string>(a, 'disconnect', 10_000);
  const told = nextEvent<ErrorPayload>(a, 'error', 10_000);
  const rv: Ack<LinkInfo> = await owner.emitWithAck('link:revoke', { linkId: link.linkId });
  assert.ok(rv.ok && rv.data.status === 'revoked');
  const e = await told;
  assert.match(e.message, /revoked/);
  await gone;
  await refusedHandshake(tokenOf(link.path!), /revoked/);

});

test('an expired link stops working, also for a socket connected with it', async () => {
  // The shortest expiry is a minute: run a server whose clock the test moves.
  let skew = 0;
  const auth = createAuth({ db: openDb(':memory:'), secret: SigningSecret.random(), now: () => Date.now() + skew });
  const other = await startInProcess(await demoDataDir(), { auth });
  try {
    const owner = await connect(other.url, { protocol: 1, user: { id: 'u-o', name: 'O' } });
    sockets.push(owner);
    assert.ok((await join(owner, 'demo')).ok);
    assert.ok((await owner.emitWithAck('room:join', {})).ok);
    const made: Ack<LinkInfo> = await owner.emitWithAck('link:create', { role: 'annotator', expiresInMs: 60_000 });
    assert.ok(made.ok);
    const a = await connect(other.url, { protocol: 1, user: { id: 'u-x', name: 'X' }, token: tokenOf(made.data.path!) });
    sockets.push(a);
    assert.ok((await join(a, 'demo')).ok);
    assert.ok((await a.emitWithAck('room:join', {})).ok);
    skew = 61_000;
    const gone = nextEvent<string>(a, 'disconnect', 10_000);
    const r: Ack<unknown> = await a.timeout(10_000).emitWithAck('op:submit', { opId: 'late', body: { type: 'label.create', labelId: 'late', name: 'late', colour: '#112233' } });
    assert.ok(!r.ok && /expired/.test(r.message), JSON.stringify(r));
    await gone;
    await assert.rejects(connect(other.url, { protocol: 1, token: tokenOf(made.data.path!) }), /expired/);
    const snap: Ack<RoomSnapshot> = await owner.emitWithAck('room:join', {});
    assert.ok(snap.ok && snap.data.ops.length === 0, 'nothing was applied');
  } finally {
    await other.close();
  }
});

test('floods of API requests and of connections from one address are rate limited with a message (run last: it spends the budget)', async () => {
  const replies = await Promise.all(Array.from({ length: 160 }, () => fetch(`${srv.url}/api/scenes`, { headers: { 'x-splatsync-token': srv.token } })));
  const limited = replies.filter((r) => r.status === 429);
  assert.ok(limited.length > 0, 'some were refused');
  assert.ok(replies.filter((r) => r.status === 200).length >= 50, 'a burst went through');
  assert.match(((await limited[0]!.json()) as { error: string }).error, /too many requests.*try again/);
  assert.ok(Number(limited[0]!.headers.get('retry-after')) >= 1);
  const attempts = await Promise.allSettled(Array.from({ length: 120 }, () => connect(srv.url, { protocol: 1 })));
  const refused = attempts.filter((a) => a.status === 'rejected') as PromiseRejectedResult[];
  assert.ok(refused.length > 0, 'some connections were refused');
  assert.match(String((refused[0]!.reason as Error).message), /too many connections/);
  for (const a of attempts) if (a.status === 'fulfilled') a.value.close();
});
