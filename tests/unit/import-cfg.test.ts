// cfg_args (a printed argparse Namespace): Python literal parsing, typed fields by name,
// tolerance for missing and unknown keys, errors with positions, and the real DGD file.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CfgArgsError, parseCfgArgs } from '../../server/import/cfg-args';
import { ImportInputError } from '../../server/import/datasets/common';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REAL_CFG = resolve(repoRoot, '../shared/realdata/dgd-splitcookie-cfg/cfg_args');

describe('parseCfgArgs: Python literals', () => {
  test('strings with both quote styles and escapes', () => {
    const c = parseCfgArgs(
      String.raw`Namespace(a='it\'s', b="say \"hi\"", c='tab\there\nnl', d='\x41\u00e9\U0001F600', e='back\\slash', f="mixed 'quotes'", g='\q', h=r'C:\path\n', i='', j='\101')`,
      'cfg_args',
    );
    assert.deepEqual(c.raw, {
      a: "it's",
      b: 'say "hi"',
      c: 'tab\there\nnl',
      d: 'A\u00e9\u{1F600}',
      e: 'back\\slash',
      f: "mixed 'quotes'",
      g: '\\q',
      h: 'C:\\path\\n',
      i: '',
      j: 'A',
    });
  });

  test('numbers, booleans, None, containers and calls', () => {
    const c = parseCfgArgs(
      "Namespace(i=3, n=-1, f=0.01, e=1e-05, E=2.5E+3, big=1_000, hex=0x1F, inf=inf, ninf=-inf, nan=nan, t=True, fa=False, no=None, " +
        "l=[1, 2.5, 'x'], tu=(7000, 30000), one=(5,), empty=[], et=(), nested=[[1, 2], (3, [4])], d={'k': 1, 'j': [True]}, s={1, 2}, " +
        "dev=device(type='cuda', index=0), p=PosixPath('/a/b'))\n",
      'cfg_args',
    );
    const r = c.raw;
    assert.equal(r.i, 3);
    assert.equal(r.n, -1);
    assert.equal(r.f, 0.01);
    assert.equal(r.e, 1e-5);
    assert.equal(r.E, 2500);
    assert.equal(r.big, 1000);
    assert.equal(r.hex, 31);
    assert.equal(r.inf, Infinity);
    assert.equal(r.ninf, -Infinity);
    assert.ok(Number.isNaN(r.nan), `nan: ${String(r.nan)}`);
    assert.equal(r.t, true);
    assert.equal(r.fa, false);
    assert.equal(r.no, null);
    assert.deepEqual(r.l, [1, 2.5, 'x']);
    assert.deepEqual(r.tu, [7000, 30000]);
    assert.deepEqual(r.one, [5]);
    assert.deepEqual(r.empty, []);
    assert.deepEqual(r.et, []);
    assert.deepEqual(r.nested, [[1, 2], [3, [4]]]);
    assert.deepEqual(r.d, { k: 1, j: [true] });
    assert.deepEqual(r.s, [1, 2]);
    assert.deepEqual(r.dev, { $call: 'device', args: [], kwargs: { type: 'cuda', index: 0 } });
    assert.deepEqual(r.p, { $call: 'PosixPath', args: ['/a/b'], kwargs: {} });
  });

  test('whitespace and line breaks between tokens, empty Namespace', () => {
    assert.deepEqual(parseCfgArgs('  Namespace(\n  a = 1 ,\n  b=[ 1 ,\n 2 ] )  \n', 'x').raw, { a: 1, b: [1, 2] });
    assert.deepEqual(parseCfgArgs('Namespace()', 'x').raw, {});
  });
});

