// Standard 3DGS .ply reader and writer.
//
// A 3DGS .ply has one `vertex` element with, per Gaussian: x y z, (nx ny nz), f_dc_0..2,
// f_rest_0..M-1 (M = 0, 9, 24 or 45 gives SH degree 0..3), opacity (logit), scale_0..2 (log),
// rot_0..3 (quaternion w,x,y,z), and for semantic scenes sem_0..sem_{D-1}. f_rest is
// channel-major in the file (all coefficients of R, then G, then B); GaussianCloud.sh is
// [N,K,3] with k = 0 the f_dc term (types.ts).
//
// Speed: no per-vertex objects. Every vertex property is mapped to a "sink" (a Float32Array,
// an offset and a stride); consecutive float32 properties landing in consecutive slots of the
// same array are merged into runs, and rows are decoded a cache-sized chunk at a time through a
// Float32Array view. readPly streams the file through one such chunk buffer, so a large file is
// never held in memory next to the arrays it becomes.
import { open, readFile } from 'node:fs/promises';
import {
  PlyError,
  TYPE_SIZE,
  checkMagic,
  findHeaderEnd,
  isIntegerType,
  parseHeader,
  scalarRowSize,
  shown,
  type PlyElement,
  type PlyFormat,
  type PlyHeader,
  type PlyScalarType,
} from './ply-header';
import { shCoeffCount, type GaussianCloud, type SemanticFeatures, type ShDegree } from './types';

export { PlyError, parseHeader as parsePlyHeader };
export type { PlyFormat, PlyHeader, PlyElement, PlyScalarType };

export interface PlyScene {
  cloud: GaussianCloud;
  /** From sem_0..sem_{D-1}; null when the file has none. */
  features: SemanticFeatures | null;
  /** Every other vertex property (nx, ny, nz, ...), by name, [N] each. */
  extra: Record<string, Float32Array>;
  format: PlyFormat;
  comments: string[];
}

export interface PlyWriteInput {
  cloud: GaussianCloud;
  features?: SemanticFeatures | null;
  extra?: Record<string, Float32Array>;
  comments?: string[];
}

const F_REST_COUNTS: Readonly<Record<number, ShDegree>> = { 0: 0, 9: 1, 24: 2, 45: 3 };
/** Bytes of vertex rows decoded per step: the chunk stays in cache while every run reads it. */
const CHUNK_BYTES = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Where each vertex property goes

interface Sink {
  dest: Float32Array;
  offset: number;
  stride: number;
}

/** Consecutive float32 properties that land in dest[offset + row*stride + j*step], j < length. */
interface Run {
  firstProp: number;
  srcFloat: number;
  length: number;
  dest: Float32Array;
  offset: number;
  step: number;
  stride: number;
}

function canonicalIndex(name: string, prefix: string): number | null {
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d{0,8})$/.test(rest) ? Number(rest) : null;
}

/** The smallest index missing from 0..max(present), or -1 when there is no gap. */
function firstGap(present: Set<number>): number {
  let max = -1;
  for (const i of present) max = Math.max(max, i);
  for (let i = 0; i <= max; i++) if (!present.has(i)) return i;
  return -1;
}

const FIXED: Readonly<Record<string, readonly [keyof GaussianArrays, number]>> = {
  x: ['positions', 0],
  y: ['positions', 1],
  z: ['positions', 2],
  rot_0: ['rotations', 0],
  rot_1: ['rotations', 1],
  rot_2: ['rotations', 2],
  rot_3: ['rotations', 3],
  scale_0: ['logScales', 0],
  scale_1: ['logScales', 1],
  scale_2: ['logScales', 2],
  opacity: ['opacityLogits', 0],
  f_dc_0: ['sh', 0],
  f_dc_1: ['sh', 1],
  f_dc_2: ['sh', 2],
};
const REQUIRED = Object.keys(FIXED);

type GaussianArrays = Pick<GaussianCloud, 'positions' | 'rotations' | 'logScales' | 'opacityLogits' | 'sh'>;

