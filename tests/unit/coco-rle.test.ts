// COCO RLE: our encoder checked against a decoder written here from the format's description
// (not sharing code with server/export/coco-rle.ts), strings produced by pycocotools, hand-worked
// cases, and round trips.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCocoRle, encodeCocoRle, rleDecode, rleEncode, rleEncodeLabels, rleFromString, rleToString } from '../../server/export/coco-rle';
import { mulberry32 } from '../../server/util/random';

/**
 * The format, as described by the COCO API documentation and maskApi.h:
 * - an [h, w] mask is flattened in column-major (Fortran) order;
 * - `counts` are the lengths of alternating runs of 0s and 1s, the first run being 0s (length 0
 *   when the first pixel is 1);
 * - the compressed string stores, for counts[i] with i > 2, the difference counts[i] - counts[i-2]
 *   (others as they are); each number is cut into 5-bit pieces, least significant first; every
 *   piece becomes one character of code 48 + piece, plus 32 when more pieces follow; the sign
 *   is in bit 4 (value 16) of the final piece (two's complement: the remaining high bits are all
 *   ones for a negative number).
 * This decoder works with plain arithmetic (no bit shifts) on purpose.
 */
function independentDecode(counts: string, h: number, w: number): Uint8Array {
  const values: number[] = [];
  let i = 0;
  while (i < counts.length) {
    let value = 0;
    let weight = 1;
    let code: number;
    for (;;) {
      code = counts.charCodeAt(i++) - 48;
      const piece = code % 32;
      value += piece * weight;
      weight *= 32;
      if (code < 32) break;
    }
    // The last piece's bit 4 set means negative: subtract 2^(bits used).
    if (code % 32 >= 16) value -= weight;
    values.push(values.length > 2 ? value + values[values.length - 2]! : value);
  }
  const columnMajor: number[] = [];
  values.forEach((len, k) => {
    for (let j = 0; j < len; j++) columnMajor.push(k % 2);
  });
  assert.equal(columnMajor.length, h * w, 'runs cover the mask');
  const rowMajor = new Uint8Array(h * w);
  for (let p = 0; p < columnMajor.length; p++) {
    const x = Math.floor(p / h);
    const y = p % h;
    rowMajor[y * w + x] = columnMajor[p]!;
  }
  return rowMajor;
}

function fromRows(rows: string[]): { mask: Uint8Array; w: number; h: number } {
  const h = rows.length;
  const w = rows[0]!.length;
  const mask = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((ch, x) => (mask[y * w + x] = ch === '1' ? 1 : 0)));
  return { mask, w, h };
}

/** The disc used for the pycocotools vectors: ((y - h/2)^2 + (x - w/3)^2) < (min(h, w)/3)^2. */
function disc(h: number, w: number): Uint8Array {
  const m = new Uint8Array(h * w);
  const r2 = (Math.min(h, w) / 3) ** 2;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = (y - h / 2) ** 2 + (x - w / 3) ** 2 < r2 ? 1 : 0;
  return m;
}

test('a hand-worked case: runs, deltas and the negative-number encoding', () => {
  // rows 1001 / 0010 / 1100; columns top to bottom: 101 001 010 100
  // runs (0s first): 0 1 1 1 2 1 1 1 1 1 2
  // written: 0 1 1 | then differences with two back: 0 1 0 -1 0 0 0 1
  // -1 is the single piece 31 (bit 4 set, nothing left but ones) -> 'O' (48 + 31)
  const { mask, w, h } = fromRows(['1001', '0010', '1100']);
  assert.deepEqual(rleEncode(mask, w, h), [0, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2]);
  assert.equal(rleToString(rleEncode(mask, w, h)), '011010O0001');
  // A large count needs several pieces: 1000 = 8 + 31*32 -> pieces 8 (+32 more), 31 -> ... and
  // since 31 has bit 4 set, a third piece 0 marks the number positive.
  assert.equal(rleToString([1000]), String.fromCharCode(48 + 8 + 32, 48 + 31 + 32, 48));
  assert.deepEqual(rleFromString(rleToString([1000])), [1000]);
});

