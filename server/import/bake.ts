// Bake: precompute a scene's deformation at every dataset time into its bundle, so playback
// at dataset times never waits for the MLP. Used by `import --bake` and the viewer's Bake action.
import { DeformRunner } from '../deform/runner';
import { loadBundle, writeBundle } from '../scene/bundle';
import type { SceneStore } from '../scene/store';
import type { DeformSample } from '../scene/types';
import { bakeTimes } from './index';

export interface BakeProgress {
  fraction: number;
  message: string;
}

/**
 * Rewrites the scene's bundle with keyframes at every distinct dataset time. `onSample` sees
 * each computed sample (the server pins them into the live scene as they come).
 */
export async function bakeScene(
  store: SceneStore,
  sceneId: string,
  onProgress: (p: BakeProgress) => void = () => {},
  onSample: (t: number, s: DeformSample) => void = () => {},
): Promise<number> {
  const bundle = await loadBundle(store.dirOf(sceneId));
  const h = bundle.header;
  if (!bundle.deformNet) throw new Error(`scene ${sceneId} has no deformation network: nothing to bake`);
  const times = bakeTimes(h.views);
  const runner = await DeformRunner.create(bundle.deformNet.spec, bundle.deformNet.tensors);
  try {
    const features = bundle.featuresHalf ? { dim: h.featureDim, half: bundle.featuresHalf } : null;
    await writeBundle(store.scenesDir, {
      id: h.id,
      name: h.name,
      source: h.source,
      cloud: bundle.cloud,
      features: null,
      featuresHalf: features,
      partIds: bundle.partIds,
      partNames: h.partNames,
      views: h.views,
      datasetDir: h.datasetDir,
      home: h.home,
      background: h.background,
      deformNet: bundle.deformNet,
      replace: true,
      keyframes: {
        times,
        compute: async (t, i) => {
          onProgress({ fraction: i / times.length, message: `baking deformation t=${t.toFixed(4)} (${i + 1}/${times.length})` });
          const s = await runner.run(bundle.cloud.positions, t);
          onSample(t, s);
          return s;
        },
      },
    });
  } finally {
    runner.dispose();
  }
  onProgress({ fraction: 1, message: `baked ${times.length} times` });
  return times.length;
}
