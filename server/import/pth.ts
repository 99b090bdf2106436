// PyTorch checkpoints (`torch.save(model.state_dict(), path)`, zip serialization) in TypeScript.
//
// Layout of the zip (stored, uncompressed entries, all under one top-level folder whose name
// varies: `archive/`, `deform/`, ...):
//   <archive>/data.pkl       the pickled OrderedDict (see pickle.ts)
//   <archive>/data/<key>     raw bytes of each storage, named by the persistent id's key
//   <archive>/byteorder      'little' | 'big' (absent in files from older versions: little)
//   <archive>/version, <archive>/.data/...   ignored
// A tensor is (storage, storage offset, size, stride) in elements of the storage's dtype.
// readStateDict honours offsets and strides and returns every tensor as contiguous row-major
// float32, whatever its stored dtype. Legacy (pre-1.6, non-zip) files are refused.
import { unzipSync, type Unzipped } from 'fflate';
import { halfToFloat } from '../scene/half';
import { PickleError, isTensorRef, unpickleStateDict, type TensorRef } from './pickle';

export type TensorDType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface Tensor {
  /** dtype as stored in the file; `data` is always float32. */
  dtype: TensorDType;
  shape: number[];
  /** Contiguous, row-major, converted to float32. */
  data: Float32Array;
  /** Where it was saved from ('cpu', 'cuda:0', ...): informational. */
  device: string;
}

export class PthError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly key?: string,
  ) {
    super(message);
    this.name = 'PthError';
  }
}

const STORAGE_DTYPES: Readonly<Record<string, { dtype: TensorDType; size: number }>> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
};

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/**
 * Reads a state_dict saved by torch.save (zip format). `fileName` is used in error messages.
 * Throws PthError naming the file (and the key, where one is concerned).
 */
export function readStateDict(bytes: Uint8Array, fileName: string): Map<string, Tensor> {
  const fail = (msg: string, key?: string): never => {
    throw new PthError(`${fileName}: ${key !== undefined ? `${key}: ` : ''}${msg}`, fileName, key);
  };

  if (bytes.length < 4 || !ZIP_MAGIC.every((b, i) => bytes[i] === b)) {
    // The legacy format is a bare pickle stream: protocol 2 (0x80 0x02) and then the magic
    // number 0x1950a86a20f9469cfc6c pickled as a LONG1.
    if (bytes[0] === 0x80 || isLegacyMagic(bytes)) {
      fail('legacy PyTorch serialization is not supported: re-save with torch.save(..., _use_new_zipfile_serialization=True)');
    }
    fail(`not a PyTorch checkpoint: expected a zip archive (PK\\x03\\x04), found bytes ${hex(bytes.subarray(0, 4))}`);
  }

  let files: Unzipped;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    return fail(`corrupt or truncated zip archive (${e instanceof Error ? e.message : String(e)})`);
  }

  const pklName = Object.keys(files).find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? Object.keys(files).find((n) => n.endsWith('data.pkl'));
  if (pklName === undefined) return fail('no <archive>/data.pkl in the zip: not a torch.save checkpoint');
  const prefix = pklName.slice(0, pklName.length - 'data.pkl'.length);

  const order = files[`${prefix}byteorder`];
  let little = true;
  if (order) {
    const s = new TextDecoder().decode(order).trim();
    if (s !== 'little' && s !== 'big') fail(`byteorder file says '${s.slice(0, 20)}', expected 'little' or 'big'`);
    little = s === 'little';
  }

  let root: unknown;
  try {
    root = unpickleStateDict(files[pklName]!);
  } catch (e) {
    if (e instanceof PickleError) return fail(`${pklName}: ${e.message}`);
    throw e;
  }
  if (!(root instanceof Map)) fail(`${pklName} does not hold a state_dict (an OrderedDict of tensors)`);

  const out = new Map<string, Tensor>();
  for (const [k, v] of root as Map<unknown, unknown>) {
    if (typeof k !== 'string') continue;
    if (!isTensorRef(v)) continue; // non-tensor entries (extra state) are not weights
    out.set(k, materialize(v, k, files, prefix, little, fail));
  }
  return out;
}

