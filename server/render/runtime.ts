// A loaded scene ready to render: the bundle's arrays uploaded once into a native handle,
// with its deformation keyframes. Shared by every client of the scene.
import { capabilities, createScene, type NativeScene, type RenderOutput } from '../../native/index';
import type { SceneInfo } from '../protocol/events';
import type { SceneBundle } from '../scene/bundle';
import type { SceneStore } from '../scene/store';
import type { CameraJSON } from '../scene/types';

export type BackendName = 'cpu' | 'cuda';

/** The backend in use: SPLATSYNC_BACKEND when set (and available), else CUDA when a device is present, else CPU. */
export function selectBackend(): BackendName {
  const caps = capabilities();
  const wanted = process.env.SPLATSYNC_BACKEND as BackendName | undefined;
  if (wanted && wanted !== 'cpu' && wanted !== 'cuda') throw new Error(`SPLATSYNC_BACKEND must be cpu or cuda, got ${wanted}`);
  if (wanted === 'cuda' && !(caps.cuda.compiled && caps.cuda.devices > 0)) {
    throw new Error('SPLATSYNC_BACKEND=cuda but the addon has no CUDA device available (see `splatsync info`)');
  }
  if (wanted) return wanted;
  return caps.cuda.compiled && caps.cuda.devices > 0 ? 'cuda' : 'cpu';
}

export class SceneRuntime {
  private constructor(
    readonly bundle: SceneBundle,
    readonly native: NativeScene,
    readonly backend: BackendName,
  ) {}

  static fromBundle(bundle: SceneBundle, backend: BackendName = selectBackend()): SceneRuntime {
    const native = createScene(bundle.cloud);
    for (const kf of bundle.keyframes) native.addKeyframe(kf);
    return new SceneRuntime(bundle, native, backend);
  }

  static async load(store: SceneStore, id: string, backend?: BackendName): Promise<SceneRuntime> {
    return SceneRuntime.fromBundle(await store.load(id), backend);
  }

  get id(): string {
    return this.bundle.header.id;
  }

  info(): SceneInfo {
    const h = this.bundle.header;
    return {
      id: h.id,
      name: h.name,
      count: h.count,
      shDegree: h.shDegree,
      featureDim: h.featureDim,
      dynamic: h.keyframeTimes.length > 0,
      background: h.background,
      home: h.home,
      views: h.views,
      backend: this.backend,
    };
  }

  render(camera: CameraJSON, t: number): Promise<RenderOutput> {
    return this.native.render({ camera, t, background: this.bundle.header.background });
  }

  dispose(): void {
    this.native.dispose();
  }
}
