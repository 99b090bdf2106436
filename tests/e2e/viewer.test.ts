// The viewer in real Debian Chromium against a real server: it shows the scene, dragging and
// scrubbing change the picture. Screenshots land in test-output/e2e/ (look at them).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { demoDataDir, TEST_OUTPUT } from '../helpers/data';
import { launchChromium, waitForFrame } from '../helpers/browser';
import { startCli, type ChildServer } from '../helpers/server';

const shots = path.join(TEST_OUTPUT, 'e2e');
mkdirSync(shots, { recursive: true });
let srv: ChildServer;
let browser: Browser;
let page: Page;

async function canvasShot(name: string): Promise<Buffer> {
  const png = await page.getByTestId('viewer-canvas').screenshot({ path: path.join(shots, `${name}.png`) });
  return png;
}

async function meanAbsDiff(a: Buffer, b: Buffer): Promise<number> {
  const [ra, rb] = await Promise.all([sharp(a).removeAlpha().raw().toBuffer(), sharp(b).removeAlpha().raw().toBuffer()]);
  assert.equal(ra.length, rb.length);
  let s = 0;
  for (let i = 0; i < ra.length; i++) s += Math.abs(ra[i]! - rb[i]!);
  return s / ra.length;
}

before(async () => {
  srv = await startCli(['--data', await demoDataDir()]);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

test('the demo scene page shows the streamed scene', async () => {
  await page.goto(srv.sceneUrl);
  await waitForFrame(page);
  // let the full-resolution frame arrive
  await page.waitForTimeout(800);
  const shot = await canvasShot('01-initial');
  const stats = await sharp(shot).stats();
  assert.ok(stats.channels.slice(0, 3).every((c) => c.stdev > 8), 'the canvas is not blank');
  const hud = await page.getByTestId('hud').innerText();
  assert.match(hud, /fps/i);
  assert.match(hud, /ms/);
  await page.screenshot({ path: path.join(shots, '01-page.png') });
});

test('dragging orbits the camera and changes the image', async () => {
  const before = await canvasShot('02-before-drag');
  const n = await page.evaluate(() => (window as unknown as { __splatsync: { framesShown: number } }).__splatsync.framesShown);
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(cx + i * 18, cy + i * 4);
  await page.mouse.up();
  await waitForFrame(page, n);
  await page.waitForTimeout(800);
  const afterDrag = await canvasShot('03-after-drag');
  const d = await meanAbsDiff(before, afterDrag);
  assert.ok(d > 2, `image changed after the drag (mean abs diff ${d.toFixed(2)})`);
});

test('scrubbing time changes the image', async () => {
  const before = await canvasShot('04-before-scrub');
  const n = await page.evaluate(() => (window as unknown as { __splatsync: { framesShown: number } }).__splatsync.framesShown);
  const slider = page.getByTestId('time-slider');
  await slider.fill('0.5');
  await waitForFrame(page, n);
  await page.waitForFunction(() => Math.abs(((window as unknown as { __splatsync: { lastFrame: { t: number } } }).__splatsync.lastFrame.t) - 0.5) < 1e-6, null, { timeout: 30_000 });
  await page.waitForTimeout(800);
  const afterScrub = await canvasShot('05-after-scrub');
  const d = await meanAbsDiff(before, afterScrub);
  assert.ok(d > 0.5, `image changed after scrubbing (mean abs diff ${d.toFixed(2)})`);
});
