// NumPy .npy headers (format version 1.0), for arrays streamed into an .npz (a zip of .npy files,
// what numpy.savez writes and numpy.load reads). Data follows the header as raw little-endian
// values in C order.

export type NpyDescr = '<f4' | '<i4' | '<f8';

/** The .npy header for an array of `descr` and `shape`, padded so the data starts 64-byte aligned. */
export function npyHeader(descr: NpyDescr, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pre = 10; // magic (6) + version (2) + header length (2)
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[pre + i] = dict.charCodeAt(i);
  return out;
}

/** Bytes of a typed array, little-endian (the host is little-endian: x86-64 / arm64). */
export function bytesOf(a: Float32Array | Int32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
