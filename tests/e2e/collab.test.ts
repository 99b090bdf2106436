// Collaboration in real Debian Chromium against a real server (issue 6): two browser contexts,
// Alice (A) and Bob (B), on the demo scene. A click in A makes a label whose mask shows in B's
// frame pixels; B's Ctrl+Z undoes nothing of A's; A's cursor and camera frustum show in B;
// following and shared time; a reload of A and a server restart bring back the acknowledged
// state. Screenshots land in test-output/e2e/collab-*.png (look at them).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { demoDataDir, TEST_OUTPUT } from '../helpers/data';
import { findDemoShirt, launchChromium, waitForFrame } from '../helpers/browser';
import { startCli, type ChildServer } from '../helpers/server';

const shots = path.join(TEST_OUTPUT, 'e2e');
mkdirSync(shots, { recursive: true });
const VIEWPORT = { width: 1100, height: 760 };
const TEST_TIMEOUT = 240_000;
const ALICE = { id: 'ualice0000000001', name: 'Alice' };
const BOB = { id: 'ubob000000000001', name: 'Bob' };

let dataDir: string;
let srv: ChildServer;
let browser: Browser;
let ctxA: BrowserContext;
let ctxB: BrowserContext;
let A: Page;
let B: Page;
/** The shirt pixel (page CSS coordinates; both pages have the same layout). */
let shirt: { x: number; y: number };
const pageErrors: string[] = [];

interface Hook {
  framesShown: number;
  version: number;
  pending: number;
  sid: string | null;
  lastFrame: { t: number; width: number; height: number } | null;
  labels: { id: string; name: string; colour: string; visible: boolean; selections: number }[];
  lastOverlay: { labelPixels: number; previewPixels: number };
  presence: { sid: string; userId: string; name: string; colour: string; camera: boolean; cursor: { x: number; y: number; world: boolean } | null; t: number }[];
  followed: string | null;
  frustums: string[];
  cursors: { sid: string; x: number; y: number }[];
  syncTime: boolean;
}

const hook = (p: Page): Promise<Hook> => p.evaluate(() => (window as unknown as { __splatsync: Hook }).__splatsync);

/**
 * Polls the hook from here until `pred` holds. (Not page.waitForFunction with a string: the
 * server's Content-Security-Policy forbids eval in the page, rightly.)
 */
async function waitHook(p: Page, pred: (h: Hook) => unknown, timeout = 60_000): Promise<Hook> {
  const end = Date.now() + timeout;
  for (;;) {
    const h = await hook(p).catch(() => undefined);
    if (h && pred(h)) return h;
    if (Date.now() > end) {
      const brief = h && { version: h.version, pending: h.pending, labels: h.labels, sid: h.sid, presence: h.presence.map((e) => e.name), followed: h.followed, frustums: h.frustums, cursors: h.cursors, t: h.lastFrame?.t, overlay: h.lastOverlay };
      throw new Error(`timed out after ${timeout} ms waiting for ${pred.toString()}; hook: ${JSON.stringify(brief)}`);
    }
    await p.waitForTimeout(100);
  }
}

/** Waits until no new frame has arrived for `quietMs`. */
async function settle(p: Page, quietMs = 700, timeout = 30_000): Promise<void> {
  const end = Date.now() + timeout;
  let n = (await hook(p)).framesShown;
  for (;;) {
    await p.waitForTimeout(quietMs);
    const m = (await hook(p)).framesShown;
    if (m === n || Date.now() > end) return;
    n = m;
  }
}

async function shot(p: Page, name: string): Promise<Buffer> {
  return p.getByTestId('viewer-canvas').screenshot({ path: path.join(shots, `collab-${name}.png`) });
}

/** RGB of the canvas at page CSS point (x, y), read from the WebGL drawing buffer. */
async function canvasPixel(p: Page, x: number, y: number): Promise<[number, number, number]> {
  return p.evaluate(([px, py]) => {
    const c = document.querySelector('[data-testid="viewer-canvas"]') as HTMLCanvasElement;
    const r = c.getBoundingClientRect();
    const g = document.createElement('canvas').getContext('2d')!;
    g.drawImage(c, Math.floor(((px! - r.left) / r.width) * c.width), Math.floor(((py! - r.top) / r.height) * c.height), 1, 1, 0, 0, 1, 1);
    const d = g.getImageData(0, 0, 1, 1).data;
    return [d[0]!, d[1]!, d[2]!] as [number, number, number];
  }, [x, y]);
}

const dist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

