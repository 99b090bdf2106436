// `splatsync` command line (DESIGN.md §4). Every command takes --data DIR; errors go to stderr
// with a non-zero exit code.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createServer } from 'node:http';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { capabilities } from '../native/index';
import { Camera, describeZodError } from './protocol/index';
import { createSplatsyncServer } from './app';
import { SceneRuntime, selectBackend } from './render/runtime';
import { encodePng } from './render/encode';
import { DEMO_SCENE_ID, SceneStore, resolveDataDir } from './scene/store';
import { ensureUiBuilt, ROOT } from './ui-build';
import { VERSION } from './version';
import { openDb } from './db';
import { SqliteRoomStore } from './rooms/sqlite-store';
import { MemoryRoomStore } from './rooms/store';
import { CliUsageError, EXPORT_USAGE, evalCmd, exportMasksCmd, exportPlyCmd } from './cli-export';

class UsageError extends Error {}

const USAGE = `splatsync ${VERSION}

Usage:
  splatsync serve [--port P] [--data DIR] [--scene ID] [--clip DIR] [--no-ui] [--host H] [--ephemeral]
  splatsync import MODEL_DIR [--dataset DIR] [--iteration N] [--name S] [--bake]
  splatsync render --scene ID (--view K [--split train|test] | --camera FILE [--t T]) [--width W --height H] --out F.png
  splatsync select --scene ID --view K [--split train|test] (--click X,Y [--patch 5] | --text S [--clip DIR]) [--theta 0.5] --out F.json
${EXPORT_USAGE}
  splatsync info
  splatsync bench [--json F] [--quick] [--only render,semantic,deform,import,collab,export]

Common: --data DIR (default $SPLATSYNC_DATA, else ./data)`;

const err = (m: string) => process.stderr.write(m.endsWith('\n') ? m : m + '\n');
const out = (m: string) => process.stdout.write(m.endsWith('\n') ? m : m + '\n');

type Values = Record<string, string | boolean | undefined>;

function parse(argv: string[], options: ParseArgsConfig['options']): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { data: { type: 'string' }, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function num(value: string | undefined, name: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n))) throw new UsageError(`--${name} expects ${opts.int ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`);
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`--${name} must be >= ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`--${name} must be <= ${opts.max}, got ${n}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve':
        return await serve(rest);
      case 'render':
        return await render(rest);
      case 'import':
        return await importCmd(rest);
      case 'select':
        return await select(rest);
      case 'export-masks':
        return await exportMasksCmd(rest);
      case 'eval':
        return await evalCmd(rest);
      case 'export-ply':
        return await exportPlyCmd(rest);
      case 'info':
        out(JSON.stringify(info(), null, 2));
        return 0;
      case 'bench':
        return await bench(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return cmd === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof CliUsageError;
    if (usage) err(`splatsync: ${e.message}\n\n${USAGE}`);
    else err(`splatsync ${cmd}: ${(e as Error).message}`);
    return usage ? 2 : 1;
  }
}

function info() {
  const caps = capabilities();
  let backend: string;
  try {
    backend = selectBackend();
  } catch (e) {
    backend = `unavailable: ${(e as Error).message}`;
  }
  return {
    version: VERSION,
    backends: { cpu: caps.cpu, cuda: caps.cuda },
    backend,
    simd: caps.simd,
    threads: caps.threads,
    features: ['render', 'stream', 'demo-scene'],
  };
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    scene: { type: 'string' },
    clip: { type: 'string' },
    'no-ui': { type: 'boolean' },
    ephemeral: { type: 'boolean' },
  });
  const port = num(values.port as string | undefined, 'port', { int: true, min: 0, max: 65535 }) ?? Number(process.env.PORT ?? 3000);
  const host = (values.host as string | undefined) ?? process.env.HOST;
  const store = new SceneStore(resolveDataDir(values.data as string | undefined));
  const log = (m: string) => err(m);
  await store.ensureDemo(log);
  const sceneId = (values.scene as string | undefined) ?? DEMO_SCENE_ID;
  if (!(await store.exists(sceneId))) throw new Error(`scene ${sceneId} not found in ${store.scenesDir}`);
  const backend = selectBackend();

  let ui: Parameters<typeof createSplatsyncServer>[1]['ui'];
  if (!values['no-ui']) {
    await ensureUiBuilt(log);
    const { default: next } = await import('next');
    const nextApp = next({ dev: false, dir: ROOT, quiet: true });
    await nextApp.prepare();
    ui = nextApp.getRequestHandler();
  }

  const { resolveClipDir, ClipTextEncoder } = await import('./semantic/clip/index');
  const clipDir = resolveClipDir(values.clip as string | undefined);
  const clip = clipDir ? await ClipTextEncoder.load(clipDir) : null;
  if (clip) log(`CLIP text encoder: ${clipDir} (D = ${clip.dim})`);

  const db = values.ephemeral ? null : openDb(store.dataDir);
  const rooms = db ? new SqliteRoomStore(db) : new MemoryRoomStore();
  const { createAuth, SigningSecret, redactSecrets } = await import('./auth/index');
  // Ephemeral servers keep links in memory too, signed with a secret that dies with the process.
  const auth = db ? createAuth({ db, dataDir: store.dataDir }) : createAuth({ db: openDb(':memory:'), secret: SigningSecret.random() });
  if (auth.warning) log(auth.warning);
  const http = createServer();
  const server = createSplatsyncServer(http, { store, backend, ui, log: (m) => log(redactSecrets(m)), clip, rooms, db, auth });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  const addr = http.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const base = `http://localhost:${actualPort}`;
  out(`Splatsync ${VERSION} · backend ${backend} · data ${store.dataDir} · sign-in: ${auth.mode === 'clerk' ? 'Clerk' : 'share links'}`);
  // The server-wide owner link (the same on every start until revoked): printed, never logged elsewhere.
  const owner = auth.serveOwnerLink();
  const token = `token=${encodeURIComponent(owner.token)}`;
  out(values['no-ui'] ? `Render server (no UI): ${base}/?${token}` : `Open: ${base}/s/${sceneId}?${token}`);
  out('This link makes whoever opens it an owner of every scene here: share viewer or annotator links from the viewer instead.');

  const shutdown = async () => {
    setTimeout(() => process.exit(1), 10_000).unref(); // never hang on the way out
    await server.close();
    http.close();
    db?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  await new Promise<void>(() => {}); // serve until signalled
  return 0;
}

