// PLY header parsing (the text part up to `end_header`). Used by ply.ts; no knowledge of
// Gaussians here, only of the PLY format itself.

export type PlyFormat = 'binary_little_endian' | 'ascii';

/** Canonical scalar types; the classic names (char, uchar, ...) are aliases. */
export type PlyScalarType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export interface PlyProperty {
  name: string;
  type: PlyScalarType;
  /** Set for `property list <countType> <itemType> name`; `type` is then the item type. */
  list: { countType: PlyScalarType } | null;
}

export interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
}

export interface PlyHeader {
  format: PlyFormat;
  elements: PlyElement[];
  comments: string[];
  /** Byte offset of the first data byte (just after the `end_header` line). */
  dataOffset: number;
}

/** Every error of the PLY reader and writer; the message names the file and the problem. */
export class PlyError extends Error {
  readonly fileName: string;
  constructor(fileName: string, problem: string) {
    super(`${fileName}: ${problem}`);
    this.name = 'PlyError';
    this.fileName = fileName;
  }
}

const TYPE_ALIASES: Readonly<Record<string, PlyScalarType>> = {
  char: 'int8',
  int8: 'int8',
  uchar: 'uint8',
  uint8: 'uint8',
  short: 'int16',
  int16: 'int16',
  ushort: 'uint16',
  uint16: 'uint16',
  int: 'int32',
  int32: 'int32',
  uint: 'uint32',
  uint32: 'uint32',
  float: 'float32',
  float32: 'float32',
  double: 'float64',
  float64: 'float64',
};

export const TYPE_SIZE: Readonly<Record<PlyScalarType, number>> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
};

export function isIntegerType(t: PlyScalarType): boolean {
  return t !== 'float32' && t !== 'float64';
}

/** Byte size of one row of `el` when it has only scalar properties, else null. */
export function scalarRowSize(el: PlyElement): number | null {
  let size = 0;
  for (const p of el.properties) {
    if (p.list) return null;
    size += TYPE_SIZE[p.type];
  }
  return size;
}

const MAX_SHOWN = 40;
/** A short, printable rendering of bytes or text for error messages. */
export function shown(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > MAX_SHOWN ? clean.slice(0, MAX_SHOWN) + '...' : clean);
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 8192)));
  }
  return s;
}

/** Throws "not a PLY file" unless `bytes` starts with the `ply` magic line. */
export function checkMagic(bytes: Uint8Array, fileName: string): void {
  const ok =
    bytes.length >= 4 &&
    bytes[0] === 0x70 && // p
    bytes[1] === 0x6c && // l
    bytes[2] === 0x79 && // y
    (bytes[3] === 0x0a || (bytes[3] === 0x0d && bytes[4] === 0x0a));
  if (ok) return;
  if (bytes.length === 0) throw new PlyError(fileName, 'not a PLY file (the file is empty)');
  if (bytes.length < 4 && latin1(bytes, 0, bytes.length) === 'ply'.slice(0, bytes.length)) {
    throw new PlyError(fileName, `truncated header: the file ends after ${bytes.length} bytes, before "end_header"`);
  }
  const firstLine = latin1(bytes, 0, Math.min(bytes.length, 64)).split(/\r?\n/)[0] ?? '';
  throw new PlyError(fileName, `not a PLY file (bad magic: the first line must be "ply", found ${shown(firstLine)})`);
}

/**
 * Offset just after the `end_header` line, or -1 if `bytes` holds no complete header yet
 * (the caller reads more or reports a truncated header).
 */
export function findHeaderEnd(bytes: Uint8Array): number {
  let start = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) return -1;
    let end = nl;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    if (end - start >= 10 && latin1(bytes, start, end).trim() === 'end_header') return nl + 1;
    start = nl + 1;
  }
  return -1;
}

/** Parses the header at the start of `bytes` (which must contain at least the whole header). */
export function parseHeader(bytes: Uint8Array, fileName: string): PlyHeader {
  checkMagic(bytes, fileName);
  const dataOffset = findHeaderEnd(bytes);
  if (dataOffset < 0) {
    throw new PlyError(fileName, `truncated header: no "end_header" line in the first ${bytes.length} bytes`);
  }
  const lines = latin1(bytes, 0, dataOffset).split('\n');
  const fail = (lineNo: number, problem: string): never => {
    throw new PlyError(fileName, `header line ${lineNo + 1}: ${problem}`);
  };

  let format: PlyFormat | null = null;
  const elements: PlyElement[] = [];
  const comments: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    const words = raw.trim().split(/\s+/);
    const keyword = words[0] ?? '';
    if (keyword === '') continue;
    if (keyword === 'end_header') break;
    if (keyword === 'comment') {
      comments.push(raw.replace(/^\s*comment\s?/, ''));
    } else if (keyword === 'obj_info') {
      // Free text, nothing we use.
    } else if (keyword === 'format') {
      if (format !== null) fail(i, 'a second "format" line');
      const [, name, version] = words;
      if (name === 'binary_big_endian') {
        throw new PlyError(fileName, 'format binary_big_endian is not supported (only binary_little_endian and ascii; convert the file)');
      }
      if (name !== 'binary_little_endian' && name !== 'ascii') {
        throw new PlyError(fileName, `unsupported format ${shown(name ?? '')} (only binary_little_endian and ascii)`);
      }
      if (version !== '1.0') throw new PlyError(fileName, `unsupported format version ${shown(version ?? '')} (only 1.0)`);
      format = name;
    } else if (keyword === 'element') {
      const [, name, countText] = words;
      if (name === undefined || countText === undefined || words.length !== 3) fail(i, `malformed element line ${shown(raw)}`);
      if (!/^\d+$/.test(countText!) || !Number.isSafeInteger(Number(countText))) {
        fail(i, `element ${shown(name!)} has an invalid count ${shown(countText!)}`);
      }
      if (elements.some((e) => e.name === name)) fail(i, `duplicated element ${shown(name!)}`);
      elements.push({ name: name!, count: Number(countText), properties: [] });
    } else if (keyword === 'property') {
      const el = elements[elements.length - 1];
      if (!el) fail(i, 'a "property" line before any "element" line');
      const typeOf = (word: string | undefined): PlyScalarType => {
        const t = word === undefined ? undefined : TYPE_ALIASES[word];
        if (t === undefined) throw new PlyError(fileName, `unsupported property type ${shown(word ?? '')} in element ${shown(el!.name)}`);
        return t;
      };
      let prop: PlyProperty;
      if (words[1] === 'list') {
        if (words.length !== 5) fail(i, `malformed list property line ${shown(raw)}`);
        const countType = typeOf(words[2]);
        if (!isIntegerType(countType)) fail(i, `list property ${shown(words[4]!)} has a non-integer count type ${shown(words[2]!)}`);
        prop = { name: words[4]!, type: typeOf(words[3]), list: { countType } };
      } else {
        if (words.length !== 3) fail(i, `malformed property line ${shown(raw)}`);
        prop = { name: words[2]!, type: typeOf(words[1]), list: null };
      }
      if (el!.properties.some((p) => p.name === prop.name)) {
        throw new PlyError(fileName, `duplicated property ${shown(prop.name)} in element ${shown(el!.name)}`);
      }
      el!.properties.push(prop);
    } else {
      fail(i, `unexpected header line ${shown(raw)}`);
    }
  }
  if (format === null) throw new PlyError(fileName, 'the header has no "format" line');
  return { format, elements, comments, dataOffset };
}
