// Share-link tokens, the data dir's signing secret, id validation and log redaction (server/auth).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkRoomId, checkSceneId, cleanDisplayName, safeJoin } from '../../server/auth/ids';
import { loadOrCreateSecret, SECRET_FILE, SigningSecret } from '../../server/auth/secret';
import { isLinkToken, redactSecrets, TokenSigner, type LinkPayload } from '../../server/auth/tokens';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const made: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'splatsync-auth-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

const SECRET = new SigningSecret(Buffer.alloc(32, 7));
const payload: LinkPayload = { v: 1, scene: 'lego', room: 'main', role: 'viewer', exp: null, linkId: 'abcDEF123_-x' };

/** Makes a token by hand with the real key, to reach the checks that follow the signature. */
function handSigned(body: unknown, secret = SECRET): string {
  const b = Buffer.from(JSON.stringify(body)).toString('base64url');
  const mac = crypto.createHmac('sha256', secret.derive('link-token-v1')).update(`ss1.${b}`).digest('base64url');
  return `ss1.${b}.${mac}`;
}

describe('link tokens', () => {
  const signer = new TokenSigner(SECRET);

  test('round trip, deterministic, recognisable', () => {
    const t = signer.sign(payload);
    assert.equal(t, signer.sign({ ...payload }));
    assert.ok(isLinkToken(t));
    assert.ok(t.length < 300, `token is ${t.length} chars`);
    const v = signer.verify(t);
    assert.deepEqual(v, { ok: true, payload });
    assert.equal(handSigned(payload), t);
  });

  test('a forged signature is refused: edited payload, other secret, truncated or swapped MAC', () => {
    const t = signer.sign(payload);
    const [, , sig] = t.split('.');
    const elevated = Buffer.from(JSON.stringify({ ...payload, role: 'owner' })).toString('base64url');
    const other = new TokenSigner(SigningSecret.random()).sign(payload);
    const cases = [
      `ss1.${elevated}.${sig}`,
      other,
      t.slice(0, -2),
      `${t.slice(0, t.lastIndexOf('.') + 1)}${'A'.repeat(43)}`,
      `${t.slice(0, t.lastIndexOf('.') + 1)}`.concat(sig!.slice(1) + (sig![0] === 'A' ? 'B' : 'A')),
    ];
    for (const c of cases) {
      const v = signer.verify(c);
      assert.equal(v.ok, false, c);
      if (!v.ok) {
        assert.ok(v.reason === 'bad_signature' || v.reason === 'malformed', `${c}: ${v.reason}`);
        assert.match(v.message, /link/);
      }
    }
    assert.deepEqual(signer.verify(`ss1.${elevated}.${sig}`).ok, false);
    const r = signer.verify(other);
    assert.ok(!r.ok && r.reason === 'bad_signature');
  });

  test('malformed tokens are refused without throwing', () => {
    const inputs: unknown[] = ['', 'x', 'ss1', 'ss1..', 'ss2.a.b', 'ss1.a.b.c', 'ss1.a b.c', `ss1.${'a'.repeat(2000)}.b`, null, 42, {}, 'eyJhbGciOiJub25lIn0.e30.'];
    for (const i of inputs) {
      const v = signer.verify(i);
      assert.equal(v.ok, false);
      if (!v.ok) assert.ok(v.reason === 'malformed' || v.reason === 'bad_signature', String(i));
    }
  });

  test('a correctly signed but invalid payload is malformed (schema checked after the MAC)', () => {
    for (const body of [
      { ...payload, v: 2 },
      { ...payload, role: 'admin' },
      { ...payload, scene: '../etc' },
      { ...payload, room: 'a/b' },
      { ...payload, extra: 1 },
      { ...payload, exp: 'never' },
      'just a string',
    ]) {
      const v = signer.verify(handSigned(body));
      assert.ok(!v.ok && v.reason === 'malformed', JSON.stringify(body));
    }
    const notJson = `ss1.${Buffer.from('{nope').toString('base64url')}`;
    const mac = crypto.createHmac('sha256', SECRET.derive('link-token-v1')).update(notJson).digest('base64url');
    const v = signer.verify(`${notJson}.${mac}`);
    assert.ok(!v.ok && v.reason === 'malformed');
  });

  test('expiry: valid before, refused from the expiry on; null never expires', () => {
    const t = signer.sign({ ...payload, exp: 1_000_000 });
    assert.equal(signer.verify(t, 999_999).ok, true);
    const v = signer.verify(t, 1_000_000);
    assert.ok(!v.ok && v.reason === 'expired');
    assert.match(!v.ok ? v.message : '', /expired/);
    assert.equal(signer.verify(signer.sign(payload), 8.64e15).ok, true);
  });

  test('sign refuses an invalid payload', () => {
    assert.throws(() => signer.sign({ ...payload, scene: '../../x' }));
    assert.throws(() => signer.sign({ ...payload, linkId: 'has space' }));
  });
});