async function render(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    scene: { type: 'string' },
    view: { type: 'string' },
    split: { type: 'string' },
    camera: { type: 'string' },
    t: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    out: { type: 'string' },
  });
  const sceneId = values.scene as string | undefined;
  const outFile = values.out as string | undefined;
  if (!sceneId) throw new UsageError('render needs --scene ID');
  if (!outFile) throw new UsageError('render needs --out F.png');
  if ((values.view === undefined) === (values.camera === undefined)) throw new UsageError('render needs exactly one of --view K or --camera FILE');
  const store = new SceneStore(resolveDataDir(values.data as string | undefined));
  if (sceneId === DEMO_SCENE_ID) await store.ensureDemo((m) => err(m));
  const runtime = await SceneRuntime.load(store, sceneId);
  try {
    let camera;
    let t = num(values.t as string | undefined, 't', { min: 0, max: 1 });
    if (values.view !== undefined) {
      const k = num(values.view as string, 'view', { int: true, min: 0 })!;
      const split = (values.split as string | undefined) ?? 'train';
      const views = runtime.info().views.filter((v) => v.split === split);
      // K is the frame's index in its split as the dataset lists it (views may have gaps).
      const v = views.find((x) => x.index === k);
      if (!v) {
        const ids = views.map((x) => x.index);
        throw new UsageError(`--view ${k}: the ${split} split of scene ${sceneId} has ${views.length} views${ids.length ? ` (indices ${ids[0]}..${ids[ids.length - 1]})` : ''}`);
      }
      camera = v.camera;
      t ??= v.time;
    } else {
      const file = values.camera as string;
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, 'utf8'));
      } catch (e) {
        throw new Error(`--camera ${file}: ${(e as Error).message}`);
      }
      const parsed = Camera.safeParse(json);
      if (!parsed.success) throw new Error(`--camera ${file}: ${describeZodError(parsed.error)}`);
      camera = parsed.data;
    }
    const w = num(values.width as string | undefined, 'width', { int: true, min: 1, max: 4096 });
    const h = num(values.height as string | undefined, 'height', { int: true, min: 1, max: 4096 });
    if ((w === undefined) !== (h === undefined)) throw new UsageError('give both --width and --height, or neither');
    if (w !== undefined && h !== undefined) {
      const { scaleCamera } = await import('./scene/camera');
      camera = scaleCamera(camera, w, h);
    }
    const frame = await runtime.render(camera, t ?? 0);
    await mkdir(path.dirname(path.resolve(outFile)), { recursive: true });
    await writeFile(outFile, await encodePng(frame.rgb, frame.width, frame.height));
    err(`wrote ${outFile} (${frame.width}x${frame.height}, t=${(t ?? 0).toFixed(3)}, ${frame.timings.totalMs.toFixed(1)} ms)`);
    return 0;
  } finally {
    runtime.dispose();
  }
}

async function bench(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'string' }, quick: { type: 'boolean' }, only: { type: 'string' } });
  const { runBench, BENCH_GROUPS } = await import('./bench/index');
  const only = values.only === undefined ? undefined : String(values.only).split(',').map((x) => x.trim());
  const unknown = only?.filter((g) => !(BENCH_GROUPS as readonly string[]).includes(g)) ?? [];
  if (unknown.length) throw new UsageError(`bench --only: unknown group ${unknown.join(', ')} (groups: ${BENCH_GROUPS.join(', ')})`);
  const report = await runBench({ quick: Boolean(values.quick), log: (m) => err(m), only });
  out(report.table);
  if (values.json) await writeFile(values.json as string, JSON.stringify(report.json, null, 2));
  return 0;
}

