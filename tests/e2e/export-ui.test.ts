// Exports, evaluation, appearance edits and the mask-vs-photo toggle in real Debian Chromium
// against a real server (issue 8): a click makes a label; the Export dialog (E) exports the
// test split's masks with a progress bar and the browser downloads the zip (manifest and a mask
// PNG checked); hiding the label with the appearance edits changes the frame's pixels; the
// downloaded zip uploaded as reference masks gives mIoU 1.000 in the evaluation table; a viewer
// has no Export button; the dataset photo replaces the frame at a view of a scene that has
// photos, and the toggle is disabled with the server's reason on the demo scene (no photos).
// Screenshots land in test-output/e2e/export-ui-*.png (look at them).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import type { Ack, LinkInfo, RoomSnapshot } from '../../server/protocol/index';
import { importModel } from '../../server/import/index';
import { SceneStore } from '../../server/scene/store';
import { demoDataDir, TEST_OUTPUT } from '../helpers/data';
import { findDemoShirt, launchChromium, waitForFrame } from '../helpers/browser';
import { makeFakeModel, type FakeModel } from '../helpers/model-dir';
import { connect, join, startCli, type ChildServer } from '../helpers/server';

const shots = path.join(TEST_OUTPUT, 'e2e');
mkdirSync(shots, { recursive: true });
const VIEWPORT = { width: 1100, height: 760 };
const OWNER = { id: 'uowner0000000001', name: 'Olga' };

let dataDir: string;
let model: FakeModel;
let photoSceneId: string;
let srv: ChildServer;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
/** The labelled pixel (page CSS coordinates). */
let shirt: { x: number; y: number };
let labelName: string;
let zipPath: string;
const pageErrors: string[] = [];

interface Hook {
  framesShown: number;
  version: number;
  pending: number;
  lastFrame: { t: number; width: number; height: number } | null;
  labels: { id: string; name: string; colour: string; visible: boolean; selections: number }[];
  lastOverlay: { labelPixels: number; previewPixels: number };
}

const hook = (): Promise<Hook> => page.evaluate(() => (window as unknown as { __splatsync: Hook }).__splatsync);