function materialize(
  ref: TensorRef,
  key: string,
  files: Unzipped,
  prefix: string,
  little: boolean,
  fail: (msg: string, key?: string) => never,
): Tensor {
  const st = ref.storage;
  const info = STORAGE_DTYPES[st.typeName];
  if (!info) return fail(`unsupported dtype: torch.${st.typeName}`, key);
  const entry = `${prefix}data/${st.key}`;
  const raw = files[entry];
  if (!raw) return fail(`storage ${entry} is missing from the zip`, key);
  if (raw.length < st.numel * info.size) {
    fail(`storage ${entry} has ${raw.length} bytes but its ${st.typeName} holds ${st.numel} elements (${st.numel * info.size} bytes)`, key);
  }
  const numel = ref.size.reduce((a, b) => a * b, 1);
  // Highest element index the view touches.
  let last = ref.storageOffset;
  for (let d = 0; d < ref.size.length; d++) last += (ref.size[d]! - 1) * ref.stride[d]!;
  if (numel > 0 && last >= st.numel) {
    fail(
      `storage ${entry} is too small: shape [${ref.size.join(', ')}] with stride [${ref.stride.join(', ')}] at offset ${ref.storageOffset} ` +
        `reaches element ${last}, the storage holds ${st.numel}`,
      key,
    );
  }

  const data = new Float32Array(numel);
  if (numel === 0) return { dtype: info.dtype, shape: [...ref.size], data, device: st.location };
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const get = elementReader(info.dtype, view, little);

  // Contiguous little-endian float32: one copy.
  if (info.dtype === 'float32' && little && isContiguous(ref.size, ref.stride)) {
    const start = raw.byteOffset + ref.storageOffset * 4;
    if (start % 4 === 0) data.set(new Float32Array(raw.buffer, start, numel));
    else for (let i = 0; i < numel; i++) data[i] = view.getFloat32((ref.storageOffset + i) * 4, true);
    return { dtype: info.dtype, shape: [...ref.size], data, device: st.location };
  }
  if (info.dtype === 'float16' && little && isContiguous(ref.size, ref.stride) && (raw.byteOffset + ref.storageOffset * 2) % 2 === 0) {
    halfToFloat(new Uint16Array(raw.buffer, raw.byteOffset + ref.storageOffset * 2, numel), data);
    return { dtype: info.dtype, shape: [...ref.size], data, device: st.location };
  }

  // General strided gather, row-major over `size`.
  const rank = ref.size.length;
  const idx = new Array<number>(rank).fill(0);
  let src = ref.storageOffset;
  for (let i = 0; i < numel; i++) {
    data[i] = get(src);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += ref.stride[d]!;
      if (idx[d]! < ref.size[d]!) break;
      src -= ref.stride[d]! * ref.size[d]!;
      idx[d] = 0;
    }
  }
  return { dtype: info.dtype, shape: [...ref.size], data, device: st.location };
}

function isContiguous(size: number[], stride: number[]): boolean {
  let expect = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expect) return false;
    expect *= size[d]!;
  }
  return true;
}

function elementReader(dtype: TensorDType, v: DataView, le: boolean): (i: number) => number {
  const half = halfToFloat(new Uint16Array([0]));
  switch (dtype) {
    case 'float32': return (i) => v.getFloat32(i * 4, le);
    case 'float64': return (i) => v.getFloat64(i * 8, le);
    case 'float16': {
      const one = new Uint16Array(1);
      return (i) => {
        one[0] = v.getUint16(i * 2, le);
        return halfToFloat(one, half)[0]!;
      };
    }
    case 'bfloat16': {
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      return (i) => {
        u[0] = v.getUint16(i * 2, le) << 16;
        return f[0]!;
      };
    }
    case 'int64': return (i) => Number(v.getBigInt64(i * 8, le));
    case 'int32': return (i) => v.getInt32(i * 4, le);
    case 'int16': return (i) => v.getInt16(i * 2, le);
    case 'int8': return (i) => v.getInt8(i);
    case 'uint8':
    case 'bool': return (i) => v.getUint8(i);
  }
}

function isLegacyMagic(b: Uint8Array): boolean {
  // 0x1950a86a20f9469cfc6c as LONG1 little-endian bytes: 6c fc 9c 46 f9 20 6a a8 50 19
  const magic = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  for (let i = 0; i + magic.length <= Math.min(b.length, 32); i++) {
    if (magic.every((m, j) => b[i + j] === m)) return true;
  }
  return false;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ') || '(empty)';
}
