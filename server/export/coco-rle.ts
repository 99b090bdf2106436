// COCO run-length encoding of binary masks, as the COCO format defines it and pycocotools
// (`maskApi.c`) writes it:
// - the mask is read in column-major order (down the first column, then the next: Fortran
//   order of an [H,W] array);
// - counts alternate background / foreground run lengths, starting with background (so the
//   first count is 0 when the top-left pixel is foreground);
// - the "compressed" string form (`segmentation.counts` in JSON): each count from the third on is
//   replaced by its difference with the count two places before; each value is written as
//   little-endian groups of 5 bits, each group as one character `48 + bits`, with 0x20 set on every
//   group but the last; the last group carries the sign in its 0x10 bit (a value is complete when
//   the remaining bits are all zero, or all ones for a negative value, and 0x10 matches).
// The functions here are our implementation from that description; the unit test decodes with a
// second, independently written decoder.

export interface CocoRle {
  /** [height, width], as COCO writes `size`. */
  size: [number, number];
  counts: string;
}

/** Column-major run lengths of a row-major [H,W] binary mask (non-zero = foreground). */
export function rleEncode(mask: Uint8Array, width: number, height: number): number[] {
  if (mask.length !== width * height) throw new Error(`rleEncode: expected ${width * height} pixels for ${width}x${height}, got ${mask.length}`);
  const counts: number[] = [];
  let current = 0; // background first
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let i = x, end = x + width * height; i < end; i += width) {
      const v = mask[i] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

/**
 * One pass over a label map for several labels at once: column-major run lengths of
 * (labelMap == value) for every value in `values`, plus each one's area and bounding box. The
 * export's hot path (one pass per view instead of one per label).
 */
export function rleEncodeLabels(
  labelMap: Uint8Array,
  width: number,
  height: number,
  values: readonly number[],
): Map<number, { counts: number[]; area: number; bbox: [number, number, number, number] }> {
  if (labelMap.length !== width * height) throw new Error(`rleEncodeLabels: expected ${width * height} pixels, got ${labelMap.length}`);
  const n = values.length;
  const slot = new Int16Array(256).fill(-1);
  for (let k = 0; k < n; k++) slot[values[k]!] = k;
  // Pass 1 (the only per-pixel work): the column-major positions where the label changes.
  const total = width * height;
  const toggles = columnMajorChanges(labelMap, width, height, slot);
  // Pass 2, over the changes only: per label, run lengths, area and bbox.
  const counts: number[][] = [];
  for (let k = 0; k < n; k++) counts.push([]);
  const last = new Float64Array(n);
  const area = new Float64Array(n);
  const minX = new Int32Array(n).fill(width);
  const maxX = new Int32Array(n).fill(-1);
  const minY = new Int32Array(n).fill(height);
  const maxY = new Int32Array(n).fill(-1);
  let prev = -1;
  for (let t = 0; t <= toggles.length; t++) {
    const pos = t < toggles.length ? toggles.positions[t]! : total;
    const s = t < toggles.length ? toggles.slots[t]! : -1;
    if (prev >= 0) {
      // prev's foreground run [last, pos) ends
      const from = last[prev]!;
      counts[prev]!.push(pos - from);
      area[prev]! += pos - from;
      const x0 = Math.floor(from / height);
      const x1 = Math.floor((pos - 1) / height);
      if (x0 < minX[prev]!) minX[prev] = x0;
      if (x1 > maxX[prev]!) maxX[prev] = x1;
      const y0 = x1 > x0 ? 0 : from - x0 * height;
      const y1 = x1 > x0 ? height - 1 : pos - 1 - x1 * height;
      if (y0 < minY[prev]!) minY[prev] = y0;
      if (y1 > maxY[prev]!) maxY[prev] = y1;
      last[prev] = pos;
    }
    if (s >= 0) {
      // s's background run ends
      counts[s]!.push(pos - last[s]!);
      last[s] = pos;
    }
    prev = s;
  }
  const out = new Map<number, { counts: number[]; area: number; bbox: [number, number, number, number] }>();
  for (let k = 0; k < n; k++) {
    const c = counts[k]!;
    // The final background run (none when the mask ends with foreground, as pycocotools writes it).
    if (c.length === 0 || last[k]! < total) c.push(total - last[k]!);
    const bbox: [number, number, number, number] = maxX[k]! < 0 ? [0, 0, 0, 0] : [minX[k]!, minY[k]!, maxX[k]! - minX[k]! + 1, maxY[k]! - minY[k]! + 1];
    out.set(values[k]!, { counts: c, area: area[k]!, bbox });
  }
  return out;
}

/** Column-major positions p where slot(label at p) differs from the pixel before (p = 0 counts from -1). */
function columnMajorChanges(labelMap: Uint8Array, width: number, height: number, slot: Int16Array): { positions: Int32Array; slots: Int16Array; length: number } {
  let positions = new Int32Array(4096);
  let slots = new Int16Array(4096);
  let len = 0;
  let prev = -1;
  let pos = 0;
  const total = width * height;
  for (let x = 0; x < width; x++) {
    for (let i = x; i < total; i += width) {
      const s = slot[labelMap[i]!]!;
      if (s !== prev) {
        if (len === positions.length) {
          const p2 = new Int32Array(len * 2);
          p2.set(positions);
          positions = p2;
          const s2 = new Int16Array(len * 2);
          s2.set(slots);
          slots = s2;
        }
        positions[len] = pos;
        slots[len] = s;
        len++;
        prev = s;
      }
      pos++;
    }
  }
  return { positions, slots, length: len };
}

/** Row-major [H,W] 0/1 mask from column-major run lengths; throws when they do not sum to H*W. */
export function rleDecode(counts: readonly number[], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  let pos = 0;
  let v = 0;
  for (const c of counts) {
    if (!Number.isInteger(c) || c < 0) throw new Error(`RLE count ${c} is not a non-negative integer`);
    if (pos + c > width * height) throw new Error(`RLE counts cover more than ${width}x${height} = ${width * height} pixels`);
    if (v) {
      for (let p = pos; p < pos + c; p++) {
        const x = Math.floor(p / height);
        const y = p - x * height;
        out[y * width + x] = 1;
      }
    }
    pos += c;
    v ^= 1;
  }
  if (pos !== width * height) throw new Error(`RLE counts cover ${pos} pixels, the mask has ${width}x${height} = ${width * height}`);
  return out;
}

/** The compressed counts string, as pycocotools' rleToString writes it. */
export function rleToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i]!;
    if (i > 2) x -= counts[i - 2]!;
    // x fits in 32 bits (counts are at most H*W), so >> is the arithmetic shift the C code does.
    for (;;) {
      let c = x & 0x1f;
      x >>= 5;
      const more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
      if (!more) break;
    }
  }
  return s;
}

/** Counts from a compressed string (the inverse of rleToString); throws on a malformed string. */
export function rleFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error('RLE string ends inside a value');
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`RLE string has an invalid character ${JSON.stringify(s[p])} at ${p}`);
      if (k > 6) throw new Error('RLE string has a value longer than 32 bits');
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10 && 5 * k < 32) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2]!;
    counts.push(x);
  }
  return counts;
}

/** A mask's COCO segmentation (compressed RLE). */
export function encodeCocoRle(mask: Uint8Array, width: number, height: number): CocoRle {
  return { size: [height, width], counts: rleToString(rleEncode(mask, width, height)) };
}

/** A COCO segmentation (compressed string or uncompressed counts array) to a row-major 0/1 mask. */
export function decodeCocoRle(seg: { size: [number, number]; counts: string | number[] }): Uint8Array {
  const [h, w] = seg.size;
  const counts = typeof seg.counts === 'string' ? rleFromString(seg.counts) : seg.counts;
  return rleDecode(counts, w, h);
}
