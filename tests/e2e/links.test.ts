// Share links and roles in real Debian Chromium against a real server (issue 7, local mode). The
// owner (the link `serve` prints) creates a viewer link in the Share panel and copies it; a guest
// opens it in another browser context: the scene streams, nothing that changes the room is
// offered, a label forced through the socket is refused by the server and the refusal shown;
// the owner revokes the link and the guest's page says so at once, without reconnecting in a
// loop. An annotator link lets the guest make labels; a link for another room opens that room
// and in-app links keep it. Nothing is loaded from anywhere but the server (no Clerk without
// keys). Screenshots land in test-output/e2e/links-*.png (look at them).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ownDemoDataDir, TEST_OUTPUT } from '../helpers/data';
import { launchChromium, waitForFrame } from '../helpers/browser';
import { startCli, type ChildServer } from '../helpers/server';

const shots = path.join(TEST_OUTPUT, 'e2e');
mkdirSync(shots, { recursive: true });
const VIEWPORT = { width: 1100, height: 760 };
const TEST_TIMEOUT = 240_000;
const OWNER = { id: 'uowner0000000001', name: 'Olivia' };

let dataDir: string;
let srv: ChildServer;
let browser: Browser;
let ownerCtx: BrowserContext;
let guestCtx: BrowserContext;
let O: Page;
let G: Page;
/** The viewer link the owner made (full URL, as the panel shows it). */
let viewerUrl: string;
const pageErrors: string[] = [];
/** Every URL the pages requested (all must be the server's own). */
const requested: string[] = [];

interface Hook {
  framesShown: number;
  version: number;
  pending: number;
  sid: string | null;
  role: string | null;
  labels: { id: string; name: string; selections: number }[];
  presence: { sid: string; name: string; role: string }[];
}

const hook = (p: Page): Promise<Hook> => p.evaluate(() => (window as unknown as { __splatsync: Hook }).__splatsync);

