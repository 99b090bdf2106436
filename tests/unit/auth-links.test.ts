// Share links, grants and local-mode authentication/authorization (server/auth) over a real
// SQLite database (':memory:' or a temp data dir).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { openDb, type Db } from '../../server/db';
import {
  ALL_ACTIONS, createAuth, credentialsFromHandshake, credentialsFromHttp, SigningSecret, sharePath,
  type Action, type Auth, type LinkEvent, type Principal,
} from '../../server/auth/index';

const MUTATING: Action[] = ['op:submit', 'time:sync', 'sel:histogram', 'sel:preview', 'export:start', 'link:create', 'link:revoke', 'link:list', 'access:list', 'access:revoke', 'scene:bake', 'import:start', 'eval', 'http:export', 'http:import', 'http:delete'];

function setup(now = { t: 1_700_000_000_000 }) {
  const db = openDb(':memory:');
  const auth = createAuth({ db, secret: new SigningSecret(Buffer.alloc(32, 3)), clerk: null, now: () => now.t });
  return { db, auth, now };
}

async function principalFor(auth: Auth, token: string, user = { id: 'u-1', name: 'Ada' }): Promise<Principal> {
  const r = await auth.authenticate({ linkToken: token, user });
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.principal;
}

const countLinks = (db: Db) => (db.prepare('SELECT COUNT(*) AS n FROM links').get() as { n: number }).n;