/** Decodes the rows of the vertex element into the cloud's arrays. */
class VertexDecoder {
  readonly count: number;
  readonly names: string[];
  readonly types: PlyScalarType[];
  readonly rowBytes: number;
  readonly offsets: number[];
  readonly sinks: Sink[];
  readonly runs: Run[] | null; // null unless every property is float32
  readonly cloud: GaussianCloud;
  readonly features: SemanticFeatures | null;
  readonly extra: Record<string, Float32Array> = {};
  private scratch: Float32Array | null = null;

  constructor(
    el: PlyElement,
    readonly fileName: string,
  ) {
    const n = el.count;
    this.count = n;
    this.names = el.properties.map((p) => p.name);
    this.types = el.properties.map((p) => p.type);
    for (const p of el.properties) {
      if (p.list) throw new PlyError(fileName, `list property ${shown(p.name)} in the vertex element is not supported`);
      if (p.name === '__proto__') throw new PlyError(fileName, 'a vertex property named "__proto__" is not allowed');
    }
    const has = new Set(this.names);
    const missing = REQUIRED.filter((r) => !has.has(r));
    if (missing.length > 0) {
      throw new PlyError(fileName, `missing required vertex propert${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')}`);
    }
    const fRest = new Set<number>();
    const sem = new Set<number>();
    for (const name of this.names) {
      const r = canonicalIndex(name, 'f_rest_');
      if (r !== null) fRest.add(r);
      const s = canonicalIndex(name, 'sem_');
      if (s !== null) sem.add(s);
    }
    const restGap = firstGap(fRest);
    if (restGap >= 0) {
      throw new PlyError(fileName, `f_rest_* properties are not numbered contiguously from 0: f_rest_${restGap} is missing`);
    }
    const shDegree = F_REST_COUNTS[fRest.size];
    if (shDegree === undefined) {
      throw new PlyError(fileName, `${fRest.size} f_rest_* properties; expected 0, 9, 24 or 45 (SH degree 0..3)`);
    }
    const semGap = firstGap(sem);
    if (semGap >= 0) {
      throw new PlyError(fileName, `sem_* features are not numbered contiguously from 0: sem_${semGap} is missing`);
    }

    const K = shCoeffCount(shDegree);
    const perChannel = K - 1;
    const arrays: GaussianArrays = {
      positions: new Float32Array(n * 3),
      rotations: new Float32Array(n * 4),
      logScales: new Float32Array(n * 3),
      opacityLogits: new Float32Array(n),
      sh: new Float32Array(n * K * 3),
    };
    const strides: Record<keyof GaussianArrays, number> = { positions: 3, rotations: 4, logScales: 3, opacityLogits: 1, sh: K * 3 };
    this.cloud = { count: n, shDegree, ...arrays };
    const dim = sem.size;
    this.features = dim > 0 ? { dim, data: new Float32Array(n * dim) } : null;

    this.sinks = this.names.map((name): Sink => {
      const fixed = FIXED[name];
      if (fixed) return { dest: arrays[fixed[0]], offset: fixed[1], stride: strides[fixed[0]] };
      const r = canonicalIndex(name, 'f_rest_');
      if (r !== null) {
        // Channel-major in the file: f_rest_j is channel floor(j / (K-1)), coefficient 1 + j % (K-1).
        const channel = Math.floor(r / perChannel);
        const k = 1 + (r % perChannel);
        return { dest: arrays.sh, offset: k * 3 + channel, stride: K * 3 };
      }
      const s = canonicalIndex(name, 'sem_');
      if (s !== null) return { dest: this.features!.data, offset: s, stride: dim };
      const dest = new Float32Array(n);
      this.extra[name] = dest;
      return { dest, offset: 0, stride: 1 };
    });

    this.offsets = [];
    let off = 0;
    for (const t of this.types) {
      this.offsets.push(off);
      off += TYPE_SIZE[t];
    }
    this.rowBytes = off;
    this.runs = this.types.every((t) => t === 'float32') ? this.buildRuns() : null;
  }

  private buildRuns(): Run[] {
    const runs: Run[] = [];
    this.sinks.forEach((s, p) => {
      const last = runs[runs.length - 1];
      if (last && last.dest === s.dest && last.stride === s.stride && last.srcFloat + last.length === p) {
        const expected = last.offset + last.length * last.step;
        if (last.length === 1 && s.offset !== last.offset) {
          last.step = s.offset - last.offset;
          last.length++;
          return;
        }
        if (s.offset === expected) {
          last.length++;
          return;
        }
      }
      runs.push({ firstProp: p, srcFloat: p, length: 1, dest: s.dest, offset: s.offset, step: 1, stride: s.stride });
    });
    return runs;
  }

