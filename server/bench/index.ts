// `splatsync bench` / `npm run bench`: the benchmark table of DESIGN.md §4. Figures are
// medians over repeated runs after a warm-up; targets are the issues' own.
import os from 'node:os';
import { capabilities } from '../../native/index';
import { renderReference } from '../../tests/reference/render';
import { interpolateDeform } from '../scene/deform-interp';
import { generateDemoScene } from '../scene/demo';
import { scaleCamera } from '../scene/camera';
import { SceneRuntime } from '../render/runtime';
import { encodeJpeg } from '../render/encode';
import type { SceneBundle } from '../scene/bundle';
import { benchRender } from './render';
import { benchImport } from './import';
import { benchCollab } from './collab';
import { benchExport } from './export';
import { benchSemantic } from './semantic';
import { benchDeform } from '../deform/bench';
import { result, type BenchResult, timeRuns } from './types';

export interface BenchReport {
  table: string;
  json: { machine: string; results: BenchResult[] };
}

const time = timeRuns;

function demoBundle(): SceneBundle {
  const d = generateDemoScene();
  return {
    header: {
      format: 'splatsync-bundle', version: 1, id: 'demo', name: d.name, createdAt: '', source: 'bench', count: d.cloud.count,
      shDegree: d.cloud.shDegree, featureDim: d.features.dim, background: d.background, home: d.home, views: d.views,
      keyframeTimes: d.keyframes.map((k) => k.t), arrays: {},
    },
    cloud: d.cloud,
    featuresHalf: null,
    partIds: d.partIds,
    keyframes: d.keyframes,
    deformNet: null,
  };
}

export const BENCH_GROUPS = ['render', 'semantic', 'deform', 'import', 'collab', 'export'] as const;
export type BenchGroup = (typeof BENCH_GROUPS)[number];

export async function runBench(opts: { quick?: boolean; log?: (m: string) => void; only?: string[] } = {}): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const runs = opts.quick ? 3 : 9;
  const results: BenchResult[] = [];
  const want = (g: BenchGroup) => !opts.only || opts.only.includes(g);

  if (want('render')) await benchRenderGroup(opts, runs, results, log);
  if (want('semantic')) {
    log('semantic selection...');
    results.push(...(await benchSemantic({ quick: opts.quick })));
  }
  if (want('deform')) {
    log('deformation MLP (onnxruntime, CPU)...');
    results.push(...(await benchDeform({ quick: opts.quick, log })));
  }
  if (want('import')) {
    log('import and bundle load...');
    results.push(...(await benchImport({ quick: opts.quick, log })));
  }
  if (want('export')) {
    log('mask export and evaluation (150 views x 5 labels, 800x800)...');
    results.push(...(await benchExport({ quick: opts.quick, log })));
  }
  if (want('collab')) {
    log('collaboration (a serve child process, socket.io clients)...');
    results.push(...(await benchCollab({ quick: opts.quick, log })));
  }

  const caps = capabilities();
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, simd ${caps.simd}, ${caps.threads} threads`;
  return { table: formatTable(machine, results), json: { machine, results } };
}

async function benchRenderGroup(opts: { quick?: boolean }, runs: number, results: BenchResult[], log: (m: string) => void): Promise<void> {
  log('demo scene...');
  const bundle = demoBundle();
  const runtime = await SceneRuntime.fromBundle(bundle, 'cpu');
  const home = bundle.header.home.camera;
  const t = 0.37;
  for (const [w, h] of [[800, 800], [1920, 1080]] as const) {
    const cam = scaleCamera(home, w, h);
    const fitted = { ...cam, fx: cam.fy }; // keep square pixels when the aspect changes
    const samples = await time(() => runtime.render(fitted, t), runs);
    results.push(result(`render demo (${bundle.cloud.count} G) ${w}x${h}`, 'ms', samples, undefined, 'max', 'native cpu, dynamic (keyframe interpolation included)'));
  }

  const cam800 = scaleCamera(home, 800, 800);
  const frame = await runtime.render(cam800, t);
  const enc = await time(() => encodeJpeg(frame.rgb, frame.width, frame.height), runs * 2, 2);
  results.push(result('JPEG encode 800x800 (q80, sharp)', 'ms', enc, 5, 'max'));
  const e2e = await time(async () => {
    const f = await runtime.render(cam800, t);
    await encodeJpeg(f.rgb, f.width, f.height);
  }, runs);
  results.push(result('server frame demo 800x800 (render + encode)', 'ms', e2e, undefined, 'max'));

  log('native vs TypeScript reference...');
  const small = scaleCamera(home, 400, 400);
  const deform = interpolateDeform(bundle.keyframes, t);
  const refSamples = await time(() => renderReference(bundle.cloud, small, { deform, background: bundle.header.background }), opts.quick ? 1 : 3, 0);
  const natSamples = await time(() => runtime.render(small, t), runs);
  const ratio = refSamples.map((r) => r / (natSamples.reduce((a, b) => a + b, 0) / natSamples.length));
  results.push(result('native speed-up over TS reference (demo 400x400)', 'x', ratio, 30, 'min', `reference median ${median(refSamples).toFixed(0)} ms`));
  runtime.dispose();

  log('synthetic scenes...');
  results.push(...(await benchRender({ quick: opts.quick })));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function formatTable(machine: string, rows: BenchResult[]): string {
  const lines = [`machine: ${machine}`, ''];
  const nameW = Math.max(...rows.map((r) => r.name.length));
  lines.push(`${'benchmark'.padEnd(nameW)}  ${'median'.padStart(10)}  unit  ${'target'.padStart(8)}  ok`);
  for (const r of rows) {
    const target = r.target === undefined ? '' : `${r.targetKind === 'min' ? '>=' : '<='}${r.target}`;
    const ok = r.ok === undefined ? '' : r.ok ? 'yes' : 'NO';
    lines.push(`${r.name.padEnd(nameW)}  ${r.median.toFixed(r.median < 10 ? 2 : 1).padStart(10)}  ${r.unit.padEnd(4)}  ${target.padStart(8)}  ${ok}${r.note ? `  (${r.note})` : ''}`);
  }
  return lines.join('\n');
}
