// Debian's chromium driven by playwright-core (no browser download). WebGL runs on SwiftShader.
import { execSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];
// Playwright gives every launch a new empty profile itself (a --user-data-dir flag is refused).

export async function launchChromium(): Promise<Browser> {
  const executablePath = execSync('which chromium').toString().trim();
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** Resolves once the viewer has displayed more frames than `after`. */
export async function waitForFrame(page: Page, after = 0, timeout = 60_000): Promise<number> {
  await page.waitForFunction((n) => ((window as unknown as { __splatsync?: { framesShown: number } }).__splatsync?.framesShown ?? 0) > n, after, { timeout });
  return page.evaluate(() => (window as unknown as { __splatsync: { framesShown: number } }).__splatsync.framesShown);
}
