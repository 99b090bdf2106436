// Selection and labels in real Debian Chromium against a real server: a click on the demo
// figure's shirt makes a label whose overlay the frames carry; θ, recolouring (palette only, no
// new frame), scrubbing, undo, hover preview, a click on the background and a box region.
// Screenshots land in test-output/e2e/selection-*.png (look at them).
import { DEFAULT_THETA } from '../../server/protocol/room';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ownDemoDataDir, TEST_OUTPUT } from '../helpers/data';
import { findDemoShirt, launchChromium, waitForFrame } from '../helpers/browser';
import { startCli, type ChildServer } from '../helpers/server';

const shots = path.join(TEST_OUTPUT, 'e2e');
mkdirSync(shots, { recursive: true });
let srv: ChildServer;
let browser: Browser;
let page: Page;
/** The shirt pixel (page CSS coordinates) and its colour before any label. */
let shirt: { x: number; y: number; rgb: [number, number, number] };
const pageErrors: string[] = [];

interface Hook {
  framesShown: number;
  version: number;
  lastFrame: { t: number; width: number; height: number } | null;
  labels: { id: string; name: string; colour: string; visible: boolean; selections: number }[];
  lastOverlay: { labelPixels: number; previewPixels: number };
}

const hook = (): Promise<Hook> => page.evaluate(() => (window as unknown as { __splatsync: Hook }).__splatsync);

