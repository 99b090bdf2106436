import sharp from 'sharp';

// libvips' own thread pool would compete with the rasterizer's threads for the same cores.
sharp.concurrency(1);

export const DEFAULT_JPEG_QUALITY = 80;

/** RGB8 [H,W,3] -> JPEG via sharp (libjpeg-turbo). */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality = DEFAULT_JPEG_QUALITY): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality, chromaSubsampling: '4:2:0', optimiseCoding: false }).toBuffer();
}

export function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