  nonFinite(prop: number, row: number, value: number, what = 'NaN and Inf are not allowed'): never {
    throw new PlyError(this.fileName, `vertex ${row}: property ${this.names[prop]} is ${value} (${what})`);
  }

  /** Decodes `rows` binary little-endian rows from `bytes` (which starts at row `firstRow`). */
  decodeBinary(bytes: Uint8Array, firstRow: number, rows: number): void {
    if (this.runs) {
      const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / this.rowBytes));
      for (let r = 0; r < rows; r += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, rows - r);
        this.decodeFloatRows(this.floatView(bytes.subarray(r * this.rowBytes, (r + n) * this.rowBytes)), firstRow + r, n);
      }
    } else {
      this.decodeMixedRows(bytes, firstRow, rows);
    }
  }

  /** A Float32Array over `bytes`, copying into an aligned scratch buffer when misaligned. */
  private floatView(bytes: Uint8Array): Float32Array {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    if (!this.scratch || this.scratch.length * 4 < bytes.length) this.scratch = new Float32Array(Math.max(bytes.length, CHUNK_BYTES) / 4);
    new Uint8Array(this.scratch.buffer, 0, bytes.length).set(bytes);
    return this.scratch.subarray(0, bytes.length / 4);
  }

  /** The fast path: every property float32, `src` holds `rows` whole rows. */
  private decodeFloatRows(src: Float32Array, firstRow: number, rows: number): void {
    const rowFloats = this.rowBytes / 4;
    for (const run of this.runs!) {
      const { dest, length, step, stride } = run;
      let s = run.srcFloat;
      let o = run.offset + firstRow * stride;
      for (let r = 0; r < rows; r++, s += rowFloats, o += stride) {
        for (let j = 0; j < length; j++) {
          const v = src[s + j]!;
          if (v - v !== 0) this.nonFinite(run.firstProp + j, firstRow + r, v);
          dest[o + j * step] = v;
        }
      }
    }
  }

  /** Any mix of scalar types, through a DataView. */
  private decodeMixedRows(bytes: Uint8Array, firstRow: number, rows: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rb = this.rowBytes;
    this.sinks.forEach(({ dest, offset, stride }, p) => {
      const type = this.types[p]!;
      let b = this.offsets[p]!;
      let o = offset + firstRow * stride;
      for (let r = 0; r < rows; r++, b += rb, o += stride) {
        let v: number;
        switch (type) {
          case 'int8': v = view.getInt8(b); break;
          case 'uint8': v = view.getUint8(b); break;
          case 'int16': v = view.getInt16(b, true); break;
          case 'uint16': v = view.getUint16(b, true); break;
          case 'int32': v = view.getInt32(b, true); break;
          case 'uint32': v = view.getUint32(b, true); break;
          case 'float32': v = view.getFloat32(b, true); break;
          case 'float64': v = view.getFloat64(b, true); break;
        }
        this.store(p, firstRow + r, dest, o, v);
      }
    });
  }

  /** Stores one value, refusing NaN / Inf (also a double beyond the float32 range). */
  store(prop: number, row: number, dest: Float32Array, index: number, v: number): void {
    if (v - v !== 0) this.nonFinite(prop, row, v);
    const f = Math.fround(v);
    if (f - f !== 0) this.nonFinite(prop, row, v, 'out of the float32 range');
    dest[index] = f;
  }

  scene(header: PlyHeader): PlyScene {
    return { cloud: this.cloud, features: this.features, extra: this.extra, format: header.format, comments: header.comments };
  }
}

// ---------------------------------------------------------------------------------------------
// Elements other than vertex (skipped), trailing bytes

function readCount(view: DataView, at: number, type: PlyScalarType): number {
  switch (type) {
    case 'int8': return view.getInt8(at);
    case 'uint8': return view.getUint8(at);
    case 'int16': return view.getInt16(at, true);
    case 'uint16': return view.getUint16(at, true);
    case 'int32': return view.getInt32(at, true);
    default: return view.getUint32(at, true);
  }
}