async function waitHook(fn: string, timeout = 60_000): Promise<void> {
  // fn: an expression over `h` (the hook), evaluated here on polled copies of the hook: the
  // page's Content-Security-Policy forbids eval there (page.waitForFunction with a string).
  const pred = new Function('h', `return ${fn};`) as (h: Hook) => unknown;
  const end = Date.now() + timeout;
  for (;;) {
    const h = await hook().catch(() => undefined);
    if (h && pred(h)) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${fn}`);
    await page.waitForTimeout(50);
  }
}

async function shot(name: string): Promise<Buffer> {
  return page.getByTestId('viewer-canvas').screenshot({ path: path.join(shots, `selection-${name}.png`) });
}

/** Waits until no new frame has arrived for `quietMs`. */
async function settle(quietMs = 700, timeout = 30_000): Promise<void> {
  const end = Date.now() + timeout;
  let n = (await hook()).framesShown;
  for (;;) {
    await page.waitForTimeout(quietMs);
    const m = (await hook()).framesShown;
    if (m === n || Date.now() > end) return;
    n = m;
  }
}

/** RGB of the canvas at page CSS point (x, y), read from the WebGL drawing buffer. */
async function canvasPixel(x: number, y: number): Promise<[number, number, number]> {
  return page.evaluate(([px, py]) => {
    const c = document.querySelector('[data-testid="viewer-canvas"]') as HTMLCanvasElement;
    const r = c.getBoundingClientRect();
    const u = Math.floor(((px! - r.left) / r.width) * c.width);
    const v = Math.floor(((py! - r.top) / r.height) * c.height);
    const g = document.createElement('canvas');
    g.width = 1;
    g.height = 1;
    const ctx = g.getContext('2d')!;
    ctx.drawImage(c, u, v, 1, 1, 0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0]!, d[1]!, d[2]!] as [number, number, number];
  }, [x, y]);
}

const dist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

before(async () => {
  // A data dir of its own (its own splatsync.db: no labels left by earlier runs), sharing the demo bundle.
  const dataDir = await ownDemoDataDir('splatsync-sel-e2e-');
  srv = await startCli(['--data', dataDir]);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  page.on('pageerror', (e) => {
    pageErrors.push(e.message);
    console.error('page error:', e.message);
  });
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

test('a click on the figure makes a label whose overlay the frames carry', async () => {
  await page.goto(srv.sceneUrl);
  await waitForFrame(page);
  await waitHook('h.labels !== undefined');
  await page.waitForSelector('[data-testid="new-label"]:not([disabled])', { timeout: 60_000 });
  await settle();
  const before = await shot('00-before');

  // Find the shirt: the demo figure stands near the image centre in a red-and-white striped shirt.
  shirt = { ...(await findDemoShirt(page, before)), rgb: [0, 0, 0] };
  shirt.rgb = await canvasPixel(shirt.x, shirt.y);

  await page.getByTestId('new-label').click();
  await waitHook('h.labels.length === 1');
  const label = (await hook()).labels[0]!;
  assert.match(label.name, /^label \d+$/);
  assert.match(label.colour, /^#[0-9a-f]{6}$/);

  await page.mouse.click(shirt.x, shirt.y);
  await page.mouse.move(5, 300); // off the canvas: no hover preview
  await waitHook('h.labels[0] && h.labels[0].selections === 1');
  await waitHook('h.lastOverlay.labelPixels > 0');
  await settle();
  const h = await hook();
  assert.ok(h.lastOverlay.labelPixels > 200, `the label covers part of the frame (${h.lastOverlay.labelPixels} texels)`);
  assert.ok(h.lastOverlay.labelPixels < (h.lastFrame!.width * h.lastFrame!.height) / 3, `the label is an object, not the whole frame (${h.lastOverlay.labelPixels} texels)`);
  const after = await canvasPixel(shirt.x, shirt.y);
  assert.ok(dist(after, shirt.rgb) > 20, `the shirt pixel changed colour with the label (${shirt.rgb} -> ${after})`);
  await shot('01-click');
  await page.screenshot({ path: path.join(shots, 'selection-01-page.png') });

  // the selection is listed under the active label with its θ and author
  const row = page.getByTestId('sel-row');
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /click/);
  assert.match(await row.innerText(), new RegExp(DEFAULT_THETA.toFixed(2).replace(".", "\\.")));
  assert.equal(await page.getByTestId('toast').count(), 0, 'no error toast');
});

test('[ and ] move θ and the overlay follows', async () => {
  const p0 = (await hook()).lastOverlay.labelPixels;
  const theta0 = Number(await page.getByTestId('theta-value').innerText());
  for (let i = 0; i < 10; i++) await page.keyboard.press(']');
  assert.equal(Number(await page.getByTestId('theta-value').innerText()), Math.round((theta0 + 0.2) * 100) / 100);
  await page.getByText(`θ ${(theta0 + 0.2).toFixed(2)}`).first().waitFor({ timeout: 30_000 }); // the op came back
  await waitHook(`h.lastOverlay.labelPixels !== ${p0}`);
  await settle();
  const p1 = (await hook()).lastOverlay.labelPixels;
  assert.ok(p1 < p0, `a higher θ selects less (${p0} -> ${p1} texels)`);
  await shot('02-theta');
});

test('recolouring changes the canvas without a new frame', async () => {
  await settle();
  const colour = '#00e0ff';
  // One synchronous step in the page (no frame can arrive in between): read the pixel, set the
  // colour input as the picker does while open ('input'), read again, then commit ('change').
  // (A string: the test runner's transpiler would add helpers to nested named functions.)
  const r = (await page.evaluate(`(() => {
    const [x, y, c] = ${JSON.stringify([shirt.x, shirt.y, colour])};
    const h = window.__splatsync;
    const frames = h.framesShown;
    const canvas = document.querySelector('[data-testid="viewer-canvas"]');
    function read() {
      const rect = canvas.getBoundingClientRect();
      const g = document.createElement('canvas').getContext('2d');
      g.drawImage(canvas, Math.floor(((x - rect.left) / rect.width) * canvas.width), Math.floor(((y - rect.top) / rect.height) * canvas.height), 1, 1, 0, 0, 1, 1);
      return Array.from(g.getImageData(0, 0, 1, 1).data.slice(0, 3));
    }
    const before = read();
    const input = document.querySelector('[data-testid="label-colour"]');
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, c);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const after = read();
    const framesAfter = h.framesShown;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    return { before, after, frames, framesAfter };
  })()`)) as { before: number[]; after: number[]; frames: number; framesAfter: number };
  assert.equal(r.framesAfter, r.frames, 'no new frame was needed');
  assert.ok(dist(r.before, r.after) > 40, `the labelled pixel changed colour (${r.before} -> ${r.after})`);
  assert.ok(r.after[2]! > r.before[2]! + 40, `it turned towards ${colour} (${r.before} -> ${r.after})`);
  await waitHook(`h.labels[0].colour === '${colour}'`);
  await settle();
  await shot('03-recolour');
});

test('scrubbing time keeps the label on the object', async () => {
  const n = (await hook()).framesShown;
  await page.getByTestId('time-slider').fill('0.5');
  await waitForFrame(page, n);
  await waitHook('Math.abs(h.lastFrame.t - 0.5) < 1e-6');
  await settle();
  const h = await hook();
  assert.ok(Math.abs(h.lastFrame!.t - 0.5) < 1e-6);
  assert.ok(h.lastOverlay.labelPixels > 100, `the overlay is still there at t = 0.5 (${h.lastOverlay.labelPixels} texels)`);
  await shot('04-scrub');
});

test('Ctrl+Z undoes my edits back to before the selection', async () => {
  for (let i = 0; i < 12 && (await hook()).labels[0]!.selections > 0; i++) {
    const v = (await hook()).version;
    await page.keyboard.press('Control+z');
    await waitHook(`h.version > ${v}`, 30_000);
  }
  const h = await hook();
  assert.equal(h.labels.length, 1, 'the label itself stays');
  assert.equal(h.labels[0]!.selections, 0, 'the selection is undone');
  await waitHook('h.lastOverlay.labelPixels === 0');
  await settle();
  await shot('05-undo');
  // redo brings it back
  const v = (await hook()).version;
  await page.keyboard.press('Control+Shift+z');
  await waitHook(`h.version > ${v}`);
  await waitHook('h.labels[0].selections === 1 && h.lastOverlay.labelPixels > 0');
});

test('hovering previews what a click would select', async () => {
  await page.mouse.move(shirt.x - 3, shirt.y - 3);
  await page.mouse.move(shirt.x, shirt.y);
  await waitHook('h.lastOverlay.previewPixels > 0');
  await page.getByTestId('preview-count').filter({ hasText: /preview: [\d,]+ Gaussians/ }).waitFor();
  await settle();
  await shot('06-preview');
  await page.mouse.move(5, 300);
  await waitHook('h.lastOverlay.previewPixels === 0');
});

test('a click on the background shows the server error as a toast', async () => {
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  await page.mouse.click(box.x + 6, box.y + 6); // the top-left corner shows the background
  await page.mouse.move(5, 300);
  const toast = page.getByTestId('toast').first();
  await toast.waitFor({ timeout: 30_000 });
  const text = await toast.innerText();
  assert.match(text, /nothing is rendered/i);
  assert.match(text, /click on an object/i, 'the toast says what to do');
  await page.screenshot({ path: path.join(shots, 'selection-07-error-toast.png') });
  await toast.getByRole('button', { name: 'dismiss' }).click();
  assert.equal((await hook()).labels[0]!.selections, 1, 'the failed click left the selection alone');
});

test('the box tool selects a region on a new label', async () => {
  await page.keyboard.press('n');
  await waitHook('h.labels.length === 2');
  const before = (await hook()).lastOverlay.labelPixels;
  await page.keyboard.press('x');
  assert.equal(await page.getByTestId('tool-box').getAttribute('aria-pressed'), 'true');
  // a box around the figure's legs, below the shirt
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  const x0 = shirt.x - box.width * 0.03;
  const y0 = shirt.y + box.height * 0.08;
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) await page.mouse.move(x0 + (i * box.width * 0.06) / 8, y0 + (i * box.height * 0.12) / 8);
  await page.mouse.up();
  await waitHook('h.labels[1] && h.labels[1].selections === 1');
  await waitHook(`h.lastOverlay.labelPixels > ${before}`);
  await settle();
  await shot('08-box');
  await page.keyboard.press('Escape');
  assert.equal(await page.getByTestId('tool-click').getAttribute('aria-pressed'), 'true');
  assert.equal(await page.getByTestId('toast').count(), 0, 'no error toast');
  assert.deepEqual(pageErrors, [], 'no page errors');
});
