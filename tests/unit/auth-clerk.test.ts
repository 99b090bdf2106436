// Clerk mode without network: a key pair made here, session tokens shaped like Clerk's signed
// here with node:crypto, verified through the real @clerk/backend verifyToken with `jwtKey`.
// Any attempt to open a socket or call fetch during these tests fails them.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import util from 'node:util';
import { after, before, describe, test } from 'node:test';
import { openDb } from '../../server/db';
import {
  clerkFromEnv, ClerkConfigError, createAuth, frontendApiFromPublishableKey, SigningSecret, verifyClerkSession, type ClerkConfig,
} from '../../server/auth/index';

const network: string[] = [];
const realConnect = net.Socket.prototype.connect;
const realFetch = globalThis.fetch;
before(() => {
  net.Socket.prototype.connect = function (...args: unknown[]) {
    network.push(`socket ${JSON.stringify(args[0])}`);
    throw new Error('network access in a test');
  } as typeof realConnect;
  globalThis.fetch = (async (input: unknown) => {
    network.push(`fetch ${String(input)}`);
    throw new Error('network access in a test');
  }) as typeof fetch;
});
after(() => {
  net.Socket.prototype.connect = realConnect;
  globalThis.fetch = realFetch;
  assert.deepEqual(network, [], 'no network access');
});

const keyPair = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
const clerkKeys = keyPair();
const otherKeys = keyPair();
const PEM = clerkKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ISSUER = 'https://touching-lark-42.clerk.accounts.dev';
const PK = `pk_test_${Buffer.from('touching-lark-42.clerk.accounts.dev$').toString('base64')}`;

/** A session token as Clerk issues them (v2 claims), RS256-signed with `key`. */
function sessionToken(over: Record<string, unknown> = {}, key: crypto.KeyObject = clerkKeys.privateKey, header: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const h = { alg: 'RS256', kid: 'ins_2abcDEFghiJKLmnoPQRstuVWXyz', typ: 'JWT', cat: 'cl_B7d4PD111AAA', ...header };
  const p = {
    azp: 'http://localhost:3000',
    exp: now + 60,
    fva: [0, -1],
    iat: now,
    iss: ISSUER,
    jti: crypto.randomBytes(10).toString('hex'),
    nbf: now - 5,
    sid: 'sess_2Ro7e2IxrffdqBboq8KfB6eGbIy',
    sts: 'active',
    sub: 'user_2RfWKJREkjKbHZy0Wqa5qrHeAnb',
    v: 2,
    ...over,
  };
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signed = `${enc(h)}.${enc(p)}`;
  const sig = crypto.sign('sha256', Buffer.from(signed), key).toString('base64url');
  return `${signed}.${sig}`;
}

const config: ClerkConfig = { publishableKey: PK, secretKey: 'sk_test_not_used', jwtKey: PEM, authorizedParties: [], frontendApi: `https://touching-lark-42.clerk.accounts.dev` };

describe('Clerk settings from the environment', () => {
  test('local unless both keys are set; networkless with CLERK_JWT_KEY', () => {
    assert.deepEqual(clerkFromEnv({}), { mode: 'local' });
    const half = clerkFromEnv({ CLERK_SECRET_KEY: 'sk_test_x' });
    assert.ok(half.mode === 'local' && /NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY/.test(half.warning ?? ''));
    const net1 = clerkFromEnv({ CLERK_SECRET_KEY: 'sk_test_x', NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: PK });
    assert.ok(net1.mode === 'clerk' && !net1.networkless && net1.config.jwtKey === null);
    assert.equal(net1.mode === 'clerk' && net1.config.frontendApi, 'https://touching-lark-42.clerk.accounts.dev');
    // .env files often hold the PEM with literal \n escapes.
    const escaped = PEM.trim().replace(/\n/g, '\\n');
    const off = clerkFromEnv({ CLERK_SECRET_KEY: 'sk_test_x', NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: PK, CLERK_JWT_KEY: escaped, CLERK_AUTHORIZED_PARTIES: 'https://a.example/, https://b.example' });
    assert.ok(off.mode === 'clerk' && off.networkless);
    assert.deepEqual(off.mode === 'clerk' && off.config.authorizedParties, ['https://a.example', 'https://b.example']);
    assert.ok(off.mode === 'clerk' && off.config.secretKey === 'sk_test_x');
    assert.ok(off.mode === 'clerk' && !JSON.stringify(off).includes('sk_test_x') && !util.inspect(off, { depth: 5 }).includes('sk_test_x'), 'the secret key stays out of logs');
    assert.throws(() => clerkFromEnv({ CLERK_SECRET_KEY: 'x', NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: PK, CLERK_JWT_KEY: 'not a key' }), ClerkConfigError);
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(() => clerkFromEnv({ CLERK_SECRET_KEY: 'x', NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: PK, CLERK_JWT_KEY: ec }), /RSA/);
  });

  test('frontend API from the publishable key', () => {
    assert.equal(frontendApiFromPublishableKey(PK), 'https://touching-lark-42.clerk.accounts.dev');
    assert.equal(frontendApiFromPublishableKey(`pk_live_${Buffer.from('clerk.example.org$').toString('base64')}`), 'https://clerk.example.org');
    assert.equal(frontendApiFromPublishableKey('pk_test_garbage'), null);
    assert.equal(frontendApiFromPublishableKey(`pk_test_${Buffer.from('evil.com; script-src *$').toString('base64')}`), null);
  });
});

