// `splatsync eval` logic: IoU against hand-computed cases, every input layout, label matching by
// name (and by index for unnamed DAVIS masks), and bad input reported per file while the rest is
// still evaluated.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { encodeCocoRle } from '../../server/export/coco-rle';
import { encodeGrayPng, encodeIndexedPng } from '../../server/export/png';
import { evaluateMasks, formatReport, maskIoU } from '../../server/eval/index';

const W = 4;
const H = 4;
/** A 4x4 mask from a picture: '#' = 1. */
const pic = (s: string) => Uint8Array.from(s.replace(/\s+/g, ''), (c) => (c === '#' ? 1 : 0));

// Reference and predictions for two labels over three frames, IoUs worked out by hand.
const REF: Record<string, Record<string, Uint8Array>> = {
  f0: { cup: pic('##.. ##.. .... ....'), ball: pic('.... .... ..## ..##') },
  f1: { cup: pic('#### .... .... ....'), ball: pic('.... .... .... ....') },
  f2: { cup: pic('.... .##. .##. ....'), ball: pic('#... .... .... ...#') },
};
const PRED: Record<string, Record<string, Uint8Array>> = {
  // cup: inter 3, union 5 -> 0.6; ball: inter 4, union 4 -> 1
  f0: { cup: pic('##.. #... .#.. ....'), ball: pic('.... .... ..## ..##') },
  // cup: inter 2, union 4 -> 0.5; ball: both empty -> undefined (left out)
  f1: { cup: pic('##.. .... .... ....'), ball: pic('.... .... .... ....') },
  // cup: inter 0, union 5 -> 0; ball: inter 1, union 3 -> 1/3
  f2: { cup: pic('...# .... .... ....'), ball: pic('#... .#.. .... ....') },
};
const EXPECTED: Record<string, Record<string, number | null>> = {
  f0: { cup: 0.6, ball: 1 },
  f1: { cup: 0.5, ball: null },
  f2: { cup: 0, ball: 1 / 3 },
};
// Per label: cup (0.6 + 0.5 + 0) / 3 = 0.3667; ball (1 + 1/3) / 2 = 0.6667; mIoU = 0.5167.
const CUP = (0.6 + 0.5 + 0) / 3;
const BALL = (1 + 1 / 3) / 2;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'splatsync-eval-'));
let dirCount = 0;
const newDir = (name: string) => {
  const d = path.join(tmp, `${++dirCount}-${name}`);
  mkdirSync(d, { recursive: true });
  return d;
};

function writePerLabel(dir: string, set: Record<string, Record<string, Uint8Array>>): void {
  for (const [frame, labels] of Object.entries(set)) {
    mkdirSync(path.join(dir, frame), { recursive: true });
    for (const [label, m] of Object.entries(labels)) writeFileSync(path.join(dir, frame, `${label}.png`), encodeGrayPng(m.map((v) => v * 255), W, H));
  }
}

