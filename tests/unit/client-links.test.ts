// The viewer's share-link and access pieces (issue 7) that need no browser: what the Share panel
// shows and sends (app/viewer/links-format.ts, links.ts), the in-app query that keeps a link's
// token and room (app/lib/server-url.ts), the auth config and Clerk token hand-off
// (app/lib/auth-client.ts), and the full-page texts for access that ended.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinkCreate, type LinkInfo } from '../../server/protocol';
import { LINK_EXPIRY_CHOICES } from '../../server/auth/roles';
import { SigningSecret } from '../../server/auth/secret';
import { TokenSigner } from '../../server/auth/tokens';
import { sharePath } from '../../server/auth/authenticate';
import { accessLoss, agoText, DEFAULT_LINK_FORM, expiryText, linkCreateRequest, scopeText, shareUrl, sortLinks, tokenLinkId } from '../../app/viewer/links-format';
import { LinksSession } from '../../app/viewer/links';
import { shareQuery } from '../../app/lib/server-url';
import { clerkToken, parseAuthConfig, setClerkTokenSource } from '../../app/lib/auth-client';

const H = 3_600_000;
const D = 24 * H;

function link(p: Partial<LinkInfo>): LinkInfo {
  return { linkId: 'k1', scene: 'demo', room: 'main', role: 'viewer', label: '', createdBy: 'owner', createdAt: 0, expiresAt: null, revokedAt: null, status: 'active', path: '/s/demo?room=main&token=x', ...p };
}

test('every expiry choice of the form makes a link:create the server accepts', () => {
  for (const c of LINK_EXPIRY_CHOICES) {
    for (const allRooms of [false, true]) {
      const req = linkCreateRequest({ role: 'annotator', expiry: c.id, label: '  for   Dana ', allRooms });
      assert.equal(req.expiresInMs, c.ms);
      assert.equal(req.label, 'for Dana');
      const parsed = LinkCreate.safeParse(req);
      assert.ok(parsed.success, `${c.id}: ${JSON.stringify(req)}`);
      assert.equal(parsed.data!.allRooms ?? false, allRooms);
    }
  }
  // no label: no key (the schema is strict); an unknown expiry id falls back to the first choice
  const bare = linkCreateRequest({ ...DEFAULT_LINK_FORM, label: '   ', expiry: 'bogus' });
  assert.deepEqual(bare, { role: 'viewer', expiresInMs: LINK_EXPIRY_CHOICES[0]!.ms });
  assert.ok(LinkCreate.safeParse(bare).success);
  assert.equal(linkCreateRequest({ ...DEFAULT_LINK_FORM, label: 'x'.repeat(200) }).label!.length, 80);
});

test('the full URL of a link is the page origin plus its path', () => {
  assert.equal(shareUrl('http://localhost:3123', '/s/demo?room=main&token=a.b.c'), 'http://localhost:3123/s/demo?room=main&token=a.b.c');
  assert.equal(shareUrl('https://x.org/', '/?token=t'), 'https://x.org/?token=t');
});

test('the link id is read from a real token (display only), and junk gives null', () => {
  const signer = new TokenSigner(SigningSecret.random());
  const token = signer.sign({ v: 1, scene: 'demo', room: 'main', role: 'viewer', exp: null, linkId: 'lnk_123-abc' });
  assert.equal(tokenLinkId(token), 'lnk_123-abc');
  const path = sharePath({ scene: 'demo', room: 'main' }, token);
  const fromUrl = new URL(shareUrl('http://h:1', path)).searchParams.get('token');
  assert.equal(tokenLinkId(fromUrl), 'lnk_123-abc', 'survives the trip through a share URL');
  for (const junk of [undefined, null, '', 'abc', 'ss1..x', 'ss2.eyJsaW5rSWQiOiJ4In0.x', 'ss1.!!!.x', 'ss1.bm90IGpzb24.x']) assert.equal(tokenLinkId(junk), null, String(junk));
});