describe('verifyClerkSession (real @clerk/backend verifyToken, networkless)', () => {
  test('a valid session token verifies', async () => {
    const r = await verifyClerkSession(sessionToken({ name: 'Ada Lovelace' }), config);
    assert.ok(r.ok, r.ok ? '' : r.detail);
    assert.equal(r.session.userId, 'user_2RfWKJREkjKbHZy0Wqa5qrHeAnb');
    assert.equal(r.session.sessionId, 'sess_2Ro7e2IxrffdqBboq8KfB6eGbIy');
    assert.equal(r.session.name, 'Ada Lovelace');
    const plain = await verifyClerkSession(sessionToken(), config);
    assert.ok(plain.ok && plain.session.name === null);
  });

  test('a token signed with another key is refused', async () => {
    const r = await verifyClerkSession(sessionToken({}, otherKeys.privateKey), config);
    assert.ok(!r.ok && r.reason === 'clerk_invalid', r.ok ? '' : r.detail);
    assert.match(!r.ok ? r.message : '', /sign in again/);
  });

  test('expired, not yet valid, tampered, wrong algorithm, wrong party, pending session: refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await verifyClerkSession(sessionToken({ exp: now - 60, iat: now - 120, nbf: now - 125 }), config);
    assert.ok(!expired.ok && expired.reason === 'clerk_expired', expired.ok ? '' : expired.detail);
    const early = await verifyClerkSession(sessionToken({ nbf: now + 600 }), config);
    assert.ok(!early.ok && early.reason === 'clerk_invalid');
    const good = sessionToken();
    const [h, , s] = good.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ sub: 'user_attacker', exp: now + 60, iat: now, sid: 'sess_x' })).toString('base64url');
    const tampered = await verifyClerkSession(`${h}.${forgedPayload}.${s}`, config);
    assert.ok(!tampered.ok && tampered.reason === 'clerk_invalid');
    const hs = (() => {
      const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
      const body = Buffer.from(JSON.stringify({ sub: 'user_x', exp: now + 60 })).toString('base64url');
      const mac = crypto.createHmac('sha256', PEM).update(`${head}.${body}`).digest('base64url');
      return `${head}.${body}.${mac}`;
    })();
    const confused = await verifyClerkSession(hs, config);
    assert.ok(!confused.ok && confused.reason === 'clerk_invalid', 'HS256 with the public key as secret');
    const none = await verifyClerkSession(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"user_x"}').toString('base64url')}.`, config);
    assert.equal(none.ok, false);
    const party = await verifyClerkSession(sessionToken({ azp: 'https://evil.example' }), { ...config, authorizedParties: ['http://localhost:3000'] });
    assert.ok(!party.ok && party.reason === 'clerk_invalid');
    assert.ok((await verifyClerkSession(sessionToken(), { ...config, authorizedParties: ['http://localhost:3000'] })).ok);
    const pending = await verifyClerkSession(sessionToken({ sts: 'pending' }), config);
    assert.equal(pending.ok, false);
    const badSub = await verifyClerkSession(sessionToken({ sub: '../../etc' }), config);
    assert.equal(badSub.ok, false);
    for (const junk of ['', 'x', 'a.b.c', 42, null, 'x'.repeat(10_000)]) assert.equal((await verifyClerkSession(junk, config)).ok, false);
  });
});

test('the network guard works: without CLERK_JWT_KEY the SDK would fetch the JWKS', async () => {
  const r = await verifyClerkSession(sessionToken(), { ...config, jwtKey: null });
  assert.ok(!r.ok && r.reason === 'clerk_unavailable', r.ok ? '' : r.detail);
  assert.ok(network.some((n) => n.startsWith('socket')), `the guard saw the attempt: ${network.join(', ')}`);
  network.length = 0;
});