/** Polls the hook from here (the page's CSP forbids eval, so no waitForFunction with a string). */
async function waitHook(pred: (h: Hook) => unknown, timeout = 60_000): Promise<Hook> {
  const end = Date.now() + timeout;
  for (;;) {
    const h = await hook().catch(() => undefined);
    if (h && pred(h)) return h;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${pred.toString()}; hook: ${JSON.stringify(h && { version: h.version, pending: h.pending, labels: h.labels, overlay: h.lastOverlay })}`);
    await page.waitForTimeout(100);
  }
}

/** Waits until no new frame has arrived for `quietMs`. */
async function settle(quietMs = 800, timeout = 30_000): Promise<void> {
  const end = Date.now() + timeout;
  let n = (await hook()).framesShown;
  for (;;) {
    await page.waitForTimeout(quietMs);
    const m = (await hook()).framesShown;
    if (m === n || Date.now() > end) return;
    n = m;
  }
}

const canvasShot = (name: string) => page.getByTestId('viewer-canvas').screenshot({ path: path.join(shots, `export-ui-${name}.png`) });
const pageShot = (name: string) => page.screenshot({ path: path.join(shots, `export-ui-${name}.png`) });

/** Mean absolute difference (0..255) of two same-size screenshots inside a box of CSS pixels. */
async function regionDiff(a: Buffer, b: Buffer, box: { x: number; y: number; w: number; h: number }): Promise<number> {
  const [ra, rb] = await Promise.all([a, b].map((x) => sharp(x).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  const w = ra!.info.width;
  let sum = 0;
  let n = 0;
  for (let y = Math.max(0, box.y); y < Math.min(ra!.info.height, box.y + box.h); y++) {
    for (let x = Math.max(0, box.x); x < Math.min(w, box.x + box.w); x++) {
      const i = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) sum += Math.abs(ra!.data[i + c]! - rb!.data[i + c]!);
      n += 3;
    }
  }
  return sum / n;
}

/** Records, from now on, the values the export progress bar shows (it can come and go quickly). */
async function watchProgress(): Promise<void> {
  await page.evaluate(`(() => {
    window.__exportProgress = [];
    const sample = () => {
      const bar = document.querySelector('[data-testid="export-progressbar"]');
      if (bar) window.__exportProgress.push(bar.getAttribute('data-phase') + ':' + bar.getAttribute('aria-valuenow'));
    };
    new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow', 'data-phase'] });
  })()`);
}

before(async () => {
  // a data dir of our own (exports and rooms live in it), with a second scene that has photos
  dataDir = mkdtempSync(path.join(TEST_OUTPUT, 'export-ui-data-'));
  cpSync(path.join(await demoDataDir(), 'scenes'), path.join(dataDir, 'scenes'), { recursive: true });
  model = await makeFakeModel();
  photoSceneId = (await importModel(new SceneStore(dataDir), { modelDir: model.modelDir, name: 'Photos' })).sceneId;
  srv = await startCli(['--data', dataDir]);
  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
  // a chosen local identity: no "what name should others see" card over the stage
  await ctx.addInitScript((u) => window.localStorage.setItem('splatsync.user', JSON.stringify(u)), OWNER);
  page = await ctx.newPage();
  page.on('pageerror', (e) => {
    pageErrors.push(e.message);
    console.error('page error:', e.message);
  });
});

after(async () => {
  await ctx?.close();
  await browser?.close();
  if (srv) {
    const stopped = await Promise.race([srv.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 15_000))]);
    if (!stopped) await srv.stop('SIGKILL');
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (model) rmSync(path.dirname(model.modelDir), { recursive: true, force: true });
});

test('a click makes a label to export', async () => {
  await page.goto(srv.sceneUrl);
  await waitForFrame(page);
  await page.waitForSelector('[data-testid="new-label"]:not([disabled])', { timeout: 60_000 });
  await settle();
  const before = await canvasShot('00-before');
  // the demo figure's red-and-white shirt, near the image centre
  shirt = await findDemoShirt(page, before);
  await page.mouse.click(shirt.x, shirt.y);
  await page.mouse.move(5, 300);
  const h = await waitHook((x) => x.labels.length === 1 && x.labels[0]!.selections === 1 && x.pending === 0 && x.lastOverlay.labelPixels > 200);
  labelName = h.labels[0]!.name;
  await settle();
});

test('the Export dialog exports the test split with progress, and the browser downloads the zip', async () => {
  const open = page.getByTestId('export-open');
  assert.equal(await open.count(), 1, 'the owner has an Export button');
  await page.keyboard.press('e');
  const dialog = page.getByTestId('export-dialog');
  await dialog.waitFor();

  // nothing to export without a format: the button says why
  for (const f of ['png', 'davis', 'coco']) await page.getByTestId(`export-format-${f}`).uncheck();
  assert.ok(await page.getByTestId('export-start').isDisabled());
  assert.match(await page.getByTestId('export-blocker').innerText(), /at least one format/);
  for (const f of ['png', 'davis', 'coco']) await page.getByTestId(`export-format-${f}`).check();

  await page.getByTestId('export-split').selectOption('test');
  const testViews = await page.locator('[data-testid="view-select"] optgroup[label="test"] option').count();
  assert.ok(testViews > 0, 'the demo scene has test views');
  await pageShot('01-dialog');

  await watchProgress();
  const download = page.waitForEvent('download', { timeout: 180_000 });
  await page.getByTestId('export-start').click();
  const dl = await download;
  await page.getByTestId('export-result').waitFor({ timeout: 60_000 });
  await pageShot('02-exported');
  const seen = (await page.evaluate('window.__exportProgress')) as string[];
  const running = seen.filter((s) => s.startsWith('running:')).map((s) => Number(s.split(':')[1]));
  assert.ok(running.some((v) => v > 0 && v < 100), `the bar showed the server's progress (${seen.join(' ')})`);
  assert.ok(seen.some((s) => s.startsWith('downloading:')), 'then the download');
  assert.equal(await page.getByTestId('export-progressbar').getAttribute('aria-valuenow'), '100');
  assert.match(await page.getByTestId('export-result').innerText(), /exported masks of room main/);

  const name = dl.suggestedFilename();
  assert.match(name, /^demo-main-masks-v\d+-1labels\.zip$/);
  zipPath = path.join(shots, 'export-ui-masks.zip');
  await dl.saveAs(zipPath);
  const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
  const manifest = JSON.parse(Buffer.from(files['manifest.json']!).toString()) as {
    room: { id: string; version: number };
    formats: string[];
    labels: { name: string; file: string }[];
    views: { name: string; split: string; camera: { width: number; height: number } }[];
  };
  assert.equal(manifest.room.id, 'main');
  assert.deepEqual(manifest.labels.map((l) => l.name), [labelName]);
  assert.equal(manifest.views.length, testViews, 'every test view');
  assert.ok(manifest.views.every((v) => v.split === 'test'));
  assert.ok(files['coco.json'], 'COCO');
  assert.ok(Object.keys(files).some((f) => /^davis\/.+\.png$/.test(f)), 'DAVIS');
  // a per-label mask of the first view: 8-bit gray at the view's size, with the label in it
  const v = manifest.views[0]!;
  const maskFile = `png/${v.name}/${manifest.labels[0]!.file}.png`;
  assert.ok(files[maskFile], `${maskFile} in ${Object.keys(files).slice(0, 8).join(', ')}…`);
  const mask = await sharp(Buffer.from(files[maskFile]!)).raw().toBuffer({ resolveWithObject: true });
  assert.equal(mask.info.width, v.camera.width);
  assert.equal(mask.info.height, v.camera.height);
  const on = mask.data.filter((x) => x === 255).length;
  assert.ok(on > 50 && on < mask.data.length / mask.info.channels / 2, `the mask holds an object (${on} pixels)`);
  assert.ok(mask.data.every((x) => x === 0 || x === 255), 'binary');

  // an object as .ply: the selected label, keeping its semantic features
  await page.getByTestId('export-kind-ply').check();
  await page.getByTestId('export-ply-label').check();
  await page.getByTestId('export-features').check();
  const plyDownload = page.waitForEvent('download', { timeout: 180_000 });
  await page.getByTestId('export-start').click();
  const pdl = await plyDownload;
  await page.locator('[data-testid="export-result"]', { hasText: /Gaussians as \.ply/ }).waitFor({ timeout: 60_000 });
  const plyZip = unzipSync(new Uint8Array(readFileSync(await pdl.path())));
  const plyName = Object.keys(plyZip).find((f) => f.endsWith('.ply'));
  assert.ok(plyName, Object.keys(plyZip).join(', '));
  const header = Buffer.from(plyZip[plyName]!.subarray(0, 4000)).toString('latin1');
  assert.match(header, /^ply\n/);
  assert.match(header, /property \w+ sem_0\n/, 'sem_* kept');
  assert.ok(Object.keys(plyZip).some((f) => /keyframes|deform/.test(f)), 'the motion comes along');
  await pageShot('02b-ply');

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
});

