// The accuracy test, honest and untuned: on the demo scene, for every ground-truth part,
// click its most-covered pixel in dataset views at their own times with one default θ; the
// label mask of the selection vs the mask of the ground-truth part ids: mean IoU >= 0.9.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_PATCH, DEFAULT_THETA } from '../../server/protocol/room';
import { SceneRuntime } from '../../server/render/runtime';
import { SemanticEngine } from '../../server/semantic/engine';
import { SceneStore } from '../../server/scene/store';
import { demoDataDir, TEST_OUTPUT } from '../helpers/data';
import { interiorPixel, iou, maskOf, partMap } from '../helpers/parts';

const VIEWS_PER_PART = 5;
/** Parts smaller than this many pixels in a view are not clickable there (an annotator would zoom). */
const MIN_PART_PIXELS = 200;

test('click selection on the demo scene reaches mean IoU >= 0.9 over parts and views', async () => {
  const store = new SceneStore(await demoDataDir());
  const rt = await SceneRuntime.load(store, 'demo', 'cpu');
  const partIds = rt.bundle.partIds!;
  const names = rt.bundle.header.partNames!;
  const engine = new SemanticEngine(rt, null);
  const views = rt.bundle.header.views;
  const rows: { part: string; view: string; t: number; iou: number; pixels: number }[] = [];
  try {
    for (let p = 0; p < names.length; p++) {
      let used = 0;
      // Walk the views in a part-dependent order so parts are judged on different frames.
      for (let k = 0; k < views.length && used < VIEWS_PER_PART; k++) {
        const v = views[(p * 7 + k * 13) % views.length]!;
        const gtMap = await partMap(rt, partIds, v.camera, v.time);
        const gt = gtMap.map((x) => (x === p + 1 ? 1 : 0));
        const pixels = gt.reduce((a, b) => a + b, 0);
        if (pixels < MIN_PART_PIXELS) continue;
        const px = interiorPixel(gt, v.camera.width, v.camera.height)!;
        const { feature } = await engine.clickFeature({ camera: v.camera, t: v.time, x: px.x, y: px.y, patch: DEFAULT_PATCH });
        const scores = await engine.similarityTo(feature);
        const members = new Uint8Array(scores.length);
        for (let i = 0; i < members.length; i++) members[i] = scores[i]! >= DEFAULT_THETA ? 1 : 0;
        const pred = await maskOf(rt, members, v.camera, v.time);
        rows.push({ part: names[p]!, view: `${v.split} ${v.index}`, t: v.time, iou: iou(pred, gt), pixels });
        used++;
      }
      assert.equal(used, VIEWS_PER_PART, `part ${names[p]} is visible in at least ${VIEWS_PER_PART} views`);
    }
  } finally {
    rt.dispose();
  }
  const perPart = names.map((n) => {
    const r = rows.filter((x) => x.part === n);
    return { part: n, meanIoU: r.reduce((a, b) => a + b.iou, 0) / r.length, minIoU: Math.min(...r.map((x) => x.iou)), views: r.length };
  });
  const mean = rows.reduce((a, b) => a + b.iou, 0) / rows.length;
  mkdirSync(TEST_OUTPUT, { recursive: true });
  writeFileSync(path.join(TEST_OUTPUT, 'selection-accuracy.json'), JSON.stringify({ theta: DEFAULT_THETA, mean, perPart, rows }, null, 1));
  console.log(`selection accuracy (theta ${DEFAULT_THETA}): mean IoU ${mean.toFixed(3)}`);
  for (const r of perPart) console.log(`  ${r.part.padEnd(14)} mean ${r.meanIoU.toFixed(3)}  min ${r.minIoU.toFixed(3)}  (${r.views} views)`);
  assert.ok(mean >= 0.9, `mean IoU ${mean.toFixed(3)} >= 0.9`);
});