test('expiry and age read as short phrases', () => {
  const now = 1_000 * D;
  assert.equal(expiryText(null, now), 'never expires');
  assert.equal(expiryText(now + 30 * 60_000, now), 'expires in 30 min');
  assert.equal(expiryText(now + 5 * H, now), 'expires in 5 h');
  assert.equal(expiryText(now + 7 * D, now), 'expires in 7 d');
  assert.equal(expiryText(now - 2 * H, now), 'expired 2 h ago');
  assert.equal(expiryText(now + 10_000, now), 'expires in less than a minute');
  assert.equal(agoText(now - 5_000, now), 'just now');
  assert.equal(agoText(now - 3 * D, now), '3 d ago');
  assert.equal(agoText(now + 5_000, now), 'just now', 'a clock a little ahead is not "in the future"');
});

test('scopes and list order', () => {
  assert.equal(scopeText({ scene: 'demo', room: 'main' }), 'room main');
  assert.equal(scopeText({ scene: 'demo', room: '*' }), 'every room');
  assert.equal(scopeText({ scene: '*', room: '*' }), 'every scene');
  const sorted = sortLinks([
    link({ linkId: 'old', createdAt: 1 }),
    link({ linkId: 'revoked-new', createdAt: 9, status: 'revoked' }),
    link({ linkId: 'new', createdAt: 5 }),
    link({ linkId: 'expired', createdAt: 3, status: 'expired' }),
  ]);
  assert.deepEqual(sorted.map((l) => l.linkId), ['new', 'old', 'revoked-new', 'expired']);
});

test('in-app links keep the share link token and room', () => {
  assert.equal(shareQuery(undefined, undefined), '');
  assert.equal(shareQuery('ss1.a.b', undefined), '?token=ss1.a.b');
  assert.equal(shareQuery('ss1.a.b', 'r-2'), '?room=r-2&token=ss1.a.b');
  const q = new URLSearchParams(shareQuery('ss1.a+b/c=', 'main'));
  assert.equal(q.get('token'), 'ss1.a+b/c=', 'encoded so it reads back unchanged');
});

test('the full-page texts say what happened and what to do', () => {
  const revoked = accessLoss('the share link you joined with was revoked by its owner');
  assert.match(revoked.title, /revoked/);
  assert.match(revoked.hint, /new link/);
  assert.match(accessLoss('forbidden-ish', 'expired').title, /expired/);
  assert.match(accessLoss('this share link has expired: ask the owner for a new link').title, /expired/);
  assert.match(accessLoss('your access was removed (its share link was revoked or has expired)').title, /revoked|removed/);
  assert.match(accessLoss('sign in to use this share link', 'sign_in_required').title, /Sign in/);
  assert.match(accessLoss('this share link is damaged or incomplete: copy the whole link again').title, /not valid/);
  assert.match(accessLoss('this server needs a share link: open the link its owner gave you').title, /share link is needed/);
  assert.equal(accessLoss('something else').title, 'Access denied');
});

test('the auth config: Clerk only with a well-formed publishable key; anything else is local mode', () => {
  assert.deepEqual(parseAuthConfig({ mode: 'local', clerkPublishableKey: null }), { mode: 'local', clerkPublishableKey: null });
  assert.deepEqual(parseAuthConfig({ mode: 'clerk', clerkPublishableKey: 'pk_test_Y2xlcmsuZXhhbXBsZS5jb20k' }), { mode: 'clerk', clerkPublishableKey: 'pk_test_Y2xlcmsuZXhhbXBsZS5jb20k' });
  for (const bad of [null, 'x', [], { mode: 'clerk' }, { mode: 'clerk', clerkPublishableKey: 'sk_live_secret' }, { mode: 'clerk', clerkPublishableKey: 'pk_test_<script>' }]) {
    assert.equal(parseAuthConfig(bad).mode, 'local', JSON.stringify(bad));
  }
});

