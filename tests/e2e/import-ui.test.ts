// The scene list's "Import scene" panel and the viewer's Bake button in real Debian Chromium
// against a real server on a fresh data dir: import a DGD-shaped model dir, watch the progress
// bar, open the new scene, bake it; a bad path shows the server's error in the panel.
// Screenshots land in test-output/e2e/import-*.png (look at them).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { TEST_OUTPUT } from '../helpers/data';
import { launchChromium, waitForFrame } from '../helpers/browser';
import { makeFakeModel, type FakeModel } from '../helpers/model-dir';
import { startCli, type ChildServer } from '../helpers/server';
import { generateDemoScene } from '../../server/scene/demo';
import { writePly } from '../../server/scene/ply';

const shots = path.join(TEST_OUTPUT, 'e2e');
mkdirSync(shots, { recursive: true });
let dataDir: string;
let srv: ChildServer;
let browser: Browser;
let page: Page;
let model: FakeModel;
let importedId: string | undefined;
const pageErrors: string[] = [];


const shot = (name: string) => page.screenshot({ path: path.join(shots, `import-${name}.png`) });

/** Records, from now on, the progress bar values shown (the bar can come and go quickly). A string:
 * tsx would wrap a nested function in a `__name` helper the page does not have. */
async function watchProgress(): Promise<void> {
  await page.evaluate(`(() => {
    window.__progressSeen = [];
    const sample = () => {
      const bar = document.querySelector('[data-testid="import-progressbar"]');
      if (bar) window.__progressSeen.push(Number(bar.getAttribute('aria-valuenow')));
    };
    new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
  })()`);
}
/** Records whether an element with this test id appears from now on (it may show only briefly). */
async function watchFor(testId: string): Promise<void> {
  await page.evaluate(`(() => {
    const key = '__seen_${testId}';
    window[key] = !!document.querySelector('[data-testid="${testId}"]');
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="${testId}"]')) window[key] = true;
    }).observe(document.body, { subtree: true, childList: true });
  })()`);
}
const seen = (testId: string) => page.evaluate(`!!window['__seen_${testId}']`) as Promise<boolean>;
const progressSeen = () => page.evaluate(() => (window as unknown as { __progressSeen: number[] }).__progressSeen);

before(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'splatsync-e2e-import-'));
  [srv, model] = await Promise.all([startCli(['--data', dataDir]), makeFakeModel()]);
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
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(path.dirname(model.modelDir), { recursive: true, force: true });
});

const tok = () => new URL(srv.sceneUrl).searchParams.get('token')!;
const escapeRe = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('a bad model path shows the server error in the panel and keeps the form filled', async () => {
  // The scene list with the owner link's token (as `serve` printed it): import needs an owner.
  await page.goto(`${srv.url}/?token=${encodeURIComponent(tok())}`);
  await page.getByTestId('scene-list').waitFor();
  const bad = path.join(os.tmpdir(), 'splatsync-no-such-model-dir');
  await page.getByTestId('import-model-dir').fill(bad);
  await page.getByTestId('import-submit').click();
  const err = page.getByTestId('import-error');
  await err.waitFor({ timeout: 30_000 });
  const text = await err.innerText();
  assert.match(text, /Import failed/);
  assert.ok(text.includes(bad), `the error names the path: ${text}`);
  assert.equal(await page.getByTestId('import-model-dir').inputValue(), bad, 'the form keeps its values');
  // the message is selectable text (users copy it)
  const userSelect = await err.evaluate((el) => getComputedStyle(el.querySelector('.import-error-msg')!).userSelect);
  assert.notEqual(userSelect, 'none');
  await shot('01-bad-path');
});

test('importing a model dir shows progress, then the new scene in the list with a link', async () => {
  const before = await page.getByTestId('scene-card').count();
  await page.getByTestId('import-model-dir').fill(model.modelDir);
  await page.getByTestId('import-name').fill('UI import');
  await watchProgress();
  await page.getByTestId('import-submit').click();
  const result = page.getByTestId('import-result');
  await result.waitFor({ timeout: 120_000 });
  assert.equal(await page.getByTestId('import-error').count(), 0, 'no error after a good import');

  const seen = await progressSeen();
  assert.ok(seen.length > 0, 'the progress bar was shown');
  assert.equal(await page.getByTestId('import-progressbar').getAttribute('aria-valuenow'), '100', 'the bar ends at 100%');
  assert.match(await result.innerText(), /imported UI import: \d+ Gaussians, 8 views/);

  const card = page.locator('[data-testid="scene-card"]', { hasText: 'UI import' });
  await card.waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('scene-card').count(), before + 1);
  importedId = (await card.getAttribute('data-scene-id')) ?? undefined;
  assert.match(importedId ?? '', /^ui-import-[0-9a-f]{6}$/);
  const cardText = await card.innerText();
  // (the server's list calls a scene dynamic only once it has keyframes, i.e. after a bake)
  assert.match(cardText, /\b(dynamic|static)\b/);
  assert.match(cardText, /64-d features/);
  assert.match(cardText, /Gaussians/);
  assert.equal(await card.getAttribute('href'), `/s/${importedId}?token=${encodeURIComponent(tok())}`, 'links keep ?token=');
  const open = page.getByTestId('import-open');
  assert.equal(await open.getAttribute('href'), `/s/${importedId}?token=${encodeURIComponent(tok())}`);
  assert.match(await open.innerText(), /Open UI import/);
  // the demo scene is static and has features too: every card says what it has
  assert.match(await page.locator('[data-testid="scene-card"][data-scene-id="demo"]').innerText(), /features/);
  await shot('02-imported');
});

