import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeCamera } from '../../server/scene/camera';
import { PlyError, parsePly, readPly, writePly, type PlyScene } from '../../server/scene/ply';
import type { GaussianCloud, SemanticFeatures, ShDegree } from '../../server/scene/types';
import {
  concat,
  encodePly,
  faceElement,
  fixtureFiles,
  gaussianVertexElement,
  makeTestCloud,
  plyHeaderText,
  standardPropertyNames,
  type ElementSpec,
} from '../fixtures/make-ply-fixtures';
import { renderReference } from '../reference/render';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const REAL_PLY = resolve(repoRoot, '../shared/realdata/3dgs-lod-tile/lod3_tile_0.ply');

const tmp = mkdtempSync(join(tmpdir(), 'splatsync-ply-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function assertCloudEqual(actual: GaussianCloud, expected: GaussianCloud) {
  assert.equal(actual.count, expected.count);
  assert.equal(actual.shDegree, expected.shDegree);
  for (const key of ['positions', 'rotations', 'logScales', 'opacityLogits', 'sh'] as const) {
    assert.deepEqual(actual[key], expected[key], key);
  }
}

function assertFeaturesEqual(actual: SemanticFeatures | null, expected: SemanticFeatures | null) {
  if (!expected) return assert.equal(actual, null);
  assert.ok(actual);
  assert.equal(actual.dim, expected.dim);
  assert.deepEqual(actual.data, expected.data);
}

/** parsePly on the bytes, and readPly on the same bytes written to a file; both must agree. */
async function parseBoth(bytes: Uint8Array, name: string): Promise<PlyScene> {
  const fromBytes = parsePly(bytes, name);
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  const fromFile = await readPly(path);
  assertCloudEqual(fromFile.cloud, fromBytes.cloud);
  assertFeaturesEqual(fromFile.features, fromBytes.features);
  assert.deepEqual(fromFile.extra, fromBytes.extra);
  assert.equal(fromFile.format, fromBytes.format);
  return fromBytes;
}

/** Both entry points must throw a PlyError naming the file and matching `problem`. */
async function assertRejects(bytes: Uint8Array, name: string, problem: RegExp) {
  const check = (err: unknown, path: string) => {
    assert.ok(err instanceof PlyError, `expected a PlyError, got ${String(err)}`);
    assert.ok(err.message.includes(path), `message should name ${path}: ${err.message}`);
    assert.match(err.message, problem);
    return true;
  };
  assert.throws(() => parsePly(bytes, name), (e) => check(e, name));
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  await assert.rejects(readPly(path), (e) => check(e, path));
}

const text = (s: string) => new TextEncoder().encode(s);
/** An ascii file with the first value of the first data row replaced by `word`. */
const withFirstValue = (bytes: Uint8Array, word: string) => {
  const [head, body] = new TextDecoder().decode(bytes).split('end_header\n');
  return text(`${head}end_header\n${body!.replace(/^\S+/, word)}`);
};
const f32Bytes = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe('writePly / parsePly round trip', () => {
  for (const degree of [0, 1, 2, 3] as ShDegree[]) {
    test(`SH degree ${degree}, with features and extra properties, is exact`, async () => {
      const { cloud, features } = makeTestCloud(37, degree, 10 + degree, degree === 2 ? 0 : 5);
      const extra = { nx: Float32Array.from({ length: 37 }, (_, i) => i / 7), custom_id: Float32Array.from({ length: 37 }, (_, i) => i) };
      const bytes = writePly({ cloud, features, extra, comments: ['made by a test'] });
      const scene = await parseBoth(bytes, `roundtrip-${degree}.ply`);
      assertCloudEqual(scene.cloud, cloud);
      assertFeaturesEqual(scene.features, features);
      assert.deepEqual(scene.extra.nx, extra.nx);
      assert.deepEqual(scene.extra.custom_id, extra.custom_id);
      assert.deepEqual(scene.extra.ny, new Float32Array(37)); // normals default to 0
      assert.equal(scene.format, 'binary_little_endian');
      assert.deepEqual(scene.comments, ['made by a test']);
      // Written in the usual 3DGS order.
      const header = new TextDecoder().decode(bytes.subarray(0, 8000)).split('end_header')[0]!;
      const names = [...header.matchAll(/^property float (\S+)$/gm)].map((m) => m[1]);
      assert.deepEqual(names, [...standardPropertyNames(degree, features?.dim ?? 0), 'custom_id']);
      // Re-writing what was read gives the same bytes.
      assert.deepEqual(writePly(scene), bytes);
    });
  }

  test('writePly agrees byte for byte with the independent fixture encoder', () => {
    const { cloud, features } = makeTestCloud(9, 3, 42, 3);
    const ours = writePly({ cloud, features });
    const theirs = encodePly({ format: 'binary_little_endian', elements: [gaussianVertexElement(cloud, features)] });
    assert.deepEqual(ours, theirs);
  });

  test('an empty cloud round-trips', async () => {
    const { cloud } = makeTestCloud(0, 1);
    const scene = await parseBoth(writePly({ cloud }), 'empty.ply');
    assert.equal(scene.cloud.count, 0);
    assert.equal(scene.cloud.shDegree, 1);
  });

  test('writePly refuses arrays of the wrong length and colliding extra names', () => {
    const { cloud } = makeTestCloud(4, 0);
    assert.throws(() => writePly({ cloud: { ...cloud, positions: new Float32Array(3) } }), /positions has 3 values, expected 12/);
    assert.throws(() => writePly({ cloud, extra: { opacity: new Float32Array(4) } }), /collides/);
    assert.throws(() => writePly({ cloud, extra: { 'a b': new Float32Array(4) } }), /not a valid PLY name/);
  });
});

describe('parsePly layouts', () => {
  test('f_rest is channel-major in the file and becomes [N,K,3] with k=0 = f_dc', () => {
    const names = standardPropertyNames(1);
    const row = names.map((n) => {
      const m = /^f_rest_(\d+)$/.exec(n);
      if (m) return 100 + Number(m[1]);
      if (/^f_dc_(\d)$/.test(n)) return 10 + Number(n.slice(-1));
      return n.startsWith('rot') ? 1 : 0;
    });
    const bytes = encodePly({ format: 'binary_little_endian', elements: [{ name: 'vertex', properties: names.map((name) => ({ name, type: 'float' })), rows: [row] }] });
    const { cloud } = parsePly(bytes, 'layout.ply');
    assert.equal(cloud.shDegree, 1);
    // sh[k*3 + c]: k=0 f_dc; file f_rest_j: channel floor(j/3), coefficient 1 + j%3.
    assert.deepEqual(Array.from(cloud.sh), [10, 11, 12, 100, 103, 106, 101, 104, 107, 102, 105, 108]);
  });

  test('ascii file', async () => {
    const { cloud, features } = makeTestCloud(11, 2, 7, 4);
    const bytes = encodePly({ format: 'ascii', comments: ['ascii fixture'], elements: [gaussianVertexElement(cloud, features)] });
    const scene = await parseBoth(bytes, 'ascii.ply');
    assert.equal(scene.format, 'ascii');
    assert.deepEqual(scene.comments, ['ascii fixture']);
    assertCloudEqual(scene.cloud, cloud);
    assertFeaturesEqual(scene.features, features);
  });

  test('ascii with CRLF line ends, blank lines and trailing whitespace', async () => {
    const { cloud } = makeTestCloud(3, 0, 8);
    const plain = new TextDecoder().decode(encodePly({ format: 'ascii', elements: [gaussianVertexElement(cloud, null)] }));
    const [head, body] = plain.split('end_header\n');
    const crlf = `${head!.replace(/\n/g, '\r\n')}end_header\r\n${body!.replace(/\n/g, '\r\n\r\n')}  \n\n`;
    assertCloudEqual((await parseBoth(text(crlf), 'crlf.ply')).cloud, cloud);
  });

  test('shuffled property order, with sem_* and extras interleaved', async () => {
    const { cloud, features } = makeTestCloud(23, 3, 11, 6);
    const extra = { nx: new Float32Array(23), confidence: Float32Array.from({ length: 23 }, (_, i) => i * 0.25) };
    const names = [...standardPropertyNames(3, 6), 'confidence'];
    const r = (() => {
      let s = 12345;
      return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    })();
    for (let i = names.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [names[i], names[j]] = [names[j]!, names[i]!];
    }
    for (const format of ['binary_little_endian', 'ascii'] as const) {
      const bytes = encodePly({ format, elements: [gaussianVertexElement(cloud, features, { names, extra })] });
      const scene = await parseBoth(bytes, `shuffled-${format}.ply`);
      assertCloudEqual(scene.cloud, cloud);
      assertFeaturesEqual(scene.features, features);
      assert.deepEqual(scene.extra.confidence, extra.confidence);
      assert.deepEqual(Object.keys(scene.extra).sort(), ['confidence', 'nx', 'ny', 'nz']);
    }
  });

  test('every scalar type and alias is read (mixed types take the general path)', async () => {
    const { cloud } = makeTestCloud(6, 1, 13);
    const types = { x: 'double', y: 'float64', z: 'float32', opacity: 'double', rot_0: 'float', nx: 'uchar', ny: 'char', nz: 'short' } as const;
    const extraTypes = { a: 'ushort', b: 'int', c: 'uint', d: 'int8', e: 'uint8', f: 'int16', g: 'uint16', h: 'int32', k: 'uint32' } as const;
    const extra: Record<string, Float32Array> = { nx: Float32Array.of(0, 1, 2, 3, 4, 255), ny: Float32Array.of(-128, -1, 0, 1, 2, 127), nz: Float32Array.of(-32768, 0, 1, 2, 3, 32767) };
    const ranges: Record<string, [number, number]> = { a: [0, 65535], b: [-2147483648, 2147483520], c: [0, 4294967040], d: [-128, 127], e: [0, 255], f: [-32768, 32767], g: [0, 65535], h: [-2147483648, 2147483520], k: [0, 4294967040] }; // float32-exact
    for (const [name, [lo, hi]] of Object.entries(ranges)) extra[name] = Float32Array.of(lo, hi, 0, 1, 2, 3);
    for (const format of ['binary_little_endian', 'ascii'] as const) {
      const bytes = encodePly({ format, elements: [gaussianVertexElement(cloud, null, { extra, types: { ...types, ...extraTypes } })] });
      const scene = await parseBoth(bytes, `types-${format}.ply`);
      assertCloudEqual(scene.cloud, cloud);
      for (const [name, values] of Object.entries(extra)) assert.deepEqual(scene.extra[name], values, name);
    }
  });

  test('a face element with a list property after the vertices is skipped', async () => {
    const { cloud } = makeTestCloud(5, 0, 17);
    for (const format of ['binary_little_endian', 'ascii'] as const) {
      const bytes = encodePly({ format, elements: [gaussianVertexElement(cloud, null), faceElement(4)] });
      assertCloudEqual((await parseBoth(bytes, `faces-${format}.ply`)).cloud, cloud);
    }
  });

  test('scalar-only elements before and after the vertices are skipped', async () => {
    const { cloud } = makeTestCloud(4, 1, 19);
    const cam: ElementSpec = { name: 'camera', properties: [{ name: 'f', type: 'double' }, { name: 'id', type: 'uchar' }], rows: [[1.5, 3], [2.5, 4]] };
    const tail: ElementSpec = { name: 'meta', properties: [{ name: 'v', type: 'int' }], rows: [[7]] };
    for (const format of ['binary_little_endian', 'ascii'] as const) {
      const bytes = encodePly({ format, elements: [cam, gaussianVertexElement(cloud, null), faceElement(2), tail] });
      assertCloudEqual((await parseBoth(bytes, `elements-${format}.ply`)).cloud, cloud);
    }
  });

  test('trailing whitespace after binary data is tolerated', async () => {
    const { cloud } = makeTestCloud(3, 0, 23);
    const bytes = concat(writePly({ cloud }), text('\n \r\n\t'));
    assertCloudEqual((await parseBoth(bytes, 'trailing-space.ply')).cloud, cloud);
  });

  test('the committed fixture files match the fixture script and parse', async () => {
    for (const [name, bytes] of Object.entries(fixtureFiles())) {
      const path = resolve(here, '../fixtures/ply', name);
      assert.ok(existsSync(path), `${path} is missing: run node --import tsx tests/fixtures/make-ply-fixtures.ts`);
      assert.deepEqual(new Uint8Array(readFileSync(path)), bytes, `${name} differs from what the script makes`);
      const scene = await readPly(path);
      assert.ok(scene.cloud.count > 0);
    }
  });
});

describe('malformed files are refused with a message naming the file and the problem', () => {
  const { cloud } = makeTestCloud(3, 0, 29);
  const good = writePly({ cloud });
  const headerEnd = new TextDecoder().decode(good).indexOf('end_header\n') + 'end_header\n'.length;
  const rowBytes = (good.length - headerEnd) / 3;
  const standard = standardPropertyNames(0);
  const vertexWith = (names: string[], rows = 1): ElementSpec => ({
    name: 'vertex',
    properties: names.map((name) => ({ name, type: 'float' })),
    rows: Array.from({ length: rows }, () => names.map((n) => (n === 'rot_0' ? 1 : 0))),
  });

  test('not a ply / bad magic', async () => {
    await assertRejects(text('PLY\nformat ascii 1.0\n'), 'upper.ply', /not a PLY file \(bad magic.*"PLY"/);
    await assertRejects(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'image.png', /not a PLY file/);
    await assertRejects(text('plyx\n'), 'plyx.ply', /not a PLY file/);
    await assertRejects(new Uint8Array(0), 'empty.ply', /not a PLY file \(the file is empty\)/);
  });

  test('truncated header', async () => {
    await assertRejects(text('ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x'), 'cut-header.ply', /truncated header.*end_header/);
    await assertRejects(good.subarray(0, headerEnd - 3), 'cut-header2.ply', /truncated header/);
    await assertRejects(text('ply'), 'just-magic.ply', /truncated header/);
  });

  test('truncated vertex data', async () => {
    const cut = good.subarray(0, good.length - 5);
    await assertRejects(cut, 'cut-data.ply', new RegExp(`expected ${rowBytes * 3} bytes of vertex data, found ${rowBytes * 3 - 5}`));
  });

  test('truncated face data', async () => {
    const bytes = encodePly({ format: 'binary_little_endian', elements: [gaussianVertexElement(cloud, null), faceElement(3)] });
    await assertRejects(bytes.subarray(0, bytes.length - 2), 'cut-faces.ply', /truncated data: face row 2 of 3/);
    const scalarTail = encodePly({ format: 'binary_little_endian', elements: [gaussianVertexElement(cloud, null), { name: 'meta', properties: [{ name: 'v', type: 'int' }], rows: [[1], [2]] }] });
    await assertRejects(scalarTail.subarray(0, scalarTail.length - 1), 'cut-meta.ply', /expected 8 bytes of meta data, found 7/);
  });

  test('ascii with fewer or more vertex rows than declared', async () => {
    const el = gaussianVertexElement(cloud, null);
    await assertRejects(encodePly({ format: 'ascii', elements: [{ ...el, count: 4 }] }), 'fewer.ply', /fewer rows than the header declares: expected 4 vertex rows, found 3/);
    await assertRejects(encodePly({ format: 'ascii', elements: [{ ...el, count: 2 }] }), 'more.ply', /more rows than the header declares: 1 extra row\(s\) after the 2 vertex rows/);
  });

  test('ascii row with the wrong number of values, or a word that is not a number', async () => {
    const el = gaussianVertexElement(cloud, null);
    const short = { ...el, rows: [el.rows[0]!, el.rows[1]!.slice(1), el.rows[2]!] };
    await assertRejects(encodePly({ format: 'ascii', elements: [short] }), 'short-row.ply', /vertex row 1 \(line \d+\) has 16 values, expected 17/);
    const bad = withFirstValue(encodePly({ format: 'ascii', elements: [el] }), 'abc');
    await assertRejects(bad, 'word.ply', /vertex row 0 .*"abc" is not a number/);
  });

  test('unsupported format or type', async () => {
    const be = encodePly({ format: 'binary_big_endian', elements: [gaussianVertexElement(cloud, null)] });
    await assertRejects(be, 'big-endian.ply', /binary_big_endian is not supported/);
    await assertRejects(text('ply\nformat json 1.0\nend_header\n'), 'json.ply', /unsupported format "json"/);
    await assertRejects(text('ply\nformat ascii 2.0\nend_header\n'), 'v2.ply', /unsupported format version "2.0"/);
    await assertRejects(text('ply\nformat ascii 1.0\nelement vertex 1\nproperty half x\nend_header\n0\n'), 'half.ply', /unsupported property type "half"/);
    await assertRejects(text('ply\nelement vertex 0\nend_header\n'), 'noformat.ply', /no "format" line/);
    await assertRejects(text('ply\nformat ascii 1.0\nelement face 0\nend_header\n'), 'novertex.ply', /missing the "vertex" element/);
    await assertRejects(text('ply\nformat ascii 1.0\nelement vertex many\nend_header\n'), 'count.ply', /invalid count "many"/);
  });

  test('a list property in the vertex element is refused clearly', async () => {
    const bytes = text(`${plyHeaderText({ format: 'ascii', elements: [vertexWith(standard, 0)] }).replace('end_header', 'property list uchar int idx\nend_header')}`);
    await assertRejects(bytes, 'vertex-list.ply', /list property "idx" in the vertex element is not supported/);
  });

  test('missing required properties are named', async () => {
    for (const missing of ['x', 'rot_2', 'scale_0', 'opacity', 'f_dc_1']) {
      const bytes = encodePly({ format: 'binary_little_endian', elements: [vertexWith(standard.filter((n) => n !== missing))] });
      await assertRejects(bytes, `no-${missing}.ply`, new RegExp(`missing required vertex property ${missing}$`));
    }
    const none = encodePly({ format: 'binary_little_endian', elements: [vertexWith(['x', 'y', 'z', 'opacity'])] });
    await assertRejects(none, 'bare.ply', /missing required vertex properties rot_0, rot_1, rot_2, rot_3, scale_0/);
  });

  test('duplicated property', async () => {
    const bytes = encodePly({ format: 'binary_little_endian', elements: [vertexWith([...standard, 'opacity'])] });
    await assertRejects(bytes, 'dup.ply', /duplicated property "opacity" in element "vertex"/);
  });

  test('wrong f_rest count, f_rest gap, sem gap', async () => {
    const rest = (n: number) => Array.from({ length: n }, (_, j) => `f_rest_${j}`);
    await assertRejects(encodePly({ format: 'ascii', elements: [vertexWith([...standard, ...rest(12)])] }), 'rest12.ply', /12 f_rest_\* properties; expected 0, 9, 24 or 45/);
    const gap = [...standard, ...rest(10).filter((n) => n !== 'f_rest_4')];
    await assertRejects(encodePly({ format: 'ascii', elements: [vertexWith(gap)] }), 'restgap.ply', /f_rest_4 is missing/);
    await assertRejects(encodePly({ format: 'ascii', elements: [vertexWith([...standard, 'sem_0', 'sem_2', 'sem_3'])] }), 'semgap.ply', /sem_\* features are not numbered contiguously from 0: sem_1 is missing/);
    await assertRejects(encodePly({ format: 'ascii', elements: [vertexWith([...standard, 'sem_1'])] }), 'sem-from-1.ply', /sem_0 is missing/);
  });

  test('NaN or Inf in any value names the property and the vertex', async () => {
    for (const [value, label] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']] as const) {
      const bytes = good.slice();
      const col = standard.indexOf('scale_1');
      new DataView(bytes.buffer).setFloat32(headerEnd + rowBytes * 2 + col * 4, value, true);
      await assertRejects(bytes, `nonfinite-${label}.ply`, new RegExp(`vertex 2: property scale_1 is ${label}`));
    }
    const el = gaussianVertexElement(cloud, null);
    const asciiNan = { ...el, rows: el.rows.map((r, i) => (i === 1 ? r.map((v, k) => (k === standard.indexOf('f_dc_2') ? NaN : v)) : r)) };
    await assertRejects(encodePly({ format: 'ascii', elements: [asciiNan] }), 'nan-ascii.ply', /vertex 1: property f_dc_2 is NaN/);
    const asciiInf = withFirstValue(encodePly({ format: 'ascii', elements: [el] }), 'inf');
    await assertRejects(asciiInf, 'inf-ascii.ply', /vertex 0: property x is Infinity/);
    const dbl = encodePly({ format: 'binary_little_endian', elements: [{ ...vertexWith(standard), properties: standard.map((name) => ({ name, type: name === 'y' ? 'double' : 'float' })), rows: [standard.map((n) => (n === 'y' ? 1e300 : 0))] }] });
    await assertRejects(dbl, 'overflow.ply', /vertex 0: property y is 1e\+300 \(out of the float32 range\)/);
  });

  test('trailing garbage that is not whitespace', async () => {
    await assertRejects(concat(good, text('\nxyz')), 'garbage.ply', /4 bytes of unexpected trailing data after the last element/);
    await assertRejects(concat(good, f32Bytes([0])), 'extra-row.ply', /4 bytes of unexpected trailing data/);
  });

  test('a file that does not exist', async () => {
    await assert.rejects(readPly(join(tmp, 'nope.ply')), /ENOENT/);
  });
});

describe('real third-party file: 3dgs-lod-tile/lod3_tile_0.ply', () => {
  const skip = existsSync(REAL_PLY) ? false : `real data not found at ${REAL_PLY} (expected ../shared/realdata beside the checkout)`;

  test('reads 1971 Gaussians with SH degree 3 and its extreme values', { skip }, async () => {
    const scene = await readPly(REAL_PLY);
    const { cloud } = scene;
    assert.equal(cloud.count, 1971);
    assert.equal(cloud.shDegree, 3);
    assert.equal(cloud.sh.length, 1971 * 16 * 3);
    assert.equal(scene.features, null);
    assert.deepEqual(Object.keys(scene.extra).sort(), ['nx', 'ny', 'nz']);
    const parsed = parsePly(new Uint8Array(readFileSync(REAL_PLY)), REAL_PLY);
    assertCloudEqual(parsed.cloud, cloud);
    // The extremes the realdata README lists.
    const maxLogit = cloud.opacityLogits.reduce((a, b) => Math.max(a, b), -Infinity);
    const minLogScale = cloud.logScales.reduce((a, b) => Math.min(a, b), Infinity);
    assert.ok(maxLogit > 16.6 && maxLogit < 16.8, `max opacity logit ${maxLogit}`);
    assert.ok(minLogScale > -23 && minLogScale < -22.8, `min log-scale ${minLogScale}`);
    const qlen = Array.from({ length: cloud.count }, (_, i) => Math.hypot(...cloud.rotations.subarray(i * 4, i * 4 + 4)));
    assert.ok(Math.min(...qlen) < 0.4 && Math.max(...qlen) > 2.6, `quaternion lengths ${Math.min(...qlen)}..${Math.max(...qlen)}`);
    // f_rest all zero: every k >= 1 coefficient is 0.
    for (let i = 0; i < cloud.count; i++) for (let k = 3; k < 48; k++) assert.equal(cloud.sh[i * 48 + k], 0);
    // A round trip through writePly is exact.
    assertCloudEqual(parsePly(writePly(scene), 'rewritten.ply').cloud, cloud);
  });

  test('renders through the reference renderer without NaN and not blank', { skip }, async () => {
    const { cloud } = await readPly(REAL_PLY);
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < cloud.count; i++) {
      for (let k = 0; k < 3; k++) {
        lo[k] = Math.min(lo[k]!, cloud.positions[i * 3 + k]!);
        hi[k] = Math.max(hi[k]!, cloud.positions[i * 3 + k]!);
      }
    }
    const centre = [0, 1, 2].map((k) => (lo[k]! + hi[k]!) / 2) as [number, number, number];
    const radius = Math.hypot(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) / 2;
    const camera = makeCamera(96, 72, Math.PI / 3, [centre[0], centre[1] - 0.3 * radius, centre[2] + 2 * radius], centre);
    const background: [number, number, number] = [0, 0, 0];
    const img = renderReference(cloud, camera, { background });
    assert.ok(img.depth.every(Number.isFinite), 'depth has NaN/Inf');
    assert.ok(img.alpha.every((a) => Number.isFinite(a) && a >= 0 && a <= 1), 'alpha out of range');
    const covered = img.alpha.filter((a) => a > 0.5).length;
    const lit = img.rgb.filter((v) => v > 0).length;
    assert.ok(covered > 0.05 * img.alpha.length, `only ${covered} covered pixels`);
    assert.ok(lit > 0, 'image is black');
    // Depths of covered pixels lie within the cloud's depth range seen from the camera.
    for (let p = 0; p < img.alpha.length; p++) if (img.alpha[p]! > 0.5) assert.ok(img.depth[p]! > 0 && img.depth[p]! < 4 * radius);
  });
});