/**
 * Skips the binary rows of a non-vertex element starting at `offset`; returns the offset after
 * them. `base` is the file offset of bytes[0], for messages.
 */
function skipBinaryElement(bytes: Uint8Array, offset: number, el: PlyElement, fileName: string, base = 0): number {
  const rowSize = scalarRowSize(el);
  if (rowSize !== null) {
    const need = el.count * rowSize;
    const found = bytes.length - offset;
    if (found < need) throw new PlyError(fileName, `truncated data: expected ${need} bytes of ${el.name} data, found ${found}`);
    return offset + need;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = offset;
  const truncated = (row: number): never => {
    throw new PlyError(fileName, `truncated data: ${el.name} row ${row} of ${el.count} runs past the end of the file (${base + bytes.length} bytes)`);
  };
  for (let r = 0; r < el.count; r++) {
    for (const p of el.properties) {
      if (p.list) {
        const cs = TYPE_SIZE[p.list.countType];
        if (at + cs > bytes.length) truncated(r);
        const n = readCount(view, at, p.list.countType);
        if (n < 0) throw new PlyError(fileName, `${el.name} row ${r}: list ${p.name} has a negative length ${n}`);
        at += cs + n * TYPE_SIZE[p.type];
      } else {
        at += TYPE_SIZE[p.type];
      }
      if (at > bytes.length) truncated(r);
    }
  }
  return at;
}

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;

/** Bytes after the last element are tolerated only if they are whitespace. */
function checkTrailing(bytes: Uint8Array, offset: number, fileName: string, base = 0): void {
  for (let i = offset; i < bytes.length; i++) {
    if (!isSpace(bytes[i]!)) {
      throw new PlyError(
        fileName,
        `${bytes.length - offset} bytes of unexpected trailing data after the last element (from byte ${base + offset})`,
      );
    }
  }
}

function vertexElementIndex(header: PlyHeader, fileName: string): number {
  const i = header.elements.findIndex((e) => e.name === 'vertex');
  if (i < 0) throw new PlyError(fileName, 'missing the "vertex" element');
  return i;
}

// ---------------------------------------------------------------------------------------------
// ASCII

function parseAsciiBody(bytes: Uint8Array, header: PlyHeader, decoder: VertexDecoder, fileName: string): void {
  const text = new TextDecoder('utf-8').decode(bytes.subarray(header.dataOffset));
  let pos = 0;
  let lineNo = headerLineCount(bytes, header.dataOffset);
  /** The next line holding something, as tokens; null at the end of the text. */
  const nextRow = (): string[] | null => {
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      const line = text.slice(pos, nl).trim();
      pos = nl + 1;
      lineNo++;
      if (line !== '') return line.split(/\s+/);
    }
    return null;
  };
  const parseNumber = (tok: string, type: PlyScalarType, where: () => string): number => {
    // C's printf writes inf, -inf, nan, -nan: read them as what they are, to be refused by name.
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(tok);
    const v = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(tok);
    if (Number.isNaN(v) && !special) throw new PlyError(fileName, `${where()}: ${shown(tok)} is not a number`);
    if (isIntegerType(type) && !Number.isInteger(v)) throw new PlyError(fileName, `${where()}: ${shown(tok)} is not an integer`);
    return v;
  };

  for (const el of header.elements) {
    const isVertex = el.name === 'vertex';
    for (let r = 0; r < el.count; r++) {
      const tokens = nextRow();
      if (tokens === null) {
        throw new PlyError(fileName, `ascii data has fewer rows than the header declares: expected ${el.count} ${el.name} rows, found ${r}`);
      }
      const where = () => `${el.name} row ${r} (line ${lineNo})`;
      if (isVertex) {
        if (tokens.length !== el.properties.length) {
          throw new PlyError(fileName, `${where()} has ${tokens.length} values, expected ${el.properties.length}`);
        }
        for (let p = 0; p < tokens.length; p++) {
          const sink = decoder.sinks[p]!;
          const v = parseNumber(tokens[p]!, decoder.types[p]!, where);
          decoder.store(p, r, sink.dest, sink.offset + r * sink.stride, v);
        }
      } else {
        // Other elements are only checked for shape: each list's length, then its items.
        let t = 0;
        for (const p of el.properties) {
          let n = 1;
          if (p.list) {
            const c = tokens[t++];
            n = c === undefined ? 0 : parseNumber(c, p.list.countType, where);
            if (n < 0) throw new PlyError(fileName, `${where()}: list ${p.name} has a negative length ${n}`);
          }
          t += n;
        }
        if (t !== tokens.length) {
          throw new PlyError(fileName, `${where()} has ${tokens.length} values, expected ${t} for its properties`);
        }
      }
    }
  }
  let extraRows = 0;
  while (nextRow() !== null) extraRows++;
  if (extraRows > 0) {
    const last = header.elements[header.elements.length - 1]!;
    throw new PlyError(
      fileName,
      `ascii data has more rows than the header declares: ${extraRows} extra row(s) after the ${last.count} ${last.name} rows`,
    );
  }
}