test('hiding the label with the appearance edits changes the frame for the room', async () => {
  await settle();
  const before = await canvasShot('03-before-hide');
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  const region = { x: Math.round(shirt.x - box.x - 40), y: Math.round(shirt.y - box.y - 40), w: 80, h: 80 };
  const v = (await hook()).version;
  const appearance = page.getByTestId('appearance');
  await appearance.waitFor();
  await appearance.getByTestId('edit-hide').click();
  await waitHook((h) => h.version > v && h.pending === 0);
  assert.equal(await appearance.getByTestId('edit-hide').getAttribute('aria-pressed'), 'true');
  await page.getByTestId('edit-badge').waitFor();
  assert.match((await page.getByTestId('edit-badge').getAttribute('title')) ?? '', /hidden/);
  await page.waitForTimeout(300);
  await settle();
  const hidden = await canvasShot('04-hidden');
  const d = await regionDiff(before, hidden, region);
  assert.ok(d > 15, `the object's pixels changed when it was hidden (mean abs diff ${d.toFixed(1)})`);
  await pageShot('05-hidden-page');

  // opacity: the slider sends throttled edits; the value is kept
  await appearance.getByTestId('edit-hide').click();
  await waitHook((h) => h.pending === 0);
  await appearance.getByTestId('edit-opacity').fill('0.3');
  await page.waitForTimeout(400);
  await waitHook((h) => h.pending === 0);
  assert.equal(await appearance.getByTestId('edit-opacity-value').innerText(), '0.30');
  assert.match((await page.getByTestId('edit-badge').getAttribute('title')) ?? '', /opacity 0\.30/);
  await settle();
  const faded = await canvasShot('06-opacity');
  const d2 = await regionDiff(before, faded, region);
  assert.ok(d2 > 3, `a faded object looks different (mean abs diff ${d2.toFixed(1)})`);
  // hide it again: evaluation below must not care (edits never change masks)
  await appearance.getByTestId('edit-hide').click();
  await waitHook((h) => h.pending === 0);
  assert.equal(await page.getByTestId('toast').count(), 0, 'no error toast');
});