describe('parseCfgArgs: typed fields by name', () => {
  test('all known fields', () => {
    const c = parseCfgArgs(
      "Namespace(sh_degree=2, source_path='/data/lego', model_path='output/lego', white_background=True, is_blender=True, is_6dof=False, semantic_dimension=16, extra_thing=[1])",
      'cfg_args',
    );
    assert.equal(c.shDegree, 2);
    assert.equal(c.sourcePath, '/data/lego');
    assert.equal(c.modelPath, 'output/lego');
    assert.equal(c.whiteBackground, true);
    assert.equal(c.isBlender, true);
    assert.equal(c.is6dof, false);
    assert.equal(c.semanticDimension, 16);
    assert.deepEqual(c.raw.extra_thing, [1]);
  });

  test('missing keys stay undefined', () => {
    const c = parseCfgArgs("Namespace(source_path='/x')", 'cfg_args');
    assert.deepEqual(c, { raw: { source_path: '/x' }, sourcePath: '/x' });
  });

  test('a known key with the wrong type is an error naming key and file', () => {
    assert.throws(() => parseCfgArgs("Namespace(sh_degree='3')", 'run/cfg_args'), (e: Error) => {
      assert.ok(e instanceof CfgArgsError && e instanceof ImportInputError, `${e.name}: ${e.message}`);
      assert.match(e.message, /^run\/cfg_args: sh_degree is the string "3", expected an integer 0\.\.3$/);
      return true;
    });
    assert.throws(() => parseCfgArgs('Namespace(sh_degree=4)', 'cfg_args'), /sh_degree is 4/);
    assert.throws(() => parseCfgArgs('Namespace(white_background=1)', 'cfg_args'), /white_background is 1, expected True or False/);
    assert.throws(() => parseCfgArgs('Namespace(source_path=None)', 'cfg_args'), /source_path is None, expected a string/);
    assert.throws(() => parseCfgArgs('Namespace(semantic_dimension=3.5)', 'cfg_args'), /semantic_dimension is 3\.5/);
  });
});

describe('parseCfgArgs: malformed text', () => {
  const cases: [string, string, RegExp][] = [
    ['JSON instead of a Namespace', '{"sh_degree": 3}', /line 1, column 1: not a printed argparse Namespace: expected "Namespace\(", found "\{"/],
    ['another object', "Config(sh_degree=3)", /not a printed argparse Namespace: expected "Namespace\(", found "Config"/],
    ['empty file', '', /line 1, column 1: not a printed argparse Namespace: expected "Namespace\(", found the end of the text/],
    ['unterminated string', "Namespace(a=1,\n b='abc)", /line 2, column 4: unterminated string/],
    ['missing =', 'Namespace(a 1)', /line 1, column 13: expected "=", found the number 1/],
    ['missing comma', 'Namespace(a=1 b=2)', /line 1, column 15: expected ",", found "b"/],
    ['unclosed', 'Namespace(a=1', /expected ",", found the end of the text/],
    ['trailing garbage', 'Namespace(a=1) extra', /line 1, column 16: unexpected "extra" after the closing/],
    ['unknown bare name', 'Namespace(a=foo)', /column 13: unknown name foo/],
    ['object repr', 'Namespace(a=<object at 0x1>)', /column 13: unexpected character "<"/],
    ['bad escape', "Namespace(a='\\x4')", /malformed \\x escape/],
    ['positional in Namespace', "Namespace('x')", /expected an argument name, found the string "x"/],
    ['complex', 'Namespace(a=1j)', /complex numbers are not supported/],
  ];
  for (const [name, text, re] of cases) {
    test(name, () => {
      assert.throws(() => parseCfgArgs(text, 'model/cfg_args'), (e: Error) => {
        assert.ok(e instanceof CfgArgsError, `${e.name}: ${e.message}`);
        assert.ok(e.message.startsWith('model/cfg_args: '), e.message);
        assert.match(e.message, re);
        return true;
      });
    });
  }
});

describe('real third-party file: dgd-splitcookie-cfg/cfg_args', () => {
  const skip = existsSync(REAL_CFG) ? false : `real data not found at ${REAL_CFG} (expected ../shared/realdata beside the checkout)`;

  test('parses a real DGD cfg_args by name (no "ratio", extra DGD keys)', { skip }, () => {
    const c = parseCfgArgs(readFileSync(REAL_CFG, 'utf8'), REAL_CFG);
    assert.equal(c.shDegree, 3);
    assert.equal(c.sourcePath, '/home/jordlam/DGD-Dynamic-3D-Gaussians-Distillation/data/split-cookie');
    assert.equal(c.modelPath, 'output/cookie_DINO');
    assert.equal(c.whiteBackground, false);
    assert.equal(c.isBlender, false);
    assert.equal(c.is6dof, false);
    assert.equal(c.semanticDimension, 384);
    assert.equal(c.raw.fundation_model, 'DINOv2');
    assert.equal(c.raw.Lseg_model_path, '');
    assert.equal(c.raw.resolution, -1);
    assert.equal(c.raw.data_device, 'cuda');
    assert.equal('ratio' in c.raw, false);
    assert.equal(Object.keys(c.raw).length, 14);
  });
});