function headerLineCount(bytes: Uint8Array, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Parses a whole .ply held in memory. `fileName` is used in error messages. */
export function parsePly(bytes: Uint8Array, fileName: string): PlyScene {
  const header = parseHeader(bytes, fileName);
  const vi = vertexElementIndex(header, fileName);
  const decoder = new VertexDecoder(header.elements[vi]!, fileName);
  if (header.format === 'ascii') {
    parseAsciiBody(bytes, header, decoder, fileName);
    return decoder.scene(header);
  }
  let offset = header.dataOffset;
  header.elements.forEach((el, i) => {
    if (i !== vi) {
      offset = skipBinaryElement(bytes, offset, el, fileName);
      return;
    }
    const need = el.count * decoder.rowBytes;
    const found = bytes.length - offset;
    if (found < need) throw new PlyError(fileName, `truncated data: expected ${need} bytes of vertex data, found ${found}`);
    decoder.decodeBinary(bytes.subarray(offset, offset + need), 0, el.count);
    offset += need;
  });
  checkTrailing(bytes, offset, fileName);
  return decoder.scene(header);
}

const STREAM_CHUNK_BYTES = 8 << 20;
const MAX_HEADER_BYTES = 64 << 20;

/**
 * Reads a .ply file. A binary file whose first element is `vertex` (every 3DGS file) is
 * streamed through one chunk buffer; anything else is read whole and parsed.
 */
export async function readPly(path: string): Promise<PlyScene> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const readAt = async (position: number, length: number, into?: Uint8Array): Promise<Uint8Array> => {
      const buf = into ?? new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === buf.length ? buf : buf.subarray(0, got);
    };

    let head = await readAt(0, Math.min(size, 64 << 10));
    checkMagic(head, path);
    while (findHeaderEnd(head) < 0 && head.length < size && head.length < MAX_HEADER_BYTES) {
      head = await readAt(0, Math.min(size, head.length * 4, MAX_HEADER_BYTES));
    }
    const header = parseHeader(head, path);
    if (header.format !== 'binary_little_endian' || header.elements[0]?.name !== 'vertex') {
      return parsePly(await readFile(path), path);
    }

    const el = header.elements[0];
    const decoder = new VertexDecoder(el, path);
    const need = el.count * decoder.rowBytes;
    const found = size - header.dataOffset;
    if (found < need) throw new PlyError(path, `truncated data: expected ${need} bytes of vertex data, found ${found}`);
    if (decoder.rowBytes > 0) {
      const rowsPerChunk = Math.max(1, Math.floor(STREAM_CHUNK_BYTES / decoder.rowBytes));
      const chunk = new Uint8Array(rowsPerChunk * decoder.rowBytes);
      for (let row = 0; row < el.count; row += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, el.count - row);
        const bytes = await readAt(header.dataOffset + row * decoder.rowBytes, n * decoder.rowBytes, chunk.subarray(0, n * decoder.rowBytes));
        if (bytes.length < n * decoder.rowBytes) throw new PlyError(path, 'the file shrank while it was being read');
        decoder.decodeBinary(bytes, row, n);
      }
    }

    const tailStart = header.dataOffset + need;
    const tail = await readAt(tailStart, size - tailStart);
    let offset = 0;
    for (const other of header.elements.slice(1)) offset = skipBinaryElement(tail, offset, other, path, tailStart);
    checkTrailing(tail, offset, path, tailStart);
    return decoder.scene(header);
  } finally {
    await fh.close();
  }
}