test('the downloaded zip uploaded as reference masks evaluates to mIoU 1.000', async () => {
  await page.getByTestId('export-open').click();
  await page.getByTestId('export-dialog').waitFor();
  await page.getByTestId('eval-tab').click();
  await page.getByTestId('eval-file').setInputFiles(zipPath);
  const report = page.getByTestId('eval-report');
  await report.waitFor({ timeout: 180_000 });
  assert.match(await page.getByTestId('eval-miou').innerText(), /mIoU 1\.000/);
  const rows = page.getByTestId('eval-label-row');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), new RegExp(`${labelName}\\s+1\\.000`));
  const perFrame = page.getByTestId('eval-per-frame');
  assert.ok((await perFrame.locator('tbody tr').count()) > 0, 'a row per frame');
  assert.equal(await page.getByTestId('eval-error').count(), 0);
  // only the test split was uploaded: the train views have no reference, said once, not per view
  const problems = await page.getByTestId('eval-problems').innerText();
  assert.match(problems, /no reference for frame/);
  assert.ok((await page.getByTestId('eval-problem').count()) < 5, 'problems are grouped');
  await pageShot('07-eval');
  await page.getByTestId('eval-per-frame').screenshot({ path: path.join(shots, 'export-ui-08-eval-frames.png') });

  // a file that is not a zip: refused before the upload, with what to do
  await page.getByTestId('eval-file').setInputFiles({ name: 'masks.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  const err = page.getByTestId('eval-error');
  await err.waitFor();
  assert.match(await err.innerText(), /Not a \.zip file/);
  assert.match(await err.innerText(), /Zip the reference masks/);
  await page.keyboard.press('Escape');
});

test('the demo scene has no photos: the toggle is disabled with the server\'s reason', async () => {
  const toggle = page.getByTestId('photo-toggle');
  assert.ok(await toggle.isDisabled(), 'disabled away from a dataset view');
  await page.getByTestId('view-select').selectOption({ index: 1 });
  await page.locator('[data-testid="photo-toggle"][data-status="missing"]').waitFor({ timeout: 30_000 });
  assert.ok(await toggle.isDisabled());
  assert.match((await toggle.getAttribute('title')) ?? '', /no source photo/);
});

