// PyTorch zip checkpoints (server/import/pth.ts): the real Deformable-3DGS deform.pth, the
// fixtures written by real PyTorch (tests/fixtures/deform/), and malformed files made here
// from those fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { PthError, readStateDict } from '../../server/import/pth';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIX = path.join(ROOT, 'tests/fixtures/deform');
const REAL_PTH = path.resolve(ROOT, '../shared/realdata/deformable3dgs-deform-pth/deform_iteration_10000.pth');

const fixtureBytes = (name: string) => readFileSync(path.join(FIX, name));

interface TensorCheck {
  dtype: string;
  shape: number[];
  sum: number;
  head: number[];
}

function expectTensors(sd: ReturnType<typeof readStateDict>, expected: Record<string, TensorCheck>): void {
  assert.deepEqual([...sd.keys()], Object.keys(expected));
  for (const [k, e] of Object.entries(expected)) {
    const t = sd.get(k)!;
    assert.equal(t.dtype, e.dtype, k);
    assert.deepEqual(t.shape, e.shape, k);
    assert.equal(t.data.length, e.shape.reduce((a, b) => a * b, 1), k);
    assert.deepEqual(Array.from(t.data.subarray(0, e.head.length)), e.head, `${k} first values`);
    let s = 0;
    for (const v of t.data) s += v;
    assert.ok(Math.abs(s - e.sum) <= 1e-9 * Math.max(1, Math.abs(e.sum)) * t.data.length, `${k} sum ${s} vs ${e.sum}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Good files

test('real Deformable-3DGS deform.pth saved on cuda:0', { skip: !existsSync(REAL_PTH) && `absent: ${REAL_PTH}` }, () => {
  const sd = readStateDict(readFileSync(REAL_PTH), 'deform_iteration_10000.pth');
  const keys = [...Array(8).keys()].flatMap((i) => [`linear.${i}.weight`, `linear.${i}.bias`]);
  for (const h of ['gaussian_warp', 'gaussian_rotation', 'gaussian_scaling']) keys.push(`${h}.weight`, `${h}.bias`);
  assert.deepEqual([...sd.keys()], keys);
  const w0 = sd.get('linear.0.weight')!;
  assert.deepEqual(w0.shape, [256, 42]);
  assert.equal(w0.dtype, 'float32');
  assert.equal(w0.device, 'cuda:0');
  assert.deepEqual(sd.get('linear.5.weight')!.shape, [256, 298]);
  assert.deepEqual(sd.get('gaussian_rotation.weight')!.shape, [4, 256]);
  // Reference values from torch.load(..., map_location='cpu') (PyTorch 1.13).
  assert.deepEqual(Array.from(w0.data.subarray(0, 3)), [-0.002155398018658161, 0.05200318247079849, -0.13288989663124084]);
  const sum = (k: string) => sd.get(k)!.data.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum('linear.0.weight') - -12.214934467880084) < 1e-9);
  assert.ok(Math.abs(sum('linear.5.weight') - -183.3919576556998) < 1e-8);
  assert.ok(Math.abs(sum('gaussian_warp.bias') - -0.022631172090768814) < 1e-12);
});

for (const name of ['default', 'blender', 'sixdof', 'small_fp16']) {
  test(`fixture ${name}.pth: every tensor as PyTorch saved it`, () => {
    const doc = JSON.parse(readFileSync(path.join(FIX, `${name}.json`), 'utf8')) as { tensors: Record<string, TensorCheck> };
    expectTensors(readStateDict(fixtureBytes(`${name}.pth`), `${name}.pth`), doc.tensors);
  });
}

test('storage offsets and strides: views into a shared storage, a transposed-in-memory weight', () => {
  // sixdof.pth: branch_w / branch_v are rows 0..2 and 3..5 of one [6,64] storage (offset 192),
  // linear.2.weight has stride (1, 64). Values are checked against PyTorch's in the test above;
  // here, that the two views really differ and the transposed one is row-major now.
  const zip = unzipSync(fixtureBytes('sixdof.pth'));
  const storages = Object.keys(zip).filter((k) => k.includes('/data/'));
  const sd = readStateDict(fixtureBytes('sixdof.pth'), 'sixdof.pth');
  assert.equal(storages.length, sd.size - 1, 'branch_w and branch_v share one storage');
  assert.notDeepEqual(Array.from(sd.get('branch_w.weight')!.data.subarray(0, 8)), Array.from(sd.get('branch_v.weight')!.data.subarray(0, 8)));
});

test('big-endian byteorder: storages byte-swapped', () => {
  const files = unzipSync(fixtureBytes('small.pth'));
  const prefix = 'small/';
  const swapped: Zippable = {};
  for (const [k, v] of Object.entries(files)) {
    if (k.startsWith(`${prefix}data/`)) {
      const b = v.slice();
      for (let i = 0; i < b.length; i += 4) b.subarray(i, i + 4).reverse();
      swapped[k] = b;
    } else swapped[k] = v;
  }
  swapped[`${prefix}byteorder`] = new TextEncoder().encode('big');
  const le = readStateDict(fixtureBytes('small.pth'), 'small.pth');
  const be = readStateDict(zipSync(swapped, { level: 0 }), 'small-be.pth');
  for (const [k, t] of le) assert.deepEqual(be.get(k)!.data, t.data, k);
});

// ---------------------------------------------------------------------------------------------
// Malformed files

/** The `small` fixture with its zip entries edited, re-zipped (stored). */
function edited(edit: (files: Record<string, Uint8Array>) => void): Uint8Array {
  const files = unzipSync(fixtureBytes('small.pth'));
  edit(files);
  return zipSync(files as Zippable, { level: 0 });
}

const PKL = 'small/data.pkl';
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const fromLatin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

function throwsPth(bytes: Uint8Array, re: RegExp, key?: string): void {
  assert.throws(
    () => readStateDict(bytes, 'bad.pth'),
    (e: unknown) => {
      assert.ok(e instanceof PthError, `PthError expected, got ${String(e)}`);
      assert.match(e.message, /^bad\.pth: /, 'the message names the file');
      assert.match(e.message, re);
      assert.equal(e.file, 'bad.pth');
      if (key !== undefined) assert.equal(e.key, key);
      return true;
    },
  );
}

test('legacy (non-zip) serialization is refused with the re-save hint', () => {
  const legacy = fixtureBytes('legacy.pth'); // written by torch.save(..., _use_new_zipfile_serialization=False)
  throwsPth(legacy, /legacy PyTorch serialization is not supported: re-save with torch\.save\(\.\.\., _use_new_zipfile_serialization=True\)/);
});

test('not a zip at all', () => {
  throwsPth(new TextEncoder().encode('hello world, not a checkpoint'), /not a PyTorch checkpoint: expected a zip archive .* found bytes 68 65 6c 6c/);
  throwsPth(new Uint8Array(0), /not a PyTorch checkpoint/);
});

test('truncated zip', () => {
  const full = fixtureBytes('small.pth');
  throwsPth(full.subarray(0, full.length >> 1), /corrupt or truncated zip archive/);
  throwsPth(full.subarray(0, 100), /corrupt or truncated zip archive/);
  throwsPth(full.subarray(0, full.length - 10), /corrupt or truncated zip archive/);
});

test('zip without data.pkl', () => {
  throwsPth(
    edited((f) => {
      delete f[PKL];
    }),
    /no <archive>\/data\.pkl in the zip/,
  );
});

test('corrupt data.pkl: unknown opcode, with its byte offset', () => {
  const bytes = edited((f) => {
    const p = f[PKL]!.slice();
    p[29] = 0xff; // EMPTY_TUPLE after `c collections OrderedDict / q 0` (see the disassembly)
    f[PKL] = p;
  });
  throwsPth(bytes, /small\/data\.pkl: unsupported pickle opcode 0xff at byte 29/);
});

test('corrupt data.pkl: an opcode state_dicts never use is refused', () => {
  const bytes = edited((f) => {
    const p = f[PKL]!.slice();
    p[29] = 0x82; // EXT1
    f[PKL] = p;
  });
  throwsPth(bytes, /unsupported pickle opcode 0x82 at byte 29/);
});

test('corrupt data.pkl: a global other than the state_dict ones is refused', () => {
  const bytes = edited((f) => {
    f[PKL] = fromLatin1(latin1(f[PKL]!).replace('collections\nOrderedDict\n', 'os\nsystem\n'));
  });
  throwsPth(bytes, /unsupported pickle global os\.system at byte 2/);
});

test('truncated data.pkl', () => {
  const bytes = edited((f) => {
    f[PKL] = f[PKL]!.subarray(0, 600);
  });
  throwsPth(bytes, /small\/data\.pkl: truncated pickle/);
});

test('a storage missing from the zip: the error names the key', () => {
  throwsPth(
    edited((f) => {
      delete f['small/data/0'];
    }),
    /linear\.0\.weight: storage small\/data\/0 is missing from the zip/,
    'linear.0.weight',
  );
});

test('a storage file shorter than its element count', () => {
  throwsPth(
    edited((f) => {
      f['small/data/1'] = f['small/data/1']!.subarray(0, 100);
    }),
    /linear\.0\.bias: storage small\/data\/1 has 100 bytes but its FloatStorage holds 64 elements \(256 bytes\)/,
    'linear.0.bias',
  );
});

test('a shape/stride that reaches past its storage', () => {
  const bytes = edited((f) => {
    const s = latin1(f[PKL]!);
    const at = s.indexOf('linear.0.bias');
    const size = s.indexOf('K\x40\x85', at); // size tuple (64,): BININT1 64, TUPLE1
    assert.ok(at > 0 && size > at);
    f[PKL] = fromLatin1(s.slice(0, size) + 'K\x41\x85' + s.slice(size + 3));
  });
  throwsPth(bytes, /linear\.0\.bias: storage small\/data\/1 is too small: shape \[65\] with stride \[1\] at offset 0 reaches element 64, the storage holds 64/, 'linear.0.bias');
});

test('an unsupported dtype is named with its key', () => {
  const bytes = edited((f) => {
    f[PKL] = fromLatin1(latin1(f[PKL]!).replace('torch\nFloatStorage\n', 'torch\nComplexFloatStorage\n'));
  });
  throwsPth(bytes, /linear\.0\.weight: unsupported dtype: torch\.ComplexFloatStorage/, 'linear.0.weight');
});

test('a bad byteorder record', () => {
  throwsPth(
    edited((f) => {
      f['small/byteorder'] = new TextEncoder().encode('middle');
    }),
    /byteorder file says 'middle'/,
  );
});