function writeDavis(dir: string, set: Record<string, Record<string, Uint8Array>>, order: string[], withMap: boolean): void {
  const palette = Uint8Array.from([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
  for (const [frame, labels] of Object.entries(set)) {
    const idx = new Uint8Array(W * H);
    order.forEach((l, k) => labels[l]?.forEach((v, i) => v && (idx[i] = k + 1)));
    writeFileSync(path.join(dir, `${frame}.png`), encodeIndexedPng(idx, W, H, palette));
  }
  if (withMap) writeFileSync(path.join(dir, 'labels.json'), JSON.stringify({ labels: order.map((name, k) => ({ index: k + 1, name })) }));
}

function checkExpected(r: Awaited<ReturnType<typeof evaluateMasks>>): void {
  for (const row of r.rows) {
    const e = EXPECTED[row.frame]![row.label]!;
    if (e === null) assert.equal(row.iou, null, `${row.frame}/${row.label}`);
    else assert.ok(Math.abs(row.iou! - e) < 1e-12, `${row.frame}/${row.label}: ${row.iou} vs ${e}`);
  }
  assert.equal(r.rows.length, 6);
  const cup = r.perLabel.find((l) => l.label === 'cup')!;
  const ball = r.perLabel.find((l) => l.label === 'ball')!;
  assert.ok(Math.abs(cup.meanIoU! - CUP) < 1e-12);
  assert.ok(Math.abs(ball.meanIoU! - BALL) < 1e-12);
  assert.equal(ball.emptyFrames, 1);
  assert.ok(Math.abs(r.mIoU! - (CUP + BALL) / 2) < 1e-12);
  assert.ok(Math.abs(r.meanOverPairs! - (0.6 + 1 + 0.5 + 0 + 1 / 3) / 5) < 1e-12);
}

test('maskIoU on hand-computed cases', () => {
  assert.deepEqual(maskIoU(PRED.f0!.cup!, REF.f0!.cup!), { iou: 0.6, intersection: 3, union: 5, predPixels: 4, refPixels: 4 });
  assert.equal(maskIoU(new Uint8Array(16), new Uint8Array(16)).iou, null);
  assert.equal(maskIoU(pic('#### #### #### ####'), new Uint8Array(16)).iou, 0);
  assert.equal(maskIoU(Uint8Array.from([255, 0]), Uint8Array.from([1, 0])).iou, 1, 'any non-zero value is foreground');
});

test('per-label PNGs vs DAVIS with a label map vs COCO: the same hand-computed table', async () => {
  const ref = newDir('ref');
  writePerLabel(ref, REF);
  const pred = newDir('pred-png');
  writePerLabel(pred, PRED);
  checkExpected(await evaluateMasks(pred, ref));

  const davis = newDir('pred-davis');
  writeDavis(davis, PRED, ['ball', 'cup'], true);
  const r = await evaluateMasks(davis, ref);
  assert.equal(r.pred.layout, 'davis');
  assert.equal(r.pred.namedBy, 'labels.json');
  assert.deepEqual(r.problems, []);
  checkExpected(r);

  const coco = path.join(newDir('pred-coco'), 'pred.json');
  const frames = Object.keys(PRED);
  writeFileSync(
    coco,
    JSON.stringify({
      images: frames.map((f, i) => ({ id: i + 1, file_name: `images/${f}.jpg`, width: W, height: H })),
      categories: [{ id: 1, name: 'cup' }, { id: 2, name: 'ball' }],
      annotations: frames.flatMap((f, i) =>
        (['cup', 'ball'] as const).filter((l) => PRED[f]![l]!.some((v) => v)).map((l, j) => ({ id: i * 10 + j, image_id: i + 1, category_id: l === 'cup' ? 1 : 2, segmentation: encodeCocoRle(PRED[f]![l]!, W, H), iscrowd: 0 })),
      ),
    }),
  );
  const rc = await evaluateMasks(coco, ref);
  assert.equal(rc.pred.layout, 'coco');
  assert.deepEqual(rc.problems, []);
  checkExpected(rc);

  const text = formatReport(rc);
  assert.match(text, /mIoU 0\.5167 over 2 labels/);
  assert.match(text, /f1 +- +0\.5000/);
});

test('DAVIS masks without names are matched by index to a side that knows its indices', async () => {
  const ref = newDir('ref-davis-named');
  writeDavis(ref, REF, ['cup', 'ball'], true);
  const pred = newDir('pred-davis-unnamed');
  writeDavis(pred, PRED, ['cup', 'ball'], false);
  const r = await evaluateMasks(pred, ref);
  assert.equal(r.pred.namedBy, 'indices');
  assert.match(r.notes.join('\n'), /matched to the other side's labels by index \(1=cup, 2=ball\)/);
  checkExpected(r);
});

test('bad input is reported per file and the rest is still evaluated', async () => {
  const ref = newDir('ref-bad');
  writePerLabel(ref, REF);
  const pred = newDir('pred-bad');
  // f0 as expected; f1: the cup mask is a corrupt PNG, plus a label the reference lacks;
  // f2 missing; an extra frame f9 the reference does not have; a wrong-size frame f3 exists on both.
  writePerLabel(pred, { f0: PRED.f0!, f9: PRED.f0! });
  mkdirSync(path.join(pred, 'f1'));
  const good = encodeGrayPng(PRED.f1!.cup!.map((v) => v * 255), W, H);
  const corrupt = good.slice();
  corrupt[40] = corrupt[40]! ^ 0x55;
  writeFileSync(path.join(pred, 'f1', 'cup.png'), corrupt);
  writeFileSync(path.join(pred, 'f1', 'ball.png'), encodeGrayPng(PRED.f1!.ball!.map((v) => v * 255), W, H));
  writeFileSync(path.join(pred, 'f1', 'cat.png'), encodeGrayPng(new Uint8Array(W * H), W, H));
  mkdirSync(path.join(ref, 'f3'));
  writeFileSync(path.join(ref, 'f3', 'cup.png'), encodeGrayPng(new Uint8Array(W * H).fill(255), W, H));
  mkdirSync(path.join(pred, 'f3'));
  writeFileSync(path.join(pred, 'f3', 'cup.png'), encodeGrayPng(new Uint8Array(8 * 8).fill(255), 8, 8));
  writeFileSync(path.join(pred, 'f3', 'ball.png'), encodeGrayPng(new Uint8Array(8 * 8), 8, 8));

  const r = await evaluateMasks(pred, ref);
  const has = (re: RegExp, side?: string) => r.problems.some((p) => re.test(`${p.file} ${p.problem}`) && (!side || p.side === side));
  assert.ok(has(/missing frame "f2"/, 'pred'), 'missing frame');
  assert.ok(has(/no reference for frame "f9"/, 'ref'), 'extra frame');
  assert.ok(has(/unknown label "cat"/, 'pred'), 'unknown label');
  assert.ok(has(/f1\/cup\.png CRC mismatch/, 'pred'), 'corrupt PNG, named by file');
  assert.ok(has(/wrong size: 8x8, the reference is 4x4/, 'pred'), 'wrong size');
  // Still evaluated: f0 (both labels), f1 ball (both empty: undefined).
  assert.deepEqual(r.rows.map((x) => `${x.frame}/${x.label}`).sort(), ['f0/ball', 'f0/cup', 'f1/ball']);
  assert.ok(Math.abs(r.mIoU! - (0.6 + 1) / 2) < 1e-12);

  // A COCO file with a polygon annotation and an unknown image: reported, the rest evaluated.
  const coco = path.join(newDir('coco-bad'), 'c.json');
  writeFileSync(coco, JSON.stringify({
    images: [{ id: 1, file_name: 'f0.png', width: W, height: H }],
    categories: [{ id: 1, name: 'cup' }, { id: 2, name: 'ball' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, segmentation: [[0, 0, 2, 0, 2, 2]] },
      { id: 2, image_id: 1, category_id: 2, segmentation: encodeCocoRle(PRED.f0!.ball!, W, H) },
      { id: 3, image_id: 7, category_id: 2, segmentation: encodeCocoRle(PRED.f0!.ball!, W, H) },
    ],
  }));
  const rc = await evaluateMasks(coco, ref);
  assert.ok(rc.problems.some((p) => /polygon segmentations are not supported/.test(p.problem)));
  assert.ok(rc.problems.some((p) => /unknown image 7/.test(p.problem)));
  assert.deepEqual(rc.rows.map((x) => `${x.frame}/${x.label}:${x.iou}`), ['f0/ball:1']);

  // Nothing usable at all.
  const none = await evaluateMasks(path.join(tmp, 'does-not-exist'), ref);
  assert.equal(none.rows.length, 0);
  assert.equal(none.mIoU, null);
  assert.ok(none.problems.some((p) => /does not exist/.test(p.problem)));
});

test('the word-skipping IoU equals the plain one for every kind of mask pair', async () => {
  const { viewIoU } = await import('../../server/eval/index');
  const { mulberry32 } = await import('../../server/util/random');
  const rnd = mulberry32(11);
  for (const n of [1, 3, 4, 17, 1000, 4099]) {
    // Sparse labels in runs, on 8-bit buffers at an aligned and a misaligned offset.
    const labelsA = new Uint8Array(n);
    const labelsB = new Uint8Array(n);
    let a = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      if (rnd() < 0.05) a = rnd() < 0.6 ? 0 : 1 + Math.floor(rnd() * 3);
      if (rnd() < 0.05) b = rnd() < 0.6 ? 0 : 1 + Math.floor(rnd() * 3);
      labelsA[i] = a;
      labelsB[i] = b;
    }
    const shifted = new Uint8Array(n + 1).subarray(1);
    shifted.set(labelsA);
    for (const k of [1, 2, 3]) {
      const ma = labelsA.map((v) => (v === k ? 200 : 0));
      const mb = labelsB.map((v) => (v === k ? 1 : 0));
      const want = maskIoU(ma, mb);
      assert.deepEqual(viewIoU({ data: ma, value: null }, { data: mb, value: null }), want);
      assert.deepEqual(viewIoU({ data: labelsA, value: k }, { data: mb, value: null }), want);
      assert.deepEqual(viewIoU({ data: ma, value: null }, { data: labelsB, value: k }), want);
      assert.deepEqual(viewIoU({ data: labelsA, value: k }, { data: labelsB, value: k }), want);
      assert.deepEqual(viewIoU({ data: shifted, value: k }, { data: labelsB, value: k }), want, 'misaligned');
      assert.deepEqual(viewIoU({ data: Uint16Array.from(ma), value: null }, { data: labelsB, value: k }), want, '16-bit');
    }
  }
});

test('uploaded reference zips: unpacked inside the folder, wrapper folder skipped, traversal refused', async () => {
  const { zipSync } = await import('fflate');
  const { unpackZip } = await import('../../server/eval/upload');
  const png = (m: Uint8Array) => encodeGrayPng(m.map((v) => v * 255), W, H);
  const zip = zipSync({
    'my refs/f0/cup.png': png(REF.f0!.cup!),
    'my refs/f0/ball.png': png(REF.f0!.ball!),
    'my refs/f1/cup.png': png(REF.f1!.cup!),
    '__MACOSX/my refs/._f0': new Uint8Array(3),
  });
  const dir = newDir('upload');
  const { files, root } = await unpackZip(zip, dir);
  assert.deepEqual(files.sort(), ['my refs/f0/ball.png', 'my refs/f0/cup.png', 'my refs/f1/cup.png']);
  assert.equal(root, path.join(dir, 'my refs'));
  const pred = newDir('pred-for-upload');
  writePerLabel(pred, { f0: PRED.f0!, f1: { cup: PRED.f1!.cup! } });
  const r = await evaluateMasks(pred, root);
  assert.deepEqual(r.rows.map((x) => `${x.frame}/${x.label}:${x.iou}`).sort(), ['f0/ball:1', 'f0/cup:0.6', 'f1/ball:null', 'f1/cup:0.5']);

  await assert.rejects(unpackZip(zipSync({ '../evil.png': new Uint8Array(1) }), newDir('evil')), /points outside the upload/);
  await assert.rejects(unpackZip(new Uint8Array([1, 2, 3]), newDir('junk')), /cannot unpack/);
  await assert.rejects(unpackZip(zip, newDir('limit'), { maxFiles: 2 }), /more than 2 files/);
});
