// Issue #8 benchmark: mask export of 150 views x 5 labels at 800x800 on the CPU (target <= 60 s,
// with progress) in all three formats, and `eval` of the same set (target <= 10 s).
//
// The scene is the demo (about 60K Gaussians, 31 keyframes); its 80 dataset cameras are cycled
// with times spread over [0, 1] to make 150 views. Five labels group the demo's ground-truth parts
// (figure upper body, arms, legs, ball, table + top; the ground stays unlabelled) and are given
// as a label channel, so the figure measures the export (render + label channel + encoders +
// disk), not click similarity (one pass over the features per label, done once per export).
// Eval reads the per-label PNGs as predictions and the DAVIS masks as reference (900 files).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DatasetView } from '../protocol/events';
import { evaluateMasks } from '../eval/index';
import { DirSink, exportMasks } from '../export/index';
import { SceneRuntime } from '../render/runtime';
import type { RoomState } from '../rooms/state';
import { generateDemoScene } from '../scene/demo';
import type { SceneBundle } from '../scene/bundle';
import { floatToHalf } from '../scene/half';
import { result, type BenchResult } from './types';

const TARGET_EXPORT_MS = 60_000;
const TARGET_EVAL_MS = 10_000;
const VIEWS = 150;
const LABEL_GROUPS: [string, string[]][] = [
  ['upper body', ['torso', 'head']],
  ['arms', ['left arm', 'right arm']],
  ['legs', ['left leg', 'right leg']],
  ['ball', ['ball']],
  ['furniture', ['table', 'spinning top']],
];

export async function benchExport(opts: { quick?: boolean; log?: (m: string) => void } = {}): Promise<BenchResult[]> {
  const log = opts.log ?? (() => {});
  const nViews = opts.quick ? 30 : VIEWS;
  const d = generateDemoScene();
  const bundle: SceneBundle = {
    header: {
      format: 'splatsync-bundle', version: 1, id: 'demo', name: d.name, createdAt: '', source: 'bench', count: d.cloud.count,
      shDegree: d.cloud.shDegree, featureDim: d.features.dim, background: d.background, home: d.home, views: d.views,
      keyframeTimes: d.keyframes.map((k) => k.t), arrays: {},
    },
    cloud: d.cloud,
    featuresHalf: floatToHalf(d.features.data),
    partIds: d.partIds,
    keyframes: d.keyframes,
    deformNet: null,
  };
  const views: DatasetView[] = Array.from({ length: nViews }, (_, i) => ({ split: 'train', index: i, time: i / (nViews - 1), camera: d.views[i % d.views.length]!.camera }));
  const labels = new Uint8Array(d.cloud.count);
  const order: string[] = [];
  const state: RoomState = { version: 1, labels: new Map() };
  LABEL_GROUPS.forEach(([name, parts], k) => {
    const id = `l${k + 1}`;
    order.push(id);
    state.labels.set(id, { id, name, colour: '#3366cc', visible: true, order: k, combine: 'union', createdBy: 'bench', selections: [], edit: { tint: null, hidden: false, opacity: 1 } });
    const ids = parts.map((p) => d.partNames.indexOf(p));
    for (let i = 0; i < labels.length; i++) if (ids.includes(d.partIds[i]!)) labels[i] = k + 1;
  });

  const rt = await SceneRuntime.fromBundle(bundle, 'cpu');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'splatsync-bench-export-'));
  try {
    log(`mask export: ${nViews} views x ${LABEL_GROUPS.length} labels at 800x800 (png, davis, coco)...`);
    const out = path.join(dir, 'masks');
    let lastLogged = 0;
    const t0 = performance.now();
    const res = await exportMasks({
      runtime: rt,
      state,
      roomId: 'bench',
      channel: { labels, order },
      sink: await DirSink.open(out),
      formats: ['png', 'davis', 'coco'],
      views,
      onProgress: (p) => {
        if (p.fraction - lastLogged >= 0.25) {
          lastLogged = p.fraction;
          log(`  ${(p.fraction * 100).toFixed(0)}% (${p.done}/${p.total} views)`);
        }
      },
    });
    const exportMs = performance.now() - t0;
    const tm = res.manifest.timings;

    log(`eval: ${nViews} frames x ${LABEL_GROUPS.length} labels (per-label PNGs vs DAVIS)...`);
    const e0 = performance.now();
    const report = await evaluateMasks(path.join(out, 'png'), path.join(out, 'davis'));
    const evalMs = performance.now() - e0;
    if (report.problems.length || report.rows.length !== nViews * LABEL_GROUPS.length || (report.mIoU !== null && report.mIoU < 1)) {
      throw new Error(`bench eval: expected ${nViews * LABEL_GROUPS.length} identical pairs, got ${report.rows.length} (mIoU ${report.mIoU}, ${report.problems.length} problems)`);
    }
    const scale = VIEWS / nViews; // quick mode: scaled to 150 views for the comparison with the target
    return [
      result(
        `mask export ${VIEWS} views x 5 labels 800x800 (png+davis+coco)`,
        'ms',
        [exportMs * scale],
        TARGET_EXPORT_MS,
        'max',
        `${(exportMs / nViews).toFixed(1)} ms/view: render ${(tm.renderMs / nViews).toFixed(1)}, label maps + encoders + writes ${(tm.encodeMs / nViews).toFixed(1)}${opts.quick ? `; measured on ${nViews} views, scaled` : ''}; ${d.cloud.count} Gaussians, CPU`,
      ),
      result(
        `eval ${VIEWS} frames x 5 labels`,
        'ms',
        [evalMs * scale],
        TARGET_EVAL_MS,
        'max',
        `${(evalMs / nViews).toFixed(1)} ms/frame (6 PNG decodes + 5 IoUs)${opts.quick ? `; measured on ${nViews} frames, scaled` : ''}`,
      ),
    ];
  } finally {
    rt.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