test('a Clerk token is asked for at each call, and callers wait for the sign-in', async () => {
  let n = 0;
  const waiting = clerkToken();
  let settled = false;
  void waiting.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(settled, false, 'nobody signed in yet: it waits');
  const undo = setClerkTokenSource(async () => `jwt-${++n}`);
  assert.equal(await waiting, 'jwt-1');
  assert.equal(await clerkToken(), 'jwt-2', 'fresh at every (re)connect');
  undo();
  const failing = setClerkTokenSource(async () => {
    throw new Error('offline');
  });
  assert.equal(await clerkToken(), null, 'a failing getter gives no token (the server says what is missing)');
  failing();
});

/** A socket double: answers acknowledged emits from `answer`. */
function fakeSocket(answer: (event: string, payload: unknown) => unknown) {
  const sent: { event: string; payload: unknown }[] = [];
  const socket = {
    connected: true,
    timeout: () => ({
      emit: (event: string, payload: unknown, cb: (err: Error | null, res: unknown) => void) => {
        sent.push({ event, payload });
        queueMicrotask(() => cb(null, answer(event, payload)));
      },
    }),
  };
  return { socket, sent };
}

test('LinksSession: create, list, revoke over the socket; refusals are shown, not thrown', async () => {
  let links: LinkInfo[] = [link({ linkId: 'a', createdAt: 1 })];
  const { socket, sent } = fakeSocket((event, payload) => {
    const p = payload as Record<string, unknown>;
    if (event === 'link:list') return { ok: true, data: p.includeInactive ? links : links.filter((l) => l.status === 'active') };
    if (event === 'link:create') {
      const l = link({ linkId: 'b', role: p.role as LinkInfo['role'], createdAt: 2, label: (p.label as string) ?? '' });
      links = [...links, l];
      return { ok: true, data: l };
    }
    if (event === 'link:revoke') {
      if (p.linkId === 'nope') return { ok: false, code: 'not_found', message: 'no share link nope' };
      links = links.map((l) => (l.linkId === p.linkId ? { ...l, status: 'revoked', revokedAt: 3, path: null } : l));
      return { ok: true, data: links.find((l) => l.linkId === p.linkId) };
    }
    if (event === 'access:list') return { ok: true, data: [] };
    return { ok: false, code: 'bad_request', message: `unexpected ${event}` };
  });
  const s = new LinksSession(() => socket as never);
  await s.refresh();
  assert.deepEqual(s.getSnapshot().links.map((l) => l.linkId), ['a']);
  const created = await s.create({ role: 'annotator', expiry: '1h', label: 'for Bo', allRooms: false });
  assert.equal(created?.linkId, 'b');
  assert.equal(s.getSnapshot().created?.linkId, 'b');
  assert.deepEqual(sent.find((x) => x.event === 'link:create')!.payload, { role: 'annotator', expiresInMs: 3_600_000, label: 'for Bo' });
  await new Promise((r) => setTimeout(r, 10)); // the list refresh after create
  assert.deepEqual(s.getSnapshot().links.map((l) => l.linkId), ['b', 'a'], 'newest first');
  assert.equal(await s.revoke('b'), true);
  assert.equal(s.getSnapshot().created, null, 'the revoked link is no longer offered to copy');
  assert.deepEqual(s.getSnapshot().links.map((l) => l.linkId), ['a'], 'revoked links are hidden by default');
  s.setShowInactive(true);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(s.getSnapshot().links.map((l) => `${l.linkId}:${l.status}`), ['a:active', 'b:revoked']);
  assert.equal(await s.revoke('nope'), false);
  assert.equal(s.getSnapshot().error, 'no share link nope');
  await s.refresh(true);
  assert.deepEqual(s.getSnapshot().access, []);
  socket.connected = false;
  assert.equal(await s.create(DEFAULT_LINK_FORM), null);
  assert.match(s.getSnapshot().error ?? '', /Not connected/);
});
