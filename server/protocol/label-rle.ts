// The label channel travels beside each JPEG as lossless run-length data: pairs of
// (label byte, run length as LEB128 varint), row-major over the frame. Label maps are mostly
// long runs (background, solid objects), so this is small and costs microseconds both ways.
// Shared by the server (encode) and the browser (decode).

export function encodeLabelRle(labels: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < labels.length) {
    const v = labels[i]!;
    let j = i + 1;
    while (j < labels.length && labels[j] === v) j++;
    out.push(v);
    let run = j - i;
    while (run >= 0x80) {
      out.push((run & 0x7f) | 0x80);
      run >>>= 7;
    }
    out.push(run);
    i = j;
  }
  return Uint8Array.from(out);
}

export function decodeLabelRle(rle: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let pos = 0;
  let i = 0;
  while (i < rle.length) {
    const v = rle[i++]!;
    let run = 0;
    let shift = 0;
    for (;;) {
      if (i >= rle.length) throw new Error('label RLE: truncated run length');
      const b = rle[i++]!;
      run |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
      if (shift > 28) throw new Error('label RLE: run length too long');
    }
    if (pos + run > length) throw new Error(`label RLE: runs cover more than ${length} pixels`);
    out.fill(v, pos, pos + run);
    pos += run;
  }
  if (pos !== length) throw new Error(`label RLE: runs cover ${pos} of ${length} pixels`);
  return out;
}