test('strings as pycocotools 2.0.11 mask.encode wrote them', () => {
  // Produced once with pycocotools (not a dependency of the project) for these masks.
  const cases: { rows?: string[]; disc?: [number, number]; counts: string; area: number; bbox: number[] }[] = [
    { rows: ['1001', '0010', '1100'], counts: '011010O0001', area: 5, bbox: [0, 0, 4, 3] },
    { rows: ['00010', '01101', '10000', '10110', '01010', '01000', '00001'], counts: '224ON10OO020O11O10', area: 12, bbox: [0, 0, 5, 7] },
    { rows: ['00000', '00000', '01100', '01110', '01110', '01100', '00000'], counts: '94301N5', area: 10, bbox: [1, 2, 3, 4] },
    { rows: ['0'], counts: '1', area: 0, bbox: [0, 0, 0, 0] },
    { rows: ['1'], counts: '01', area: 1, bbox: [0, 0, 1, 1] },
    { disc: [40, 33], counts: 'h19m04M2N2N2O0O2O0000000000000001N101N2N2N3LZ=', area: 373, bbox: [1, 10, 21, 21] },
    {
      disc: [128, 96],
      counts: 'i5?]38J4L4L4M2N2M4M2N2N2O0O2N2N2O0O2O0O2O0O2O00000O2O0000000000000000000000000001N1000001N101N101N101N2N2N101N2N2N3L3N2N3L4L4L6H[n3',
      area: 3205,
      bbox: [1, 33, 63, 63],
    },
  ];
  for (const c of cases) {
    const { mask, w, h } = c.rows ? fromRows(c.rows) : { mask: disc(c.disc![0], c.disc![1]), h: c.disc![0], w: c.disc![1] };
    const enc = encodeCocoRle(mask, w, h);
    assert.deepEqual(enc.size, [h, w]);
    assert.equal(enc.counts, c.counts);
    assert.deepEqual(independentDecode(c.counts, h, w), mask);
    const multi = rleEncodeLabels(mask, w, h, [1]).get(1)!;
    assert.equal(multi.area, c.area);
    assert.deepEqual(multi.bbox, c.bbox);
  }
});

test('random masks: independent decode and round trip', () => {
  const rng = { next: mulberry32(8) };
  const shapes: [number, number][] = [[1, 1], [1, 37], [29, 1], [2, 2], [17, 23], [64, 48], [200, 300]];
  for (const [h, w] of shapes) {
    for (const density of [0, 0.02, 0.5, 0.98, 1]) {
      const mask = new Uint8Array(w * h);
      // Blocky noise (runs of several lengths), not just salt and pepper.
      let v = 0;
      for (let i = 0; i < mask.length; i++) {
        if (rng.next() < 0.3) v = rng.next() < density ? 1 : 0;
        mask[i] = density === 0 ? 0 : density === 1 ? 1 : v;
      }
      const s = rleToString(rleEncode(mask, w, h));
      assert.deepEqual(independentDecode(s, h, w), mask, `${h}x${w} density ${density}`);
      assert.deepEqual(decodeCocoRle({ size: [h, w], counts: s }), mask);
      assert.deepEqual(rleDecode(rleFromString(s), w, h), mask);
      assert.deepEqual(decodeCocoRle({ size: [h, w], counts: rleEncode(mask, w, h) }), mask, 'uncompressed counts');
    }
  }
});

test('one pass over a label map equals one encoding per label; area and bbox by hand', () => {
  const rng = { next: mulberry32(3) };
  const w = 57;
  const h = 41;
  const map = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) map[y * w + x] = Math.floor((x / 10 + y / 7 + rng.next() * 0.8) % 5);
  const all = rleEncodeLabels(map, w, h, [1, 2, 3, 4, 7]);
  for (const k of [1, 2, 3, 4, 7]) {
    const m = map.map((v) => (v === k ? 1 : 0));
    const r = all.get(k)!;
    assert.deepEqual(r.counts, rleEncode(m, w, h), `label ${k}`);
    let area = 0;
    let x0 = w;
    let y0 = h;
    let x1 = -1;
    let y1 = -1;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (m[y * w + x]) {
      area++;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
    assert.equal(r.area, area);
    assert.deepEqual(r.bbox, area ? [x0, y0, x1 - x0 + 1, y1 - y0 + 1] : [0, 0, 0, 0]);
  }
  assert.deepEqual(all.get(7)!.counts, [w * h], 'an absent label is one background run');
});

test('malformed strings and counts are refused', () => {
  assert.throws(() => rleFromString('0\u0010'), /invalid character/);
  assert.throws(() => rleFromString('P'), /ends inside a value/); // 'P' = 48 + 32: more pieces promised
  assert.throws(() => rleDecode([3, 2], 2, 2), /cover more than/);
  assert.throws(() => rleDecode([1, 2], 2, 2), /cover 3 pixels/);
});