/**
 * A standard binary little-endian 3DGS .ply: x y z nx ny nz f_dc_0..2 f_rest_* opacity
 * scale_0..2 rot_0..3, then sem_*, then any other `extra` property. Normals come from
 * extra.nx/ny/nz when present, else are written as 0. Reading the result gives back the same
 * cloud and features bit for bit.
 */
export function writePly(scene: PlyWriteInput): Uint8Array {
  const { cloud } = scene;
  const n = cloud.count;
  const K = shCoeffCount(cloud.shDegree);
  const perChannel = K - 1;
  const extra = scene.extra ?? {};
  const features = scene.features ?? null;
  const fail = (problem: string): never => {
    throw new PlyError('writePly', problem);
  };
  const checkLength = (name: string, a: Float32Array, len: number) => {
    if (a.length !== len) fail(`${name} has ${a.length} values, expected ${len} for ${n} Gaussians`);
  };
  checkLength('positions', cloud.positions, n * 3);
  checkLength('rotations', cloud.rotations, n * 4);
  checkLength('logScales', cloud.logScales, n * 3);
  checkLength('opacityLogits', cloud.opacityLogits, n);
  checkLength('sh', cloud.sh, n * K * 3);
  if (features) checkLength('features', features.data, n * features.dim);

  const zeros = new Float32Array(n);
  const props: [string, Sink][] = [];
  const add = (name: string, dest: Float32Array, offset: number, stride: number) => props.push([name, { dest, offset, stride }]);
  ['x', 'y', 'z'].forEach((p, i) => add(p, cloud.positions, i, 3));
  for (const p of ['nx', 'ny', 'nz']) add(p, extra[p] ?? zeros, 0, 1);
  for (let c = 0; c < 3; c++) add(`f_dc_${c}`, cloud.sh, c, K * 3);
  for (let c = 0; c < 3; c++) {
    for (let k = 1; k < K; k++) add(`f_rest_${c * perChannel + k - 1}`, cloud.sh, k * 3 + c, K * 3);
  }
  add('opacity', cloud.opacityLogits, 0, 1);
  for (let i = 0; i < 3; i++) add(`scale_${i}`, cloud.logScales, i, 3);
  for (let i = 0; i < 4; i++) add(`rot_${i}`, cloud.rotations, i, 4);
  if (features) for (let d = 0; d < features.dim; d++) add(`sem_${d}`, features.data, d, features.dim);
  const taken = new Set(props.map(([name]) => name));
  for (const [name, values] of Object.entries(extra)) {
    if (name === 'nx' || name === 'ny' || name === 'nz') {
      checkLength(`extra.${name}`, values, n);
      continue;
    }
    if (taken.has(name) || FIXED[name] || canonicalIndex(name, 'f_rest_') !== null || canonicalIndex(name, 'sem_') !== null) {
      fail(`extra property ${shown(name)} collides with a standard 3DGS property`);
    }
    if (!/^[\x21-\x7e]+$/.test(name)) fail(`extra property name ${shown(name)} is not a valid PLY name`);
    checkLength(`extra.${name}`, values, n);
    add(name, values, 0, 1);
  }

  const lines = ['ply', 'format binary_little_endian 1.0'];
  for (const c of scene.comments ?? []) {
    if (/[\r\n]/.test(c)) fail('a comment contains a line break');
    lines.push(`comment ${c}`);
  }
  lines.push(`element vertex ${n}`);
  for (const [name] of props) lines.push(`property float ${name}`);
  lines.push('end_header', '');
  const headerBytes = new TextEncoder().encode(lines.join('\n'));

  const P = props.length;
  const out = new Uint8Array(headerBytes.length + n * P * 4);
  out.set(headerBytes, 0);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / (P * 4)));
  const block = new Float32Array(rowsPerChunk * P);
  for (let row = 0; row < n; row += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, n - row);
    props.forEach(([, { dest, offset, stride }], p) => {
      let o = offset + row * stride;
      for (let r = 0, b = p; r < rows; r++, b += P, o += stride) block[b] = dest[o]!;
    });
    out.set(new Uint8Array(block.buffer, 0, rows * P * 4), headerBytes.length + row * P * 4);
  }
  return out;
}