describe('Clerk mode: links grant roles to signed-in users', () => {
  const setup = () => {
    const db = openDb(':memory:');
    const auth = createAuth({ db, secret: new SigningSecret(Buffer.alloc(32, 9)), clerk: config });
    return { db, auth };
  };
  const ADA = 'user_2RfWKJREkjKbHZy0Wqa5qrHeAnb';

  test('a link needs a sign-in; with one, its role is granted and recorded', async () => {
    const { auth } = setup();
    assert.equal(auth.mode, 'clerk');
    assert.deepEqual(auth.publicConfig(), { mode: 'clerk', clerkPublishableKey: PK });
    const { token, link } = auth.links.create({ scene: 'lego', room: 'main', role: 'annotator', expiresAt: null, createdBy: 'owner' });
    const noSession = await auth.authenticate({ linkToken: token });
    assert.ok(!noSession.ok && noSession.reason === 'sign_in_required' && noSession.status === 401);
    const nothing = await auth.authenticate({});
    assert.ok(!nothing.ok && nothing.reason === 'missing');
    const noGrant = await auth.authenticate({ clerkToken: sessionToken() });
    assert.ok(!noGrant.ok && noGrant.reason === 'no_access' && noGrant.status === 403);

    const r = await auth.authenticate({ linkToken: token, clerkToken: sessionToken(), user: { id: 'spoofed', name: 'Ada' } });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.principal.via, 'clerk');
    assert.equal(r.principal.userId, ADA, 'the user id comes from the verified token, not the client');
    assert.equal(r.principal.link?.linkId, link.linkId);
    assert.ok(auth.authorize(r.principal, 'op:submit', { scene: 'lego', room: 'main' }).ok);
    assert.equal(auth.authorize(r.principal, 'link:create', { scene: 'lego', room: 'main' }).ok, false);
    assert.equal(auth.authorize(r.principal, 'room:join', { scene: 'lego', room: 'other' }).ok, false);

    // Later sign-ins need no link: the grant stands.
    const later = await auth.authenticate({ clerkToken: sessionToken() });
    assert.ok(later.ok && auth.roleIn(later.principal, 'lego', 'main') === 'annotator');

    // The owner sees who has access.
    const owner = await auth.authenticate({ linkToken: auth.serveOwnerLink().token, clerkToken: sessionToken({ sub: 'user_owner' }) });
    assert.ok(owner.ok);
    const access = auth.listAccess(owner.principal, { scene: 'lego', room: 'main' });
    assert.ok(access.ok);
    assert.deepEqual(access.grants.map((g) => [g.userId, g.role, g.userName]).sort(), [[ADA, 'annotator', 'Ada'], ['user_owner', 'owner', 'user']]);
    assert.equal(auth.listAccess(r.principal, { scene: 'lego', room: 'main' }).ok, false, 'annotators do not');

    // Revoking the link removes the grant: the connected principal loses access at once.
    const rv = auth.revokeLink(owner.principal, link.linkId);
    assert.ok(rv.ok && rv.removedGrants.length === 1);
    const now = auth.authorize(r.principal, 'view:set', { scene: 'lego' });
    assert.ok(!now.ok && now.reason === 'no_access');
    const again = await auth.authenticate({ clerkToken: sessionToken() });
    assert.ok(!again.ok && again.reason === 'no_access');
    const reuse = await auth.authenticate({ linkToken: token, clerkToken: sessionToken() });
    assert.ok(!reuse.ok && reuse.reason === 'revoked');
  });

  test('a session signed with another key grants nothing', async () => {
    const { db, auth } = setup();
    const { token } = auth.links.create({ scene: 'lego', room: 'main', role: 'owner', expiresAt: null, createdBy: 'owner' });
    const r = await auth.authenticate({ linkToken: token, clerkToken: sessionToken({}, otherKeys.privateKey) });
    assert.ok(!r.ok && r.reason === 'clerk_invalid');
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM grants').get() as { n: number }).n, 0);
  });

  test('an owner removes one person', async () => {
    const { auth } = setup();
    const viewer = auth.links.create({ scene: 'lego', room: 'main', role: 'viewer', expiresAt: null, createdBy: 'owner' });
    const v = await auth.authenticate({ linkToken: viewer.token, clerkToken: sessionToken() });
    assert.ok(v.ok);
    const owner = await auth.authenticate({ linkToken: auth.serveOwnerLink().token, clerkToken: sessionToken({ sub: 'user_owner' }) });
    assert.ok(owner.ok);
    assert.ok(auth.revokeAccess(owner.principal, ADA, { scene: 'lego', room: 'main' }).ok);
    assert.equal(auth.authorize(v.principal, 'scene:join', { scene: 'lego' }).ok, false);
    const again = auth.revokeAccess(owner.principal, ADA, { scene: 'lego', room: 'main' });
    assert.ok(!again.ok && again.status === 404);
  });
});