describe('signing secret', () => {
  test('created on first use with mode 0600, then reused', () => {
    const dir = tmpDir();
    const a = loadOrCreateSecret(dir);
    const file = path.join(dir, SECRET_FILE);
    assert.ok(fs.existsSync(file));
    if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const b = loadOrCreateSecret(dir);
    assert.deepEqual(a.derive('x'), b.derive('x'));
    assert.notDeepEqual(a.derive('x'), a.derive('y'));
    assert.notDeepEqual(a.derive('x'), loadOrCreateSecret(tmpDir()).derive('x'));
    assert.deepEqual(fs.readdirSync(dir), [SECRET_FILE], 'no temporary files left behind');
  });

  test('a looser mode is tightened; a damaged file is an error, not silently replaced', () => {
    const dir = tmpDir();
    loadOrCreateSecret(dir);
    const file = path.join(dir, SECRET_FILE);
    if (process.platform !== 'win32') {
      fs.chmodSync(file, 0o644);
      loadOrCreateSecret(dir);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    }
    const bad = tmpDir();
    fs.writeFileSync(path.join(bad, SECRET_FILE), 'not hex at all');
    assert.throws(() => loadOrCreateSecret(bad), /damaged/);
  });

  test('never shows itself in logs or JSON', () => {
    const dir = tmpDir();
    const s = loadOrCreateSecret(dir);
    const hex = fs.readFileSync(path.join(dir, SECRET_FILE), 'utf8').trim();
    for (const shown of [JSON.stringify({ s }), util.inspect(s, { showHidden: true, depth: 5 }), String(s), util.format('%o', s)]) {
      assert.ok(!shown.includes(hex), shown);
      assert.ok(!shown.includes(hex.slice(0, 16)), shown);
    }
    const signer = new TokenSigner(s);
    assert.ok(!util.inspect(signer, { showHidden: true }).includes(hex.slice(0, 16)));
  });

  test('several processes starting at once agree on one secret', async () => {
    const dir = tmpDir();
    const script = `import { loadOrCreateSecret } from './server/auth/secret.ts';
const s = loadOrCreateSecret(process.argv[1]);
process.stdout.write(s.derive('probe').toString('hex'));`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
      });
    const results = await Promise.all([run(), run(), run(), run()]);
    assert.equal(new Set(results).size, 1, results.join('\n'));
    assert.equal(results[0]!.length, 64);
    assert.equal(loadOrCreateSecret(dir).derive('probe').toString('hex'), results[0]);
    assert.deepEqual(fs.readdirSync(dir), [SECRET_FILE]);
  });
});

describe('ids (no path traversal)', () => {
  test('scene and room ids', () => {
    for (const bad of ['', '..', '../x', 'a/b', 'a\\b', '.hidden', 'A', 'x'.repeat(65), '%2e%2e', 'a\0b', 'a b', '-x', 'é', 7, null, '*']) {
      assert.equal(checkSceneId(bad).ok, false, String(bad));
    }
    for (const good of ['lego', 'jumping-jacks', '0', 'a'.repeat(64)]) assert.equal(checkSceneId(good).ok, true, good);
    for (const bad of ['', '..', '../main', 'a/b', 'a.b', 'x'.repeat(41), 'a\0', '*']) assert.equal(checkRoomId(bad).ok, false, String(bad));
    for (const good of ['main', 'Room_2', 'a-b']) assert.equal(checkRoomId(good).ok, true, good);
    const r = checkSceneId('../../etc/passwd');
    assert.ok(!r.ok && /scene id/.test(r.message));
  });

  test('safeJoin stays inside its base', () => {
    const base = tmpDir();
    assert.equal(safeJoin(base, 'scenes', 'lego'), path.join(base, 'scenes', 'lego'));
    for (const bad of [['..'], ['scenes', '../../x'], ['/etc/passwd'], ['a\0b']]) assert.throws(() => safeJoin(base, ...bad), String(bad));
  });

  test('display names are cleaned', () => {
    assert.equal(cleanDisplayName('  Ada\u202e  Lovelace\n'), 'Ada Lovelace');
    assert.equal(cleanDisplayName(''), 'Guest');
    assert.equal(cleanDisplayName(undefined, 'user'), 'user');
    assert.equal(Array.from(cleanDisplayName('😀'.repeat(100))).length, 60);
  });
});

describe('redactSecrets', () => {
  test('removes link tokens, query tokens, bearer values and JWTs', () => {
    const t = new TokenSigner(SECRET).sign(payload);
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ.c2lnbmF0dXJl';
    const line = `GET /s/lego?room=main&token=${encodeURIComponent(t)} auth=${t} Authorization: Bearer ${jwt} cookie __session=${jwt}`;
    const out = redactSecrets(line);
    assert.ok(!out.includes(t.split('.')[1]!), out);
    assert.ok(!out.includes('c2lnbmF0dXJl'), out);
    assert.match(out, /room=main/);
    assert.match(out, /token=\[redacted\]/);
  });
});
