// Our PNG writer and reader (server/export/png.ts): indexed (DAVIS) masks keep their exact
// palette and indices, read back by our decoder and by sharp (libvips/libspng); PNGs that sharp
// writes (gray, 1-bit palette, RGB(A), 16-bit, Adam7 interlaced) decode to the same samples;
// corrupt files are refused with a reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodePng, encodeGrayPng, encodeIndexedPng, encodeLabelMaskPng, pngToBinaryMask, pngToIndices, PngError } from '../../server/export/png';
import { mulberry32 } from '../../server/util/random';

function labelMap(w: number, h: number, labels: number, seed: number): Uint8Array {
  const rnd = mulberry32(seed);
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    // Blobs and stripes, with identical consecutive rows in places (the Up-filter path).
    const v = Math.floor(((x >> 3) + (y >> 4) * 3 + (rnd() < 0.05 ? 1 : 0)) % (labels + 1));
    m[y * w + x] = y % 16 < 8 ? v : m[(y - 1) * w + x] ?? v;
  }
  return m;
}

test('indexed PNG: palette and indices read back exactly (ours and sharp)', async () => {
  const w = 123;
  const h = 77;
  const idx = labelMap(w, h, 5, 1);
  // Two labels share a colour: only the indices tell them apart.
  const palette = Uint8Array.from([0, 0, 0, 230, 25, 75, 60, 180, 75, 230, 25, 75, 0, 130, 200, 245, 130, 48]);
  const png = encodeIndexedPng(idx, w, h, palette);
  const d = decodePng(png);
  assert.equal(d.colorType, 3);
  assert.equal(d.bitDepth, 8);
  assert.deepEqual(d.palette, palette);
  assert.deepEqual(pngToIndices(d), idx);

  const meta = await sharp(png).metadata();
  assert.equal(meta.width, w);
  assert.equal(meta.height, h);
  assert.equal(meta.isPalette, true);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) assert.equal(data[i * 3 + c], palette[idx[i]! * 3 + c], `pixel ${i}`);
  }
});

test('binary gray PNG: 0/255 read back by sharp and as a mask', async () => {
  const w = 64;
  const h = 50;
  const mask = labelMap(w, h, 1, 2).map((v) => (v ? 255 : 0));
  const png = encodeGrayPng(mask, w, h);
  assert.equal((await sharp(png).metadata()).channels, 1);
  const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 1);
  assert.deepEqual(new Uint8Array(data), mask);
  assert.deepEqual(pngToBinaryMask(decodePng(png)), mask.map((v) => (v ? 1 : 0)));
});

test('PNGs written by sharp decode to the same samples', async () => {
  const w = 37;
  const h = 29;
  const rnd = mulberry32(5);
  const rgba = new Uint8Array(w * h * 4).map(() => Math.floor(rnd() * 256));
  const gray = labelMap(w, h, 3, 3).map((v) => v * 60);
  const cases: { name: string; png: Buffer; channels: number; raw: Uint8Array }[] = [];
  for (const progressive of [false, true]) {
    const tag = progressive ? ' interlaced' : '';
    cases.push({ name: `gray${tag}`, png: await sharp(gray, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png({ progressive }).toBuffer(), channels: 1, raw: gray });
    const rgb = rgba.filter((_, i) => i % 4 !== 3);
    cases.push({ name: `rgb${tag}`, png: await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png({ progressive }).toBuffer(), channels: 3, raw: rgb });
    cases.push({ name: `rgba${tag}`, png: await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png({ progressive }).toBuffer(), channels: 4, raw: rgba });
  }
  for (const c of cases) {
    assert.equal(c.png[28], c.name.endsWith('interlaced') ? 1 : 0, `${c.name}: IHDR interlace method`);
    const d = decodePng(c.png);
    assert.equal(d.channels, c.channels, c.name);
    assert.deepEqual(d.data, c.raw, c.name);
  }

  // 16-bit gray: samples are 16-bit; the mask reading is non-zero = foreground.
  const g16 = await sharp(gray, { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  const d16 = decodePng(g16);
  assert.equal(d16.bitDepth, 16);
  assert.deepEqual(pngToBinaryMask(d16), gray.map((v) => (v ? 1 : 0)));

  // A 1-bit palette image (sharp's quantizer): indices 0/1 unpacked from the bits.
  const bw = labelMap(w, h, 1, 4).map((v) => (v ? 255 : 0));
  const p1 = await sharp(bw, { raw: { width: w, height: h, channels: 1 } }).png({ palette: true, colours: 2 }).toBuffer();
  const d1 = decodePng(p1);
  assert.equal(d1.colorType, 3);
  assert.equal(d1.bitDepth, 1);
  const { data: expanded } = await sharp(p1).raw().toBuffer({ resolveWithObject: true });
  const idx = pngToIndices(d1);
  const chans = expanded.length / (w * h);
  for (let i = 0; i < w * h; i++) assert.equal(expanded[i * chans], d1.palette![idx[i]! * 3], `pixel ${i}`);
});

test('corrupt, truncated and foreign files are refused with a reason', () => {
  const w = 20;
  const h = 10;
  const png = encodeIndexedPng(labelMap(w, h, 2, 6), w, h, Uint8Array.from([0, 0, 0, 255, 0, 0, 0, 255, 0]));
  const flip = png.slice();
  flip[45] = flip[45]! ^ 0xff; // inside PLTE or IDAT: CRC mismatch
  assert.throws(() => decodePng(flip), (e: Error) => e instanceof PngError && /CRC mismatch/.test(e.message));
  assert.throws(() => decodePng(png.subarray(0, png.length - 20)), /truncated/);
  assert.throws(() => decodePng(new TextEncoder().encode('GIF89a......')), /not a PNG/);
  assert.throws(() => decodePng(png.subarray(0, 8)), /no IHDR/);
  assert.throws(() => encodeIndexedPng(Uint8Array.from([0, 3]), 2, 1, Uint8Array.from([0, 0, 0, 1, 1, 1])), /index 3/);
  assert.throws(() => encodeGrayPng(new Uint8Array(5), 2, 2), /expected 4 pixels/);
  assert.throws(() => pngToIndices({ width: 1, height: 1, colorType: 2, bitDepth: 8, channels: 3, palette: null, data: new Uint8Array(3) }), /expected an indexed/);
});

test('a label\'s mask straight from the label map equals the gray PNG of the mask', () => {
  const w = 90;
  const h = 61;
  const idx = labelMap(w, h, 4, 9);
  for (const k of [0, 1, 3, 9]) {
    const mask = idx.map((v) => (v === k ? 255 : 0));
    const a = decodePng(encodeLabelMaskPng(idx, w, h, k));
    assert.deepEqual(a.data, mask, `label ${k}`);
    assert.deepEqual(a.data, decodePng(encodeGrayPng(mask, w, h)).data);
  }
});