/** Polls the hook from here (the page's CSP forbids eval, so not page.waitForFunction(string)). */
async function waitHook(p: Page, pred: (h: Hook) => unknown, timeout = 60_000): Promise<Hook> {
  const end = Date.now() + timeout;
  for (;;) {
    const h = await hook(p).catch(() => undefined);
    if (h && pred(h)) return h;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${pred.toString()}; hook: ${JSON.stringify(h && { role: h.role, labels: h.labels, presence: h.presence, version: h.version, pending: h.pending })}`);
    await p.waitForTimeout(100);
  }
}

async function newContext(name: string, identity?: { id: string; name: string }): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: VIEWPORT });
  // the local-mode identity (app/viewer/identity.ts); not on about:blank, whose storage is off limits
  if (identity) await ctx.addInitScript((u) => location.protocol.startsWith('http') && window.localStorage.setItem('splatsync.user', JSON.stringify(u)), identity);
  ctx.on('request', (r) => requested.push(r.url()));
  ctx.on('page', (p) =>
    p.on('pageerror', (e) => {
      pageErrors.push(`${name}: ${e.message}`);
      console.error(`page error (${name}):`, e.message);
    }),
  );
  return ctx;
}

async function openScene(p: Page, url: string, role: string): Promise<void> {
  await p.goto(url);
  await waitForFrame(p);
  await waitHook(p, (h) => h.sid !== null && h.role === role);
}

/** Creates a link in the owner's Share panel; returns its full URL as shown there. */
async function createLink(p: Page, role: 'viewer' | 'annotator' | 'owner', label: string): Promise<string> {
  const panel = p.getByTestId('links-panel');
  if (!(await panel.isVisible())) await p.getByTestId('share-btn').click();
  await panel.waitFor();
  await p.getByTestId('link-role').selectOption(role);
  await p.getByTestId('link-label').fill(label);
  await p.getByTestId('link-create').click();
  const created = p.getByTestId('link-created');
  await created.filter({ hasText: label }).waitFor({ timeout: 30_000 });
  const url = await p.getByTestId('link-url').inputValue();
  assert.match(url, /^http:\/\/[^/]+\/s\/demo\?room=[A-Za-z0-9_-]+&token=ss1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, `a full share URL: ${url}`);
  return url;
}

before(async () => {
  // a data dir of our own (links live in its splatsync.db); the demo scene is only read
  dataDir = await ownDemoDataDir('links-data-', TEST_OUTPUT);
  srv = await startCli(['--data', dataDir]);
  browser = await launchChromium();
  ownerCtx = await newContext('owner', OWNER);
  await ownerCtx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(srv.sceneUrl).origin });
  guestCtx = await newContext('guest'); // a first visit: no name chosen yet
  O = await ownerCtx.newPage();
  G = await guestCtx.newPage();
});

after(async () => {
  await ownerCtx?.close();
  await guestCtx?.close();
  await browser?.close();
  if (srv) {
    const stopped = await Promise.race([srv.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 15_000))]);
    if (!stopped) await srv.stop('SIGKILL');
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('the owner creates a viewer link in the Share panel and copies it', { timeout: TEST_TIMEOUT }, async () => {
  await openScene(O, srv.sceneUrl, 'owner');
  assert.equal(await O.getByTestId('name-prompt').count(), 0, 'a browser that already chose a name is not asked again');
  viewerUrl = await createLink(O, 'viewer', 'for the viewer test');
  assert.equal(new URL(viewerUrl).origin, new URL(O.url()).origin, 'the URL is on the origin the owner uses');
  assert.equal(new URL(viewerUrl).searchParams.get('room'), 'main');
  // Copy: to the clipboard (granted here), else the text is selected for Ctrl+C
  await O.getByTestId('link-copy').click();
  await O.getByTestId('link-copy').filter({ hasText: 'Copied' }).or(O.getByTestId('link-copy-hint')).first().waitFor();
  if ((await O.getByTestId('link-copy').innerText()) === 'Copied') {
    assert.equal(await O.evaluate(() => navigator.clipboard.readText()), viewerUrl, 'the clipboard holds the URL');
  }
  // the list shows it: role, label, who made it, expiry (the default, 7 days), active
  const row = O.locator('[data-testid="link-row"][data-role="viewer"]').filter({ hasText: 'for the viewer test' });
  await row.waitFor();
  assert.equal(await row.getAttribute('data-status'), 'active');
  assert.match(await row.innerText(), /room main · by Olivia just now · expires in 7 d/);
  // the server-wide owner link this page uses is listed too, marked as such
  assert.match(await O.locator('[data-testid="link-row"][data-role="owner"]').first().innerText(), /your link/);
  await O.screenshot({ path: path.join(shots, 'links-01-owner-share-panel.png') });
});

test('a guest with the viewer link sees the scene but nothing that changes it', { timeout: TEST_TIMEOUT }, async () => {
  await openScene(G, viewerUrl, 'viewer');
  // view only: no label creation, tools, query, θ, shared-time driving or Share panel
  await G.getByTestId('view-only').waitFor();
  for (const id of ['new-label', 'tool-click', 'tool-brush', 'tool-box', 'text-query', 'theta-slider', 'sync-time', 'share-btn', 'links-panel']) {
    assert.equal(await G.getByTestId(id).count(), 0, `no ${id} for a viewer`);
  }
  assert.ok((await G.getByTestId('play').count()) === 1, 'the viewer still plays its own time');
  // a first visit is asked for a name, without blocking: frames came already
  const prompt = G.getByTestId('name-prompt');
  await prompt.waitFor();
  await G.screenshot({ path: path.join(shots, 'links-02-guest-viewer-name-prompt.png') });
  await G.getByTestId('name-prompt-input').fill('Vera');
  await G.getByTestId('name-prompt-save').click();
  await prompt.waitFor({ state: 'detached' });
  await waitHook(O, (h) => h.presence.some((e) => e.name === 'Vera' && e.role === 'viewer'));
  await waitHook(G, (h) => h.sid !== null && h.role === 'viewer'); // reconnected under the new name
  assert.match(await G.getByTestId('user-name').innerText(), /Vera/);
  // its own camera moves (and frames follow)
  const n = (await hook(G)).framesShown;
  const box = (await G.getByTestId('viewer-canvas').boundingBox())!;
  await G.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
  await G.mouse.down();
  for (let i = 1; i <= 6; i++) await G.mouse.move(box.x + box.width * 0.4 + i * 12, box.y + box.height * 0.5);
  await G.mouse.up();
  await waitForFrame(G, n);
  // editing keys do nothing (no op, no toast)
  const v0 = (await hook(G)).version;
  await G.mouse.move(5, 300);
  await G.keyboard.press('n');
  await G.keyboard.press('Control+z');
  await G.waitForTimeout(500);
  assert.equal((await hook(G)).labels.length, 0);
  assert.equal((await hook(G)).version, v0);
  assert.equal(await G.getByTestId('toast').count(), 0);
  // a label forced through the socket: the server refuses it, and the guest is told why
  const ok = await G.evaluate(() =>
    (window as unknown as { __splatsyncActions: { forceOp(b: unknown, t: string): Promise<boolean> } }).__splatsyncActions.forceOp(
      { type: 'label.create', labelId: 'lforced0000000001', name: 'Forced', colour: '#ff3366' },
      'Could not create a label',
    ),
  );
  assert.equal(ok, false, 'the server refused the op');
  const toast = G.getByTestId('toast').filter({ hasText: 'Could not create a label' });
  await toast.waitFor();
  assert.match(await toast.innerText(), /viewers cannot change labels/);
  const hG = await waitHook(G, (h) => h.pending === 0);
  assert.equal(hG.labels.length, 0, 'the optimistic label is gone again');
  assert.equal((await hook(O)).labels.length, 0, 'the owner never saw it');
  await G.screenshot({ path: path.join(shots, 'links-03-guest-viewer-refused.png') });
});

test('revoking the link ends the guest\'s access at once, with a clear screen and no reconnect loop', { timeout: TEST_TIMEOUT }, async () => {
  let socketRequests = 0;
  G.on('request', (r) => {
    if (r.url().includes('/socket.io/')) socketRequests++;
  });
  const row = O.locator('[data-testid="link-row"][data-role="viewer"]').filter({ hasText: 'for the viewer test' });
  await row.getByTestId('link-revoke').click();
  await row.getByTestId('link-revoke-confirm').click();
  const t0 = Date.now();
  const screen = G.getByTestId('access-screen');
  await screen.waitFor({ timeout: 5_000 });
  const ms = Date.now() - t0;
  assert.match(await G.getByTestId('access-title').innerText(), /revoked/i);
  assert.match(await screen.innerText(), /new link/);
  console.log(`guest saw the revoked screen ${ms} ms after the owner confirmed`);
  await G.screenshot({ path: path.join(shots, 'links-04-guest-revoked.png') });
  // it stays put: no reconnection attempts
  const before = socketRequests;
  await G.waitForTimeout(3000);
  assert.ok(socketRequests - before <= 1, `no reconnect loop (${socketRequests - before} socket.io requests in 3 s)`);
  // the owner's list no longer offers it; with "revoked and expired" it shows as revoked
  await row.waitFor({ state: 'detached' });
  await O.getByTestId('links-show-inactive').check();
  const revoked = O.locator('[data-testid="link-row"][data-status="revoked"]').filter({ hasText: 'for the viewer test' });
  await revoked.waitFor();
  assert.equal(await revoked.getByTestId('link-revoke').count(), 0);
  await O.getByTestId('links-show-inactive').uncheck();
  // a reload with the same link is refused at the handshake, with the same screen
  await G.reload();
  await screen.waitFor({ timeout: 30_000 });
  assert.match(await G.getByTestId('access-title').innerText(), /revoked/i);
  await waitHook(O, (h) => !h.presence.some((e) => e.name === 'Vera'));
});

test('an annotator link lets the guest make a label', { timeout: TEST_TIMEOUT }, async () => {
  const url = await createLink(O, 'annotator', 'for the annotator test');
  await openScene(G, url, 'annotator');
  assert.equal(await G.getByTestId('name-prompt').count(), 0, 'the guest chose a name already');
  assert.equal(await G.getByTestId('view-only').count(), 0);
  assert.equal(await G.getByTestId('share-btn').count(), 0, 'only owners manage links');
  await G.getByTestId('tool-brush').waitFor();
  const add = G.locator('[data-testid="new-label"]:not([disabled])');
  await add.click();
  await waitHook(G, (h) => h.labels.length === 1 && h.pending === 0);
  const hO = await waitHook(O, (h) => h.labels.length === 1);
  assert.deepEqual(hO.labels, (await hook(G)).labels);
  await waitHook(O, (h) => h.presence.some((e) => e.name === 'Vera' && e.role === 'annotator'));
});

test('a link for another room opens that room, and in-app links keep its room and token', { timeout: TEST_TIMEOUT }, async () => {
  // the owner (server-wide link) goes to room "r2" of the scene and shares that room
  const O2 = await ownerCtx.newPage();
  const u = new URL(srv.sceneUrl);
  u.searchParams.set('room', 'r2');
  await openScene(O2, u.toString(), 'owner');
  await O2.getByTestId('share-btn').click();
  await O2.getByTestId('link-scope-room').filter({ hasText: 'room r2' }).waitFor();
  const url = await createLink(O2, 'annotator', 'room two');
  assert.equal(new URL(url).searchParams.get('room'), 'r2');
  await openScene(G, url, 'annotator');
  assert.equal((await hook(G)).labels.length, 0, "room r2 does not have main's label");
  await waitHook(O2, (h) => h.presence.some((e) => e.name === 'Vera'));
  await G.locator('[data-testid="new-label"]:not([disabled])').click();
  await waitHook(O2, (h) => h.labels.length === 1);
  await G.waitForTimeout(500);
  assert.equal((await hook(O)).labels.length, 1, 'room main still has its one label only');
  assert.ok(!(await hook(O)).presence.some((e) => e.name === 'Vera'), 'the guest is not in room main');
  // the scene list and back keep ?room= and ?token=
  const token = new URL(url).searchParams.get('token')!;
  await G.locator('.topbar .brand').click();
  await G.waitForURL((x) => x.pathname === '/');
  assert.equal(new URL(G.url()).searchParams.get('room'), 'r2');
  assert.equal(new URL(G.url()).searchParams.get('token'), token);
  const card = G.getByTestId('scene-card').first();
  await card.waitFor();
  await card.click();
  await G.waitForURL((x) => x.pathname === '/s/demo');
  assert.equal(new URL(G.url()).searchParams.get('room'), 'r2');
  await waitForFrame(G);
  await waitHook(G, (h) => h.role === 'annotator' && h.labels.length === 1, 30_000);
  await O2.close();
});

test('nothing was loaded from anywhere but the server, and no page errors', () => {
  const origins = new Set(requested.filter((u) => /^https?:/.test(u)).map((u) => new URL(u).host));
  const own = new URL(srv.sceneUrl).host;
  assert.deepEqual([...origins].filter((h) => h !== own && h !== own.replace('localhost', '127.0.0.1')), [], `requests only to ${own}`);
  assert.equal(requested.filter((u) => /clerk/i.test(u)).length, 0, 'no Clerk without keys');
  assert.deepEqual(pageErrors, []);
});