test('at a view of a scene with photos, the toggle shows the dataset photo under the masks', async () => {
  await page.goto(`${srv.url}/s/${photoSceneId}?token=${encodeURIComponent(new URL(srv.sceneUrl).searchParams.get('token')!)}`);
  await waitForFrame(page);
  await page.waitForSelector('[data-testid="new-label"]:not([disabled])', { timeout: 60_000 });
  await page.getByTestId('view-select').selectOption({ index: 1 });
  const toggle = page.getByTestId('photo-toggle');
  await page.locator('[data-testid="photo-toggle"][data-status="ok"]').waitFor({ timeout: 30_000 });
  await settle();
  const rect = (await page.locator('.view-rect').boundingBox())!;
  // a label (a box over the middle of the view), to see its mask over the photo
  await page.keyboard.press('x');
  const [x0, y0, x1, y1] = [rect.x + rect.width * 0.3, rect.y + rect.height * 0.3, rect.x + rect.width * 0.7, rect.y + rect.height * 0.8];
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) await page.mouse.move(x0 + ((x1 - x0) * i) / 8, y0 + ((y1 - y0) * i) / 8);
  await page.mouse.up();
  await page.keyboard.press('Escape');
  await waitHook((h) => h.labels.length === 1 && h.labels[0]!.selections === 1 && h.lastOverlay.labelPixels > 100);
  await settle();
  /** Pixels inside the view's rectangle: how many show the photo's plain colour, how many not. */
  const count = async (name: string) => {
    const shot = await canvasShot(name);
    const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
    const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let photo = 0;
    let other = 0;
    for (let y = Math.ceil(rect.y - box.y + 3); y < rect.y - box.y + rect.height - 3; y++) {
      for (let x = Math.ceil(rect.x - box.x + 3); x < rect.x - box.x + rect.width - 3; x++) {
        const i = (y * info.width + x) * 3;
        // makeFakeModel's photos are plain (200, 100, 50)
        if (Math.hypot(data[i]! - 200, data[i + 1]! - 100, data[i + 2]! - 50) < 12) photo++;
        else other++;
      }
    }
    return { photo, other, all: photo + other };
  };
  const frame = await count('09-frame-label');
  assert.ok(frame.photo < frame.all * 0.02, `the rendered frame is not the photo (${JSON.stringify(frame)})`);
  await toggle.click();
  await page.locator('[data-testid="photo-toggle"][data-shown="true"]').waitFor();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  // the label's mask is drawn over the photo (this close-up view is all one object: the box
  // selected all of it) ...
  const masked = await count('10-photo-mask');
  await pageShot('11-photo-page');
  assert.ok(masked.other > masked.all * 0.5, `the mask overlays the photo (${JSON.stringify(masked)})`);
  // ... and without the overlay (the label's eye) the photo fills the view's rectangle
  await page.getByTestId('label-eye').click();
  await page.waitForTimeout(300);
  const photo = await count('11-photo');
  assert.ok(photo.photo > photo.all * 0.95, `the photo is on the canvas (${JSON.stringify(photo)})`);
  await page.getByTestId('label-eye').click();
  // P toggles back to the frame
  await page.getByTestId('viewer-canvas').hover();
  await page.keyboard.press('p');
  await page.locator('[data-testid="photo-toggle"][data-shown="false"]').waitFor();
  const back = await count('12-frame-again');
  assert.ok(back.photo < back.all * 0.02, `the frame is back (${JSON.stringify(back)})`);
  assert.deepEqual(pageErrors, [], 'no page errors');
});

test('a viewer has no Export button', async () => {
  // a viewer link for room main, made by the owner over the socket
  const s = await connect(srv.url);
  try {
    assert.ok((await join(s, 'demo')).ok);
    const r: Ack<RoomSnapshot> = await s.emitWithAck('room:join', { room: 'main' });
    assert.ok(r.ok);
    const link: Ack<LinkInfo> = await s.emitWithAck('link:create', { role: 'viewer', expiresInMs: null });
    assert.ok(link.ok, JSON.stringify(link));
    const vctx = await browser.newContext({ viewport: VIEWPORT });
    await vctx.addInitScript(() => window.localStorage.setItem('splatsync.user', JSON.stringify({ id: 'uviewer000000001', name: 'Vic' })));
    const vp = await vctx.newPage();
    await vp.goto(`${srv.url}${link.data.path}`);
    await waitForFrame(vp);
    // the room join says the role
    for (let i = 0; i < 300; i++) {
      const role = await vp.evaluate(() => (window as unknown as { __splatsync?: { role?: string | null } }).__splatsync?.role ?? null);
      if (role) {
        assert.equal(role, 'viewer');
        break;
      }
      await vp.waitForTimeout(100);
    }
    assert.equal(await vp.getByTestId('export-open').count(), 0, 'no Export button for a viewer');
    await vp.keyboard.press('e');
    await vp.waitForTimeout(300);
    assert.equal(await vp.getByTestId('export-dialog').count(), 0, 'E does nothing for a viewer');
    await vctx.close();
  } finally {
    s.close();
  }
});
