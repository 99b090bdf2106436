// The export and evaluation commands of `splatsync` (issue #8): export-masks, eval, export-ply.
// server/cli.ts dispatches to these; argument errors are CliUsageError (exit 2 with the usage).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Id } from './protocol/room';
import { DEMO_SCENE_ID, SceneStore, resolveDataDir } from './scene/store';
import { ProgressBar } from './progress';

export class CliUsageError extends Error {}

export const EXPORT_USAGE = `  splatsync export-masks --scene ID (--room R | --labels NAME=SEL.json,...) [--split all|train|test|val] [--format png,davis,coco] [--include-hidden] [--threshold 0.5] --out DIR|F.zip
  splatsync eval --pred DIR|F.json --ref DIR|F.json [--json F] [--strict]
  splatsync export-ply --scene ID [--room R] [--label NAME] [--features] [--no-edits] --out F.ply`;

type Values = Record<string, string | boolean | undefined>;
const err = (m: string) => process.stderr.write(m.endsWith('\n') ? m : m + '\n');
const out = (m: string) => process.stdout.write(m.endsWith('\n') ? m : m + '\n');

function parse(argv: string[], options: ParseArgsConfig['options']): Values {
  try {
    return parseArgs({ args: argv, options: { data: { type: 'string' }, ...options }, allowPositionals: false, strict: true }).values as Values;
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
}

function roomIdOf(v: Values): string {
  const room = (v.room as string | undefined) ?? 'main';
  if (!Id.safeParse(room).success) throw new CliUsageError(`--room ${JSON.stringify(room)}: room ids are 1-40 of A-Z a-z 0-9 _ -`);
  return room;
}

async function sceneStore(v: Values, sceneId: string): Promise<SceneStore> {
  const store = new SceneStore(resolveDataDir(v.data as string | undefined));
  if (sceneId === DEMO_SCENE_ID) await store.ensureDemo((m) => err(m));
  if (!(await store.exists(sceneId))) throw new Error(`scene ${sceneId} not found in ${store.scenesDir}`);
  return store;
}

async function roomState(dataDir: string, sceneId: string, roomId: string) {
  const { openDb } = await import('./db');
  const { SqliteRoomStore } = await import('./rooms/sqlite-store');
  const { loadRoomState } = await import('./export/index');
  const db = openDb(dataDir);
  try {
    return await loadRoomState(new SqliteRoomStore(db), sceneId, roomId);
  } finally {
    db.close();
  }
}

/** Label colours for labels given as selection files (no room to take them from). */
const FILE_LABEL_COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990'];

export async function exportMasksCmd(argv: string[]): Promise<number> {
  const v = parse(argv, {
    scene: { type: 'string' },
    room: { type: 'string' },
    labels: { type: 'string' },
    split: { type: 'string' },
    views: { type: 'string' }, // DESIGN.md §4 spelling of --split
    format: { type: 'string' },
    'include-hidden': { type: 'boolean' },
    threshold: { type: 'string' },
    out: { type: 'string' },
  });
  const sceneId = v.scene as string | undefined;
  const outPath = v.out as string | undefined;
  if (!sceneId) throw new CliUsageError('export-masks needs --scene ID');
  if (!outPath) throw new CliUsageError('export-masks needs --out DIR or --out F.zip');
  if (v.room !== undefined && v.labels !== undefined) throw new CliUsageError('give --room R or --labels NAME=SEL.json,..., not both');
  if (v.split !== undefined && v.views !== undefined) throw new CliUsageError('--views and --split are the same option: give one');
  const { MASK_FORMATS, SPLITS, exportMasks, DirSink, ZipSink } = await import('./export/index');
  const split = ((v.split ?? v.views) as string | undefined) ?? 'all';
  if (!(SPLITS as readonly string[]).includes(split)) throw new CliUsageError(`--split must be one of ${SPLITS.join(', ')}, got ${JSON.stringify(split)}`);
  const formats = ((v.format as string | undefined) ?? MASK_FORMATS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of formats) if (!(MASK_FORMATS as readonly string[]).includes(f)) throw new CliUsageError(`--format: unknown format ${JSON.stringify(f)} (choose from ${MASK_FORMATS.join(', ')})`);
  let threshold: number | undefined;
  if (v.threshold !== undefined) {
    threshold = Number(v.threshold);
    if (!(threshold > 0 && threshold <= 1)) throw new CliUsageError(`--threshold must be a number in (0, 1], got ${JSON.stringify(v.threshold)}`);
  }
  const store = await sceneStore(v, sceneId);

  const { SceneRuntime } = await import('./render/runtime');
  const { SemanticEngine } = await import('./semantic/engine');
  const { emptyState } = await import('./rooms/state');
  let state = emptyState();
  let roomId: string | null = null;
  let channel: { labels: Uint8Array; order: string[] } | undefined;
  let labelSource: string | undefined;
  const runtime = await SceneRuntime.load(store, sceneId);
  try {
    if (v.labels !== undefined) {
      // NAME=SEL.json,...: per-Gaussian selections written by `splatsync select`.
      const n = runtime.bundle.header.count;
      const labels = new Uint8Array(n);
      const order: string[] = [];
      const specs = (v.labels as string).split(',').filter(Boolean);
      if (specs.length === 0 || specs.length > 254) throw new CliUsageError('--labels needs 1..254 NAME=SEL.json entries');
      for (const [k, spec] of specs.entries()) {
        const eq = spec.indexOf('=');
        if (eq <= 0 || eq === spec.length - 1) throw new CliUsageError(`--labels: expected NAME=SEL.json, got ${JSON.stringify(spec)}`);
        const name = spec.slice(0, eq);
        const file = spec.slice(eq + 1);
        let sel: { sceneId?: unknown; indices?: unknown; theta?: unknown };
        try {
          sel = JSON.parse(await readFile(file, 'utf8')) as typeof sel;
        } catch (e) {
          throw new Error(`--labels ${name}=${file}: ${(e as Error).message}`);
        }
        if (!Array.isArray(sel.indices) || !sel.indices.every((i) => Number.isInteger(i) && (i as number) >= 0 && (i as number) < n)) {
          throw new Error(`--labels ${name}=${file}: expected {"indices": [...]} with Gaussian indices in 0..${n - 1} (a \`splatsync select\` output)`);
        }
        if (sel.sceneId !== undefined && sel.sceneId !== sceneId) err(`warning: ${file} was selected on scene ${String(sel.sceneId)}, exporting scene ${sceneId}`);
        const id = `sel${k + 1}`;
        order.push(id);
        // The first label a Gaussian is in wins, as in the room's label channel.
        for (const i of sel.indices as number[]) if (labels[i] === 0) labels[i] = k + 1;
        state.labels.set(id, {
          id, name, colour: FILE_LABEL_COLOURS[k % FILE_LABEL_COLOURS.length]!, visible: true, order: k, combine: 'union', createdBy: 'cli', selections: [],
          edit: { tint: null, hidden: false, opacity: 1 },
        });
      }
      channel = { labels, order };
      labelSource = `selection files: ${specs.join(', ')}`;
    } else {
      roomId = roomIdOf(v);
      state = await roomState(store.dataDir, sceneId, roomId);
      if (state.labels.size === 0) throw new Error(`room ${roomId} of scene ${sceneId} has no labels (is this the right --data dir and --room?)`);
    }
    const zip = outPath.toLowerCase().endsWith('.zip');
    if (zip) await mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
    const sink = zip ? ZipSink.toFile(outPath) : await DirSink.open(outPath);
    const bar = new ProgressBar(process.stderr);
    const res = await exportMasks({
      runtime,
      engine: channel ? null : new SemanticEngine(runtime, null),
      channel,
      labelSource,
      state,
      roomId,
      sink,
      formats: formats as ('png' | 'davis' | 'coco')[],
      split: split as 'all',
      includeHidden: Boolean(v['include-hidden']),
      threshold,
      onProgress: (p) => bar.update(p.fraction, p.message),
    });
    bar.done();
    const m = res.manifest;
    for (const s of m.skippedLabels) err(`skipped label ${s.name}: ${s.reason}`);
    err(`exported ${m.labels.length} label${m.labels.length === 1 ? '' : 's'} x ${m.views.length} views (${m.formats.join(', ')}) in ${(m.timings.totalMs / 1000).toFixed(1)} s -> ${res.location}`);
    out(JSON.stringify({ out: res.location, labels: m.labels.map((l) => l.name), views: m.views.length, formats: m.formats, room: m.room }));
    return 0;
  } finally {
    runtime.dispose();
  }
}

export async function evalCmd(argv: string[]): Promise<number> {
  const v = parse(argv, { pred: { type: 'string' }, ref: { type: 'string' }, json: { type: 'string' }, strict: { type: 'boolean' } });
  if (!v.pred || !v.ref) throw new CliUsageError('eval needs --pred DIR and --ref DIR');
  const { evaluateMasks, formatReport, formatProblems } = await import('./eval/index');
  const bar = new ProgressBar(process.stderr);
  const report = await evaluateMasks(v.pred as string, v.ref as string, { onProgress: (d, t, f) => bar.update(d / t, `evaluating ${f}`) });
  bar.done();
  out(formatReport(report));
  const lines = formatProblems(report.problems);
  if (lines.length) {
    err(`${lines.length} problem${lines.length === 1 ? '' : 's'} (left out of the evaluation):`);
    for (const l of lines.slice(0, 200)) err(`  ${l}`);
    if (lines.length > 200) err(`  ... and ${lines.length - 200} more (all in --json)`);
  }
  if (v.json) {
    await mkdir(path.dirname(path.resolve(v.json as string)), { recursive: true });
    await writeFile(v.json as string, JSON.stringify(report, null, 1));
  }
  if (report.rows.length === 0) {
    err('nothing could be evaluated: no frame and label present on both sides');
    return 1;
  }
  return v.strict && report.problems.length ? 1 : 0;
}

export async function exportPlyCmd(argv: string[]): Promise<number> {
  const v = parse(argv, {
    scene: { type: 'string' },
    room: { type: 'string' },
    label: { type: 'string' },
    features: { type: 'boolean' },
    'no-edits': { type: 'boolean' },
    out: { type: 'string' },
  });
  const sceneId = v.scene as string | undefined;
  const outFile = v.out as string | undefined;
  if (!sceneId) throw new CliUsageError('export-ply needs --scene ID');
  if (!outFile || !/\.ply$/i.test(outFile)) throw new CliUsageError('export-ply needs --out F.ply');
  const store = await sceneStore(v, sceneId);
  const roomId = roomIdOf(v);
  const state = await roomState(store.dataDir, sceneId, roomId);
  const { exportScenePly } = await import('./export/index');
  await mkdir(path.dirname(path.resolve(outFile)), { recursive: true });
  const bar = new ProgressBar(process.stderr);
  const res = await exportScenePly({
    scenes: store,
    sceneId,
    roomId,
    state,
    label: v.label as string | undefined,
    features: Boolean(v.features),
    edits: !v['no-edits'],
    out: outFile,
    onProgress: (f, m) => bar.update(f, m),
  });
  bar.done();
  if (v.features && res.featureDim === 0) err('warning: --features: this scene has no semantic features (no sem_* written)');
  err(`exported ${res.count} Gaussians${res.featureDim ? ` with ${res.featureDim}-D features` : ''}${res.deform ? ` and the deformation (${res.deform})` : ''}`);
  out(JSON.stringify({ files: res.files, count: res.count, deform: res.deform }));
  return 0;
}
