// The data dir's scenes: listing, loading, and the built-in demo scene made on first use.
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { SceneId } from '../protocol/events';
import { loadBundle, readBundleHeader, writeBundle, type BundleHeader, type LoadOptions, type SceneBundle } from './bundle';
import { generateDemoScene } from './demo';

export const DEMO_SCENE_ID = 'demo';

export function resolveDataDir(flag?: string): string {
  return path.resolve(flag ?? process.env.SPLATSYNC_DATA ?? './data');
}

export interface SceneSummary {
  id: string;
  name: string;
  count: number;
  dynamic: boolean;
  featureDim: number;
}

export class SceneNotFoundError extends Error {}

export class SceneStore {
  readonly scenesDir: string;
  constructor(readonly dataDir: string) {
    this.scenesDir = path.join(dataDir, 'scenes');
  }

  dirOf(id: string): string {
    const parsed = SceneId.safeParse(id);
    if (!parsed.success) throw new SceneNotFoundError(`invalid scene id ${JSON.stringify(id).slice(0, 80)}: ${parsed.error.issues[0]?.message}`);
    return path.join(this.scenesDir, id);
  }

  async exists(id: string): Promise<boolean> {
    try {
      return (await stat(path.join(this.dirOf(id), 'bundle.json'))).isFile();
    } catch {
      return false;
    }
  }

  async list(): Promise<SceneSummary[]> {
    await mkdir(this.scenesDir, { recursive: true });
    const out: SceneSummary[] = [];
    for (const entry of await readdir(this.scenesDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      try {
        const h = await readBundleHeader(path.join(this.scenesDir, entry.name));
        out.push(summary(h));
      } catch {
        // A half-written or foreign folder is not a scene; `splatsync info` reports it.
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async header(id: string): Promise<BundleHeader> {
    if (!(await this.exists(id))) throw new SceneNotFoundError(`scene ${id} not found in ${this.scenesDir}`);
    return readBundleHeader(this.dirOf(id));
  }

  async load(id: string, opts?: LoadOptions): Promise<SceneBundle> {
    if (!(await this.exists(id))) throw new SceneNotFoundError(`scene ${id} not found in ${this.scenesDir}`);
    return loadBundle(this.dirOf(id), opts);
  }

  /** Generates the demo scene into the data dir unless it is there already. */
  async ensureDemo(log: (msg: string) => void = () => {}): Promise<string> {
    if (await this.exists(DEMO_SCENE_ID)) return DEMO_SCENE_ID;
    await mkdir(this.scenesDir, { recursive: true });
    log('Generating the demo scene (first start only)...');
    const t0 = performance.now();
    const demo = generateDemoScene();
    await writeBundle(this.scenesDir, {
      id: DEMO_SCENE_ID,
      name: demo.name,
      source: 'built-in demo (server/scene/demo)',
      cloud: demo.cloud,
      features: demo.features,
      partIds: demo.partIds,
      partNames: demo.partNames,
      keyframes: demo.keyframes,
      views: demo.views,
      home: demo.home,
      background: demo.background,
    });
    log(`Demo scene ready: ${demo.cloud.count} Gaussians in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return DEMO_SCENE_ID;
  }
}

function summary(h: BundleHeader): SceneSummary {
  return { id: h.id, name: h.name, count: h.count, dynamic: h.keyframeTimes.length > 0 || Boolean(h.deformNet), featureDim: h.featureDim };
}