test('the imported scene opens with a Bake button; baking ends in "baked"', async () => {
  assert.ok(importedId, 'the import test ran');
  await page.locator(`[data-testid="scene-card"][data-scene-id="${importedId}"]`).click();
  await page.waitForURL(new RegExp(`/s/${importedId}\\?token=${escapeRe(encodeURIComponent(tok()))}$`));
  await waitForFrame(page);
  const bake = page.getByTestId('bake');
  await bake.waitFor();
  assert.match((await bake.getAttribute('title')) ?? '', /precompute the deformation at every dataset time/i);
  assert.equal(await page.getByTestId('no-features').count(), 0, 'a scene with features has no "no features" badge');

  // unbaked: a time between dataset times shows the interpolation first, then the exact frame
  await watchFor('hud-interpolated');
  const n = await waitForFrame(page);
  await page.getByTestId('time-slider').fill('0.537');
  await page.waitForFunction(() => Math.abs(((window as unknown as { __splatsync: { lastFrame: { t: number } } }).__splatsync.lastFrame.t) - 0.537) < 1e-6, null, { timeout: 30_000 });
  await waitForFrame(page, n + 1);
  await page.waitForTimeout(500);
  assert.ok(await seen('hud-interpolated'), 'the HUD said "interpolated" before the exact frame');
  await shot('03-viewer-unbaked');

  await watchFor('bake-progress');
  await bake.click();
  await page.getByTestId('baked').waitFor({ timeout: 120_000 });
  assert.equal(await page.getByTestId('bake').count(), 0, 'the Bake button is gone');
  assert.ok(await seen('bake-progress'), 'the header showed the bake progress');
  assert.equal(await page.getByTestId('toast').count(), 0, 'no error toast');
  await page.waitForTimeout(500);
  await shot('04-viewer-baked');

  // back to the list (the header link keeps the token): the baked scene is listed as dynamic
  await page.getByRole('link', { name: 'Splatsync' }).click();
  await page.waitForURL(new RegExp(`/\\?token=${escapeRe(encodeURIComponent(tok()))}$`));
  const card = page.locator(`[data-testid="scene-card"][data-scene-id="${importedId}"]`);
  await card.waitFor();
  assert.match(await card.innerText(), /dynamic/);
  assert.deepEqual(pageErrors, []);
});

test('a .ply without semantic features: "no features" in the list and in the viewer header', async () => {
  const plyPath = path.join(path.dirname(model.modelDir), 'plain.ply');
  const demo = generateDemoScene({ scale: 0.03 });
  writeFileSync(plyPath, writePly({ cloud: demo.cloud }));
  await page.getByTestId('import-model-dir').fill(plyPath);
  await page.getByTestId('import-name').fill('Plain ply');
  await page.getByTestId('import-submit').click();
  const result = page.getByTestId('import-result');
  await page.locator('[data-testid="import-result"]', { hasText: 'Plain ply' }).waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('import-warnings').innerText(), /no sem_\* properties/, 'the importer warnings are listed');
  const card = page.locator('[data-testid="scene-card"]', { hasText: 'Plain ply' });
  await card.waitFor();
  assert.match(await card.innerText(), /no features/);
  assert.match(await card.innerText(), /static/);
  await shot('05-imported-plain');

  await result.getByTestId('import-open').click();
  await waitForFrame(page);
  const badge = page.getByTestId('no-features');
  await badge.waitFor();
  assert.match((await badge.getAttribute('title')) ?? '', /no semantic features/i);
  assert.equal(await page.getByTestId('bake').count(), 0, 'a static scene has nothing to bake');
  await badge.click();
  assert.match(await page.getByTestId('no-features-note').innerText(), /selecting by click or text is unavailable/);
  await page.waitForTimeout(300);
  await shot('06-viewer-no-features');
  assert.deepEqual(pageErrors, []);
});