async function openAs(user: { id: string; name: string }): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: VIEWPORT });
  // the local-mode identity (app/viewer/identity.ts) this context's viewer uses
  await ctx.addInitScript((u) => window.localStorage.setItem('splatsync.user', JSON.stringify(u)), user);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => {
    pageErrors.push(`${user.name}: ${e.message}`);
    console.error(`page error (${user.name}):`, e.message);
  });
  return { ctx, page };
}

async function openScene(p: Page, url = srv.sceneUrl): Promise<void> {
  await p.goto(url);
  await waitForFrame(p);
  await waitHook(p, (h) => h.sid !== null);
  await p.waitForSelector('[data-testid="new-label"]:not([disabled])');
}

before(async () => {
  // a data dir of our own: rooms persist in its splatsync.db, and the restart test needs that
  dataDir = mkdtempSync(path.join(TEST_OUTPUT, 'collab-data-'));
  cpSync(path.join(await demoDataDir(), 'scenes'), path.join(dataDir, 'scenes'), { recursive: true });
  srv = await startCli(['--data', dataDir]);
  browser = await launchChromium();
  ({ ctx: ctxA, page: A } = await openAs(ALICE));
  ({ ctx: ctxB, page: B } = await openAs(BOB));
});

after(async () => {
  await ctxA?.close();
  await ctxB?.close();
  await browser?.close();
  if (srv) {
    // a server that does not shut down within 15 s is killed (the test is about the viewer)
    const stopped = await Promise.race([srv.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 15_000))]);
    if (!stopped) {
      console.error('the server did not stop on SIGTERM within 15 s: killing it');
      await srv.stop('SIGKILL');
    }
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('both viewers list each other with a name and colour', { timeout: TEST_TIMEOUT }, async () => {
  await openScene(A);
  await openScene(B);
  await waitHook(A, (h) => h.presence.some((e) => e.name === 'Bob'));
  await waitHook(B, (h) => h.presence.some((e) => e.name === 'Alice' && e.camera));
  const row = B.getByTestId('presence-row');
  assert.equal(await row.count(), 1, 'B lists one other person');
  assert.match(await row.innerText(), /Alice/);
  const a = (await hook(B)).presence[0]!;
  assert.match(a.colour, /^#[0-9a-f]{6}$/);
  assert.equal(a.userId, ALICE.id);
  assert.match(await B.getByTestId('presence-me').innerText(), /Bob[\s\S]*you/);
});

test("a click in A makes a label whose mask shows in B's frame", { timeout: TEST_TIMEOUT }, async () => {
  await settle(A);
  await settle(B);
  const beforeB = await shot(B, '00-b-before');
  // the demo figure's red-and-white striped shirt, near the image centre
  shirt = await findDemoShirt(B, beforeB);
  const rgbB = await canvasPixel(B, shirt.x, shirt.y);

  await A.mouse.click(shirt.x, shirt.y);
  await A.mouse.move(5, 300); // off the canvas: no hover preview
  await waitHook(A, (h) => h.labels.length === 1 && h.labels[0]?.selections === 1 && h.pending === 0);
  // B: the label, its selection, and the mask in B's own frames
  await waitHook(B, (h) => h.labels.length === 1 && h.labels[0]?.selections === 1);
  await waitHook(B, (h) => h.lastOverlay.labelPixels > 200);
  await settle(B);
  const hB = await hook(B);
  const hA = await hook(A);
  assert.equal(hB.version, hA.version, 'both at the same room version');
  assert.deepEqual(hB.labels, hA.labels, 'B folds the same labels as A');
  assert.ok(hB.lastOverlay.labelPixels < (hB.lastFrame!.width * hB.lastFrame!.height) / 3, `an object, not the whole frame (${hB.lastOverlay.labelPixels} texels)`);
  const afterB = await canvasPixel(B, shirt.x, shirt.y);
  assert.ok(dist(afterB, rgbB) > 20, `B's shirt pixel took the label colour (${rgbB} -> ${afterB})`);
  await shot(B, '01-b-mask');
  // attributed to its author on B's screen
  await B.getByTestId('label-row').first().click();
  const sel = B.getByTestId('sel-row');
  await sel.first().waitFor();
  assert.match(await sel.first().innerText(), /Alice/);
});

test("B's Ctrl+Z undoes nothing of A's, and B's own edits only", { timeout: TEST_TIMEOUT }, async () => {
  const v0 = (await hook(B)).version;
  await B.keyboard.press('Control+z');
  const toast = B.getByTestId('toast-info').first();
  await toast.waitFor({ timeout: 30_000 });
  assert.match(await toast.innerText(), /nothing of yours to undo/i);
  await B.waitForTimeout(500);
  assert.equal((await hook(B)).version, v0, 'no op was made');
  assert.equal((await hook(A)).version, v0);
  assert.equal((await hook(A)).labels[0]!.selections, 1, "A's selection is still there");
  // B makes a label of its own; Ctrl+Z takes back that one only
  await B.keyboard.press('n');
  await waitHook(B, (h) => h.labels.length === 2 && h.pending === 0);
  await waitHook(A, (h) => h.labels.length === 2);
  await B.keyboard.press('Control+z');
  await waitHook(B, (h) => h.labels.length === 1 && h.pending === 0);
  await waitHook(A, (h) => h.labels.length === 1);
  const hA = await hook(A);
  assert.equal(hA.labels[0]!.selections, 1, "A's label and selection stay");
  assert.deepEqual((await hook(B)).labels, hA.labels);
  // and A's own Ctrl+Z still has A's click to undo
  const v1 = hA.version;
  await A.keyboard.press('Control+z');
  await waitHook(A, (h) => h.version > v1 && h.labels[0]?.selections === 0);
  await waitHook(B, (h) => h.version > v1 && h.labels[0]?.selections === 0);
  await A.keyboard.press('Control+Shift+z');
  await waitHook(A, (h) => h.labels[0]?.selections === 1 && h.pending === 0);
  await waitHook(B, (h) => h.labels[0]?.selections === 1 && h.lastOverlay.labelPixels > 200);
});

test("A's cursor and camera frustum are visible in B", { timeout: TEST_TIMEOUT }, async () => {
  const sidA = (await hook(A)).sid!;
  // B steps back (wheel out) and a little to the side, so that A's camera, at the home view, is
  // in B's field of view and its frustum is seen at an angle
  const box = (await B.getByTestId('viewer-canvas').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await B.mouse.move(cx, cy);
  for (let i = 0; i < 5; i++) {
    await B.mouse.wheel(0, 400);
    await B.waitForTimeout(60);
  }
  await B.mouse.down();
  for (let i = 1; i <= 6; i++) await B.mouse.move(cx - i * 12, cy + i * 3);
  await B.mouse.up();
  await B.mouse.move(5, 300);
  await settle(B);
  // A points at the shirt
  await A.mouse.move(shirt.x - 4, shirt.y - 4);
  await A.mouse.move(shirt.x, shirt.y);
  await waitHook(B, (h) => h.presence.some((e) => e.sid === sidA && e.cursor && e.cursor.world));
  await waitHook(B, (h) => h.cursors.some((c) => c.sid === sidA));
  await waitHook(B, (h) => h.frustums.includes(sidA));
  const cursor = B.locator(`[data-testid="presence-cursor"][data-sid="${sidA}"]`);
  await cursor.waitFor({ state: 'visible' });
  assert.match(await cursor.innerText(), /Alice/);
  // the cursor sits on the (labelled, reddish) shirt as B now sees it, not where A sees it
  const c = (await hook(B)).cursors.find((x) => x.sid === sidA)!;
  assert.ok(Math.hypot(box.x + c.x - shirt.x, box.y + c.y - shirt.y) > 10, `B's view differs from A's: the cursor moved (${c.x.toFixed(0)}, ${c.y.toFixed(0)})`);
  const under = await canvasPixel(B, box.x + c.x, box.y + c.y);
  assert.ok(under[0] > under[1] + 30 && under[0] > under[2] + 30, `the cursor is on the shirt in B's frame (pixel ${under})`);
  await settle(B);
  await B.screenshot({ path: path.join(shots, 'collab-02-b-sees-a.png') });
  await A.screenshot({ path: path.join(shots, 'collab-02-a.png') });
});

test("follow puts B's camera on A's until B moves it", { timeout: TEST_TIMEOUT }, async () => {
  const sidA = (await hook(A)).sid!;
  await B.locator(`[data-testid="presence-row"][data-sid="${sidA}"] [data-testid="follow-btn"]`).click();
  await waitHook(B, (h) => h.followed === sidA);
  await waitHook(B, (h) => !h.frustums.includes(sidA));
  await B.getByTestId('following').waitFor();
  // A orbits; B's frames follow
  const box = (await A.getByTestId('viewer-canvas').boundingBox())!;
  const nB = (await hook(B)).framesShown;
  await A.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
  await A.mouse.down();
  for (let i = 1; i <= 8; i++) await A.mouse.move(box.x + box.width * 0.3 + i * 15, box.y + box.height * 0.5);
  await A.mouse.up();
  await A.mouse.move(5, 300);
  await waitForFrame(B, nB);
  await settle(A);
  await settle(B);
  const [sa, sb] = await Promise.all([shot(A, '03-a-orbited'), shot(B, '03-b-follows')]);
  const [ra, rb] = await Promise.all([sharp(sa).removeAlpha().raw().toBuffer(), sharp(sb).removeAlpha().raw().toBuffer()]);
  let diff = 0;
  for (let i = 0; i < ra.length; i++) diff += Math.abs(ra[i]! - rb[i]!);
  assert.ok(diff / ra.length < 6, `B sees what A sees (mean abs diff ${(diff / ra.length).toFixed(2)})`);
  // F stops following (there is nobody else to follow)
  await B.keyboard.press('f');
  await waitHook(B, (h) => h.followed === null);
});

test('sync time shares play, pause and seek', { timeout: TEST_TIMEOUT }, async () => {
  await A.getByTestId('sync-time').click();
  await B.getByTestId('sync-time').click();
  await waitHook(A, (h) => h.syncTime);
  await waitHook(B, (h) => h.syncTime);
  await A.getByTestId('time-slider').fill('0.5');
  await waitHook(B, (h) => h.lastFrame && Math.abs(h.lastFrame.t - 0.5) < 1e-6, 30_000);
  assert.equal(await B.getByTestId('time-readout').innerText(), 't = 0.50');
  await B.getByTestId('time-slider').fill('0.25');
  await waitHook(A, (h) => h.lastFrame && Math.abs(h.lastFrame.t - 0.25) < 1e-6, 30_000);
  // turn it off in B: A's seeks no longer move B
  await B.getByTestId('sync-time').click();
  await A.getByTestId('time-slider').fill('0.75');
  await waitHook(A, (h) => h.lastFrame && Math.abs(h.lastFrame.t - 0.75) < 1e-6, 30_000);
  await B.waitForTimeout(800);
  assert.ok(Math.abs((await hook(B)).lastFrame!.t - 0.25) < 1e-6, 'B stayed at its own time');
  await A.getByTestId('sync-time').click();
});

test('a reload of A brings back the acknowledged state', { timeout: TEST_TIMEOUT }, async () => {
  const before = await hook(A);
  assert.equal(before.pending, 0);
  await A.reload();
  await waitForFrame(A);
  await waitHook(A, (h) => h.version === before.version && h.labels.length === before.labels.length);
  const afterReload = await hook(A);
  assert.deepEqual(afterReload.labels, before.labels);
  await waitHook(A, (h) => h.lastOverlay.labelPixels > 0);
  // B saw A leave and come back with a new presence id
  await waitHook(B, (h) => h.presence.length === 1 && h.presence[0]?.sid === afterReload.sid);
});

test('an edit made while the connection is down is sent when it is back, and applied once', { timeout: TEST_TIMEOUT }, async () => {
  const before = await hook(A);
  assert.equal(before.pending, 0);
  // offline emulation leaves the socket half-open: the viewer notices at socket.io's ping
  // timeout; meanwhile the op goes into the dead connection (and is sent again on no answer)
  await ctxA.setOffline(true);
  try {
    await A.keyboard.press('n'); // a new label, shown at once
    await waitHook(A, (h) => h.labels.length === before.labels.length + 1 && h.pending === 1);
    await A.locator('.status-offline').waitFor({ timeout: 120_000 });
    await A.getByTestId('pending-count').filter({ hasText: /1 unsent/ }).waitFor();
    await A.screenshot({ path: path.join(shots, 'collab-05-a-offline.png') });
    assert.equal((await hook(B)).labels.length, before.labels.length, 'B has not seen it');
  } finally {
    await ctxA.setOffline(false);
  }
  const hA = await waitHook(A, (h) => h.pending === 0 && h.version > before.version, 90_000);
  assert.equal(hA.version, before.version + 1, 'applied exactly once');
  assert.equal(hA.labels.length, before.labels.length + 1);
  const hB = await waitHook(B, (h) => h.version === hA.version);
  assert.deepEqual(hB.labels, hA.labels, 'B shows the same labels');
  assert.equal(await A.getByTestId('pending-count').count(), 0);
});

test('a server killed and restarted brings back the acknowledged state', { timeout: TEST_TIMEOUT }, async () => {
  const before = await hook(A);
  assert.equal(before.pending, 0);
  // SIGKILL: no graceful shutdown; what was acknowledged must already be on disk
  await srv.stop('SIGKILL');
  srv = await startCli(['--data', dataDir]);
  // the viewers reconnect by themselves only to the old port; open the new server's page
  await openScene(A, srv.sceneUrl);
  await waitHook(A, (h) => h.version === before.version);
  assert.deepEqual((await hook(A)).labels, before.labels);
  await waitHook(A, (h) => h.lastOverlay.labelPixels > 0);
  await settle(A);
  await shot(A, '04-a-after-restart');
  assert.deepEqual(pageErrors, [], 'no page errors');
});