describe('LinkStore', () => {
  test('create, get, list, token re-issued identically', () => {
    const { auth } = setup();
    const a = auth.links.create({ scene: 'lego', room: 'main', role: 'viewer', expiresAt: null, label: ' for\nreviewers ', createdBy: 'u-1' });
    assert.equal(a.link.status, 'active');
    assert.equal(a.link.label, 'for reviewers');
    assert.match(a.link.linkId, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(auth.links.tokenFor(a.link.linkId), a.token);
    const b = auth.links.create({ scene: 'lego', room: '*', role: 'annotator', expiresAt: null, createdBy: 'u-1' });
    const c = auth.links.create({ scene: 'lego', room: 'other', role: 'viewer', expiresAt: null, createdBy: 'u-1' });
    auth.links.create({ scene: 'ship', room: 'main', role: 'viewer', expiresAt: null, createdBy: 'u-1' });
    assert.deepEqual(auth.links.list({ scene: 'lego', room: 'main' }).map((l) => l.linkId), [a.link.linkId, b.link.linkId]);
    assert.deepEqual(auth.links.list({ scene: 'lego', room: '*' }).map((l) => l.linkId), [a.link.linkId, b.link.linkId, c.link.linkId]);
    assert.equal(auth.links.list({ scene: '*', room: '*' }).length, 4);
  });

  test('invalid links are refused and nothing is stored', () => {
    const { db, auth, now } = setup();
    const bad = [
      { scene: '../x', room: 'main' },
      { scene: 'lego', room: '../../main' },
      { scene: '*', room: 'main' },
      { scene: 'lego', room: 'main', role: 'admin' },
      { scene: 'lego', room: 'main', expiresAt: now.t - 1 },
      { scene: 'lego', room: 'main', expiresAt: now.t + 20 * 365 * 86_400_000 },
      { scene: 'lego', room: 'main', expiresAt: 1.5 },
    ];
    for (const b of bad) {
      assert.throws(() => auth.links.create({ role: 'viewer', expiresAt: null, createdBy: 'u', ...b } as never), /./, JSON.stringify(b));
    }
    assert.equal(countLinks(db), 0);
  });

  test('revoke: immediate, idempotent, heard once, removes the grants it made', () => {
    const { auth } = setup();
    const events: LinkEvent[] = [];
    auth.onRevoke((e) => events.push(e));
    const { link } = auth.links.create({ scene: 'lego', room: 'main', role: 'annotator', expiresAt: null, createdBy: 'u' });
    auth.links.grant('user_a', 'A', link.linkId);
    auth.links.grant('user_b', 'B', link.linkId);
    assert.equal(auth.links.grants({ scene: 'lego', room: 'main' }).length, 2);
    const r = auth.links.revoke(link.linkId);
    assert.equal(r.found, true);
    assert.equal(r.removedGrants.length, 2);
    assert.equal(auth.links.status(link.linkId), 'revoked');
    assert.equal(auth.links.isActive(link.linkId), false);
    assert.equal(auth.links.tokenFor(link.linkId), null);
    assert.equal(auth.links.grants({ scene: 'lego', room: 'main' }).length, 0);
    auth.links.revoke(link.linkId);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]!.type === 'link-revoked' && events[0]!.userIds.sort(), ['user_a', 'user_b']);
    assert.equal(auth.links.revoke('nope').found, false);
    assert.equal(auth.links.status('nope'), 'unknown');
    assert.throws(() => auth.links.grant('user_c', 'C', link.linkId), /not active/);
  });

  test('grants only raise a role, and lapse while their link is expired', () => {
    const { auth, now } = setup();
    const viewer = auth.links.create({ scene: 'lego', room: 'main', role: 'viewer', expiresAt: now.t + 1000, createdBy: 'u' });
    const annot = auth.links.create({ scene: 'lego', room: 'main', role: 'annotator', expiresAt: null, createdBy: 'u' });
    assert.equal(auth.links.grant('user_a', 'A', annot.link.linkId).role, 'annotator');
    const g = auth.links.grant('user_a', 'Ada', viewer.link.linkId);
    assert.equal(g.role, 'annotator');
    assert.equal(g.userName, 'Ada');
    assert.equal(g.linkId, annot.link.linkId);
    auth.links.grant('user_b', 'B', viewer.link.linkId);
    assert.equal(auth.links.activeGrantsOf('user_b').length, 1);
    now.t += 1000;
    assert.equal(auth.links.activeGrantsOf('user_b').length, 0);
    assert.deepEqual(auth.links.grants({ scene: 'lego', room: 'main' }).map((x) => x.userId), ['user_a']);
    assert.throws(() => auth.links.grant('../evil', 'E', annot.link.linkId));
  });

  test('serve owner link: created once, reused after a restart, replaced once revoked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splatsync-links-'));
    const start = () => createAuth({ db: openDb(dir), dataDir: dir, clerk: null });
    const a = start();
    const first = a.serveOwnerLink();
    assert.equal(first.created, true);
    assert.equal(first.link.role, 'owner');
    assert.equal(first.link.scene, '*');
    assert.equal(first.link.expiresAt, null);
    assert.equal(first.path, `/?token=${encodeURIComponent(first.token)}`);
    const b = start(); // a restart: same data dir, same secret
    const again = b.serveOwnerLink();
    assert.equal(again.created, false);
    assert.equal(again.token, first.token);
    b.links.revoke(first.link.linkId);
    const c = start();
    const third = c.serveOwnerLink();
    assert.equal(third.created, true);
    assert.notEqual(third.link.linkId, first.link.linkId);
    const scoped = c.serveOwnerLink({ scene: 'lego', room: '*' });
    assert.equal(scoped.path, `/s/lego?token=${encodeURIComponent(scoped.token)}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('local mode: authenticate', () => {
  test('a valid link gives a principal with the browser identity (cleaned)', async () => {
    const { auth } = setup();
    const { token, link } = auth.links.create({ scene: 'lego', room: 'main', role: 'annotator', expiresAt: null, createdBy: 'u' });
    const r = await auth.authenticate({ linkToken: token, user: { id: 'u-42', name: ' Grace\u0007 ' } });
    assert.ok(r.ok);
    assert.deepEqual(r.principal, {
      userId: 'u-42', name: 'Grace', via: 'link', sessionId: null, expiresAt: null,
      link: { linkId: link.linkId, scene: 'lego', room: 'main', role: 'annotator', expiresAt: null },
    });
    const anon = await auth.authenticate({ linkToken: token, user: { id: '../x', name: '' } });
    assert.ok(anon.ok && /^guest-/.test(anon.principal.userId) && anon.principal.name === 'Guest');
    assert.equal(auth.mode, 'local');
  });

  test('missing, forged, expired, revoked and unknown links are refused with clear errors', async () => {
    const { db, auth, now } = setup();
    const { token } = auth.links.create({ scene: 'lego', room: 'main', role: 'owner', expiresAt: now.t + 60_000, createdBy: 'u' });
    const other = createAuth({ db: openDb(':memory:'), secret: SigningSecret.random(), clerk: null });
    const foreign = other.links.create({ scene: 'lego', room: 'main', role: 'owner', expiresAt: null, createdBy: 'u' }).token;
    const parts = token.split('.');
    const tampered = `${parts[0]}.${Buffer.from(JSON.stringify({ v: 1, scene: '*', room: '*', role: 'owner', exp: null, linkId: 'x' })).toString('base64url')}.${parts[2]}`;

    const expect = async (creds: Parameters<Auth['authenticate']>[0], reason: string, status: number, msg: RegExp) => {
      const r = await auth.authenticate(creds);
      assert.ok(!r.ok, reason);
      assert.equal(r.reason, reason);
      assert.equal(r.status, status);
      assert.equal(r.code, 'forbidden');
      assert.match(r.message, msg);
    };
    await expect({}, 'missing', 401, /share link/);
    await expect({ clerkToken: 'eyJ.x.y' }, 'missing', 401, /share link/);
    await expect({ linkToken: foreign }, 'bad_signature', 401, /not issued by this server/);
    await expect({ linkToken: tampered }, 'bad_signature', 401, /not issued/);
    await expect({ linkToken: 'garbage' }, 'malformed', 401, /damaged/);
    now.t += 60_000;
    await expect({ linkToken: token }, 'expired', 401, /expired/);
    now.t -= 60_000;
    const live = auth.links.create({ scene: 'lego', room: 'main', role: 'viewer', expiresAt: null, createdBy: 'u' });
    auth.links.revoke(live.link.linkId);
    await expect({ linkToken: live.token }, 'revoked', 401, /revoked/);
    const gone = auth.links.create({ scene: 'lego', room: 'main', role: 'viewer', expiresAt: null, createdBy: 'u' });
    db.prepare('DELETE FROM links WHERE link_id = ?').run(gone.link.linkId);
    await expect({ linkToken: gone.token }, 'unknown_link', 401, /not known/);
  });
});

describe('local mode: authorize', () => {
  test('a viewer may look but every mutating action is refused, and nothing changes', async () => {
    const { db, auth } = setup();
    const { token } = auth.links.create({ scene: 'lego', room: 'main', role: 'viewer', expiresAt: null, createdBy: 'u' });
    const p = await principalFor(auth, token);
    for (const a of ['scene:join', 'view:set', 'frame:ack', 'room:join', 'presence:set', 'http:scenes'] as Action[]) {
      const r = auth.authorize(p, a, { scene: 'lego', room: 'main' });
      assert.ok(r.ok && r.role === 'viewer', a);
    }
    for (const a of MUTATING) {
      const r = auth.authorize(p, a, { scene: 'lego', room: 'main' });
      assert.ok(!r.ok, a);
      assert.equal(r.code, 'forbidden');
      assert.ok(r.reason === 'role' || r.reason === 'wrong_scope', `${a}: ${r.reason}`);
      assert.ok(r.status === 403);
    }
    const before = countLinks(db);
    assert.equal(auth.createLink(p, { scene: 'lego', room: 'main', role: 'owner', expiresAt: null }).ok, false);
    assert.equal(auth.listLinks(p, { scene: 'lego', room: 'main' }).ok, false);
    assert.equal(countLinks(db), before);
    const r = auth.authorize(p, 'op:submit', { scene: 'lego', room: 'main' });
    assert.ok(!r.ok && r.reason === 'role' && /viewers cannot change labels/.test(r.message));
  });

  test('annotators edit, owners manage; every action is decided', async () => {
    const { auth } = setup();
    const ann = await principalFor(auth, auth.links.create({ scene: 'lego', room: 'main', role: 'annotator', expiresAt: null, createdBy: 'u' }).token);
    for (const a of ['op:submit', 'sel:preview', 'sel:histogram', 'time:sync', 'export:start', 'http:export'] as Action[]) {
      assert.ok(auth.authorize(ann, a, { scene: 'lego', room: 'main' }).ok, a);
    }
    assert.equal(auth.authorize(ann, 'link:create', { scene: 'lego', room: 'main' }).ok, false);
    const owner = await principalFor(auth, auth.serveOwnerLink().token);
    for (const a of ALL_ACTIONS) assert.ok(auth.authorize(owner, a, { scene: 'lego', room: 'main' }).ok, a);
  });

  test('a token for room A is refused in room B and in other scenes; scene-wide actions need a scene-wide link', async () => {
    const { auth } = setup();
    const p = await principalFor(auth, auth.links.create({ scene: 'lego', room: 'roomA', role: 'owner', expiresAt: null, createdBy: 'u' }).token);
    assert.ok(auth.authorize(p, 'op:submit', { scene: 'lego', room: 'roomA' }).ok);
    const b = auth.authorize(p, 'room:join', { scene: 'lego', room: 'roomB' });
    assert.ok(!b.ok && b.reason === 'wrong_scope' && b.code === 'forbidden');
    assert.match(!b.ok ? b.message : '', /this link is for room roomA of scene lego, not for room roomB of scene lego/);
    assert.equal(auth.authorize(p, 'op:submit', { scene: 'lego', room: 'roomB' }).ok, false);
    assert.equal(auth.authorize(p, 'scene:join', { scene: 'ship' }).ok, false);
    assert.ok(auth.authorize(p, 'scene:join', { scene: 'lego' }).ok);
    assert.equal(auth.authorize(p, 'scene:bake', { scene: 'lego' }).ok, false, 'a room owner cannot bake the whole scene');
    assert.equal(auth.authorize(p, 'import:start').ok, false, 'nor import');
    assert.equal(auth.createLink(p, { scene: 'lego', room: '*', role: 'viewer', expiresAt: null }).ok, false, 'nor widen its scope');
    assert.equal(auth.roleIn(p, 'lego', 'roomA'), 'owner');
    assert.equal(auth.roleIn(p, 'lego', 'roomB'), null);
    assert.equal(auth.roleIn(p, 'lego'), 'owner');
    assert.deepEqual(auth.visibleScenes(p, ['drums', 'lego', 'ship']), ['lego']);
    const wide = await principalFor(auth, auth.links.create({ scene: 'lego', room: '*', role: 'owner', expiresAt: null, createdBy: 'u' }).token);
    assert.ok(auth.authorize(wide, 'op:submit', { scene: 'lego', room: 'roomB' }).ok);
    assert.ok(auth.authorize(wide, 'scene:bake', { scene: 'lego' }).ok);
    assert.equal(auth.authorize(wide, 'http:delete', { scene: 'ship' }).ok, false);
  });

  test('path traversal in ids is refused as a bad request', async () => {
    const { auth } = setup();
    const owner = await principalFor(auth, auth.serveOwnerLink().token);
    for (const t of [{ scene: '../lego' }, { scene: 'lego/../../etc' }, { scene: 'lego', room: '../main' }, { scene: 'lego', room: 'a/b' }, { scene: 'lego\0' }, {}]) {
      const r = auth.authorize(owner, 'op:submit', t);
      assert.ok(!r.ok && r.reason === 'bad_id' && r.status === 400 && r.code === 'bad_request', JSON.stringify(t));
    }
    assert.equal(auth.createLink(owner, { scene: '../../x', room: 'main', role: 'viewer', expiresAt: null }).ok, false);
  });

  test('revoking a link stops a principal that is already connected, at once', async () => {
    const { auth } = setup();
    const { token, link } = auth.links.create({ scene: 'lego', room: 'main', role: 'annotator', expiresAt: null, createdBy: 'u' });
    const p = await principalFor(auth, token);
    const owner = await principalFor(auth, auth.serveOwnerLink().token, { id: 'boss', name: 'Owner' });
    const heard: string[] = [];
    auth.onRevoke((e) => {
      if (e.type === 'link-revoked') heard.push(e.link.linkId);
      // What the server does on the event: re-check its connected principals.
      const r = auth.recheck(p, { scene: 'lego', room: 'main' });
      heard.push(r.ok ? 'still ok' : r.reason);
    });
    assert.ok(auth.authorize(p, 'op:submit', { scene: 'lego', room: 'main' }).ok);
    const rv = auth.revokeLink(owner, link.linkId);
    assert.ok(rv.ok);
    assert.deepEqual(heard, [link.linkId, 'revoked']);
    const r = auth.authorize(p, 'view:set', { scene: 'lego' });
    assert.ok(!r.ok && r.reason === 'revoked' && /revoked/.test(r.message));
  });

  test('an expired link stops a connected principal from its expiry on', async () => {
    const { auth, now } = setup();
    const { token } = auth.links.create({ scene: 'lego', room: 'main', role: 'viewer', expiresAt: now.t + 5000, createdBy: 'u' });
    const p = await principalFor(auth, token);
    assert.equal(p.expiresAt, now.t + 5000);
    assert.ok(auth.authorize(p, 'view:set', { scene: 'lego' }).ok);
    now.t += 5000;
    const r = auth.authorize(p, 'view:set', { scene: 'lego' });
    assert.ok(!r.ok && r.reason === 'expired');
    assert.equal(auth.roleIn(p, 'lego', 'main'), null);
  });
});

describe('owner link management', () => {
  test('create, list (with tokens, only manageable ones), revoke; room owners cannot see wider links', async () => {
    const { auth, now } = setup();
    const serve = auth.serveOwnerLink();
    const boss = await principalFor(auth, serve.token, { id: 'boss', name: 'Boss' });
    const made = auth.createLink(boss, { scene: 'lego', room: 'main', role: 'owner', expiresAt: now.t + 3_600_000, label: 'co-owner' });
    assert.ok(made.ok);
    assert.equal(made.link.createdBy, 'boss');
    assert.equal(made.path, `/s/lego?room=main&token=${encodeURIComponent(made.token)}`);
    const roomOwner = await principalFor(auth, made.token, { id: 'co', name: 'Co' });
    const v = auth.createLink(roomOwner, { scene: 'lego', room: 'main', role: 'viewer', expiresAt: null });
    assert.ok(v.ok);
    const bossList = auth.listLinks(boss, { scene: 'lego', room: 'main' });
    assert.ok(bossList.ok);
    assert.deepEqual(bossList.links.map((l) => l.linkId).sort(), [serve.link.linkId, made.link.linkId, v.link.linkId].sort());
    assert.ok(bossList.links.every((l) => typeof l.token === 'string'));
    const coList = auth.listLinks(roomOwner, { scene: 'lego', room: 'main' });
    assert.ok(coList.ok);
    assert.ok(!coList.links.some((l) => l.linkId === serve.link.linkId), 'the server-wide owner token must not leak to a room owner');
    assert.equal(auth.revokeLink(roomOwner, serve.link.linkId).ok, false);
    assert.ok(auth.revokeLink(roomOwner, v.link.linkId).ok);
    const after = auth.listLinks(boss, { scene: 'lego', room: 'main' }, { includeInactive: true });
    assert.ok(after.ok);
    const revoked = after.links.find((l) => l.linkId === v.link.linkId)!;
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.token, null);
    const nf = auth.revokeLink(boss, 'no-such-link');
    assert.ok(!nf.ok && nf.status === 404);
    const past = auth.createLink(boss, { scene: 'lego', room: 'main', role: 'viewer', expiresAt: now.t - 1 });
    assert.ok(!past.ok && past.status === 400 && /past/.test(past.message));
  });
});

describe('credentials', () => {
  test('from the socket handshake', () => {
    assert.deepEqual(credentialsFromHandshake({ protocol: 1, token: 'ss1.a.b', clerkToken: 'j.w.t', user: { id: 'u', name: 'N' } }), {
      linkToken: 'ss1.a.b', clerkToken: 'j.w.t', user: { id: 'u', name: 'N' },
    });
    assert.deepEqual(credentialsFromHandshake(null), { linkToken: null, clerkToken: null, user: null });
    assert.deepEqual(credentialsFromHandshake({ token: 5, clerkToken: 'x'.repeat(9000) }), { linkToken: null, clerkToken: null, user: null });
  });

  test('from HTTP: header, bearer, query; the Clerk cookie only on safe methods', () => {
    const req = (method: string, url: string, headers: Record<string, string>) => ({ method, url, headers });
    assert.equal(credentialsFromHttp(req('GET', '/api/scenes?token=ss1.q.r', {})).linkToken, 'ss1.q.r');
    assert.equal(credentialsFromHttp(req('GET', '/api/scenes', { 'x-splatsync-token': 'ss1.h.h' })).linkToken, 'ss1.h.h');
    const bearerLink = credentialsFromHttp(req('POST', '/api/imports', { authorization: 'Bearer ss1.b.b' }));
    assert.deepEqual([bearerLink.linkToken, bearerLink.clerkToken], ['ss1.b.b', null]);
    const bearerJwt = credentialsFromHttp(req('DELETE', '/api/scenes/x', { authorization: 'Bearer eyJ.a.b' }));
    assert.equal(bearerJwt.clerkToken, 'eyJ.a.b');
    assert.equal(credentialsFromHttp(req('GET', '/api/scenes', { cookie: 'a=1; __session=eyJ.c.d' })).clerkToken, 'eyJ.c.d');
    assert.equal(credentialsFromHttp(req('POST', '/api/imports', { cookie: '__session=eyJ.c.d' })).clerkToken, null, 'no cookie auth for state changes (CSRF)');
  });

  test('share paths', () => {
    assert.equal(sharePath({ scene: '*', room: '*' }, 'ss1.a.b'), '/?token=ss1.a.b');
    assert.equal(sharePath({ scene: 'lego', room: '*' }, 'ss1.a.b'), '/s/lego?token=ss1.a.b');
    assert.equal(sharePath({ scene: 'lego', room: 'r-1' }, 'ss1.a.b'), '/s/lego?room=r-1&token=ss1.a.b');
  });
});