async function importCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    dataset: { type: 'string' },
    iteration: { type: 'string' },
    name: { type: 'string' },
    bake: { type: 'boolean' },
  });
  const modelDir = positionals[0];
  if (!modelDir || positionals.length > 1) throw new UsageError('import needs exactly one MODEL_DIR (a training output folder or a .ply file)');
  const store = new SceneStore(resolveDataDir(values.data as string | undefined));
  const { importModel } = await import('./import/index');
  const { ProgressBar } = await import('./progress');
  const bar = new ProgressBar(process.stderr);
  const res = await importModel(
    store,
    {
      modelDir,
      dataset: values.dataset as string | undefined,
      iteration: num(values.iteration as string | undefined, 'iteration', { int: true, min: 0 }),
      name: values.name as string | undefined,
      bake: Boolean(values.bake),
    },
    (p) => bar.update(p.fraction, p.message),
  );
  bar.done();
  for (const w of res.warnings) err(`warning: ${w}`);
  const port = Number(process.env.PORT ?? 3000);
  out(JSON.stringify({ sceneId: res.sceneId, url: `http://localhost:${port}/s/${res.sceneId}` }));
  return 0;
}

async function select(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    scene: { type: 'string' },
    view: { type: 'string' },
    split: { type: 'string' },
    click: { type: 'string' },
    text: { type: 'string' },
    theta: { type: 'string' },
    patch: { type: 'string' },
    clip: { type: 'string' },
    out: { type: 'string' },
  });
  const sceneId = values.scene as string | undefined;
  const outFile = values.out as string | undefined;
  if (!sceneId) throw new UsageError('select needs --scene ID');
  if (!outFile) throw new UsageError('select needs --out F.json');
  if ((values.click === undefined) === (values.text === undefined)) throw new UsageError('select needs exactly one of --click X,Y or --text S');
  const { DEFAULT_THETA, DEFAULT_PATCH } = await import('./protocol/room');
  const theta = num(values.theta as string | undefined, 'theta', { min: -1, max: 1 }) ?? DEFAULT_THETA;
  const store = new SceneStore(resolveDataDir(values.data as string | undefined));
  if (sceneId === DEMO_SCENE_ID) await store.ensureDemo((m) => err(m));
  const runtime = await SceneRuntime.load(store, sceneId);
  const { SemanticEngine } = await import('./semantic/engine');
  let clip = null;
  try {
    let t = 0;
    let feature: Float32Array;
    const engineClip = async () => {
      const { resolveClipDir, ClipTextEncoder } = await import('./semantic/clip/index');
      const dir = resolveClipDir(values.clip as string | undefined);
      return dir ? ClipTextEncoder.load(dir) : null;
    };
    if (values.text !== undefined) clip = await engineClip();
    const engine = new SemanticEngine(runtime, clip);
    if (values.click !== undefined) {
      if (values.view === undefined) throw new UsageError('--click needs --view K (the dataset view the pixel is in)');
      const m = /^(\d+),(\d+)$/.exec(values.click as string);
      if (!m) throw new UsageError(`--click expects X,Y in pixels, got ${JSON.stringify(values.click)}`);
      const k = num(values.view as string, 'view', { int: true, min: 0 })!;
      const split = (values.split as string | undefined) ?? 'train';
      const v = runtime.info().views.find((x) => x.split === split && x.index === k);
      if (!v) throw new UsageError(`--view ${k}: no such view in the ${split} split of scene ${sceneId}`);
      const [x, y] = [Number(m[1]), Number(m[2])];
      if (x >= v.camera.width || y >= v.camera.height) throw new UsageError(`--click ${x},${y} lies outside the ${v.camera.width}x${v.camera.height} view`);
      t = v.time;
      const patch = num(values.patch as string | undefined, 'patch', { int: true, min: 1, max: 31 }) ?? DEFAULT_PATCH;
      feature = (await engine.clickFeature({ camera: v.camera, t, x, y, patch })).feature;
    } else {
      feature = await engine.textFeature(values.text as string);
    }
    const scores = await engine.similarityTo(feature);
    const indices: number[] = [];
    for (let i = 0; i < scores.length; i++) if (scores[i]! >= theta) indices.push(i);
    await writeFile(outFile, JSON.stringify({ sceneId, t, theta, indices }));
    err(`selected ${indices.length} of ${scores.length} Gaussians (theta ${theta}) -> ${outFile}`);
    return 0;
  } catch (e) {
    const { SelectionError } = await import('./semantic/engine');
    if (e instanceof SelectionError) throw new Error(e.message);
    throw e;
  } finally {
    clip?.dispose();
    runtime.dispose();
  }
}
