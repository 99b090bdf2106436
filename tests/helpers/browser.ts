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

/**
 * Where the demo figure's red-and-white striped shirt is, in page coordinates, from a screenshot
 * of the viewer canvas (`canvasPng`, CSS pixels at deviceScaleFactor 1): the median of the
 * strongly red pixels in the central region. Throws when too few are found.
 */
export async function findDemoShirt(page: Page, canvasPng: Buffer): Promise<{ x: number; y: number }> {
  const { default: sharp } = await import('sharp');
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  const { data, info } = await sharp(canvasPng).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = Math.floor(info.height * 0.2); y < info.height * 0.65; y++) {
    for (let x = Math.floor(info.width * 0.35); x < info.width * 0.65; x++) {
      const i = (y * info.width + x) * 3;
      if (data[i]! > 150 && data[i + 1]! < 90 && data[i + 2]! < 90) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  if (xs.length <= 50) throw new Error(`the red shirt was not found near the image centre (${xs.length} red pixels)`);
  xs.sort((a, b) => a - b);
  ys.sort((a, b) => a - b);
  return { x: box.x + (xs[xs.length >> 1]! * box.width) / info.width, y: box.y + (ys[ys.length >> 1]! * box.height) / info.height };
}
