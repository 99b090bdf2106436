// Ground-truth part masks of the demo scene, computed the way label masks are (DESIGN.md §1):
// render the label channel with every Gaussian labelled by its part; pixel p shows part k when
// W_k(p) >= 0.5. Plus the helpers the accuracy tests share.
import type { SceneRuntime } from '../../server/render/runtime';
import type { CameraJSON } from '../../server/scene/types';

/** [H,W] part index + 1 per pixel (0 = no part reaches W >= 0.5). */
export async function partMap(rt: SceneRuntime, partIds: Uint8Array, camera: CameraJSON, t: number): Promise<Uint8Array> {
  const labels = new Uint8Array(partIds.length);
  for (let i = 0; i < labels.length; i++) labels[i] = partIds[i]! + 1;
  const out = await rt.render(camera, t, { labels });
  return out.labels!;
}

export async function maskOf(rt: SceneRuntime, members: Uint8Array, camera: CameraJSON, t: number): Promise<Uint8Array> {
  const out = await rt.render(camera, t, { labels: members });
  return out.labels!;
}

export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let uni = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > 0;
    const y = b[i]! > 0;
    if (x && y) inter++;
    if (x || y) uni++;
  }
  return uni === 0 ? 1 : inter / uni;
}

/**
 * The mask's most interior pixel (largest chamfer distance to the outside): where an annotator
 * would click to select the part, and the pixel of maximum coverage for a solid part.
 */
export function interiorPixel(mask: Uint8Array, width: number, height: number): { x: number; y: number; depth: number } | null {
  const d = new Float32Array(width * height);
  const INF = 1e9;
  for (let i = 0; i < d.length; i++) d[i] = mask[i] ? INF : 0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : d[y * width + x]!);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!d[i]) continue;
      d[i] = Math.min(d[i]!, at(x - 1, y) + 1, at(x, y - 1) + 1, at(x - 1, y - 1) + 1.414, at(x + 1, y - 1) + 1.414);
    }
  let best = -1;
  let bx = 0;
  let by = 0;
  for (let y = height - 1; y >= 0; y--)
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      if (!d[i]) continue;
      d[i] = Math.min(d[i]!, at(x + 1, y) + 1, at(x, y + 1) + 1, at(x + 1, y + 1) + 1.414, at(x - 1, y + 1) + 1.414);
      if (d[i]! > best) {
        best = d[i]!;
        bx = x;
        by = y;
      }
    }
  return best > 0 ? { x: bx, y: by, depth: best } : null;
}
