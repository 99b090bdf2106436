// Appearance edits per label (tint, hide, opacity: LabelState.edit) as per-Gaussian arrays, in
// the form the native renderer takes (`NativeScene.setAppearance`) and the .ply export applies.
//
// Which label's edit a Gaussian gets: the label channel's (SemanticEngine.labelChannel), where a
// Gaussian in several labels belongs to the first in display order. So what is drawn as label k
// in the overlay is exactly what label k's edits change, live and in exports alike.
//
// Edits change appearance only: masks (ground truth) are always computed on the unedited scene
// (docs/EXPORT.md).
import type { RoomState } from '../rooms/state';

/** How far a tint pulls a Gaussian's colour toward the tint colour: c' = (1 - m) c + m tint. */
export const TINT_MIX = 0.6;

export interface AppearanceArrays {
  /** [N] opacity multipliers (0 hides), or null when no label changes opacity. */
  opacityScale: Float32Array | null;
  /** [N,4] rgb + mix in [0,1], or null when no label is tinted. */
  tint: Float32Array | null;
  /** Whether any edit is in effect (both arrays null otherwise). */
  any: boolean;
}

/** '#rrggbb' -> [r, g, b] in [0, 1]. */
export function parseColour(hex: string): [number, number, number] {
  const m = /^#([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})$/.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${JSON.stringify(hex)}`);
  return [parseInt(m[1]!, 16) / 255, parseInt(m[2]!, 16) / 255, parseInt(m[3]!, 16) / 255];
}

/** Per-label-index edit values: index k + 1 of the channel is `order[k]`. */
interface IndexEdit {
  scale: number;
  tint: [number, number, number] | null;
}

function editsByIndex(state: RoomState, order: readonly string[]): (IndexEdit | null)[] {
  const byIndex: (IndexEdit | null)[] = new Array(256).fill(null);
  order.forEach((id, k) => {
    const l = state.labels.get(id);
    if (!l) return;
    const e = l.edit;
    const scale = e.hidden ? 0 : Math.min(1, Math.max(0, e.opacity));
    const tint = e.tint ? parseColour(e.tint) : null;
    if (scale !== 1 || tint) byIndex[k + 1] = { scale, tint };
  });
  return byIndex;
}

/** A key that changes exactly when the arrays would (cheap: compare before recomputing). */
export function appearanceKey(state: RoomState, order: readonly string[]): string {
  return JSON.stringify(order.map((id) => {
    const e = state.labels.get(id)?.edit;
    return e ? [e.hidden, e.opacity, e.tint] : null;
  }));
}

/**
 * The arrays for a room state and its label channel (`labels` [N], index k + 1 = `order[k]`,
 * 0 = no label). Labels without edits cost nothing; with no edit at all both arrays are null
 * (pass them to setAppearance to clear earlier ones).
 */
export function computeAppearance(state: RoomState, channel: { labels: Uint8Array; order: readonly string[] }): AppearanceArrays {
  const byIndex = editsByIndex(state, channel.order);
  const anyOpacity = byIndex.some((e) => e && e.scale !== 1);
  const anyTint = byIndex.some((e) => e && e.tint);
  if (!anyOpacity && !anyTint) return { opacityScale: null, tint: null, any: false };
  const n = channel.labels.length;
  const opacityScale = anyOpacity ? new Float32Array(n).fill(1) : null;
  const tint = anyTint ? new Float32Array(n * 4) : null;
  // Flatten to lookup tables so the per-Gaussian loop is two array reads.
  const scaleLut = new Float32Array(256).fill(1);
  const tintLut = new Float32Array(256 * 4);
  byIndex.forEach((e, i) => {
    if (!e) return;
    scaleLut[i] = e.scale;
    if (e.tint) tintLut.set([e.tint[0], e.tint[1], e.tint[2], TINT_MIX], i * 4);
  });
  const labels = channel.labels;
  for (let i = 0; i < n; i++) {
    const k = labels[i]!;
    if (k === 0) continue;
    if (opacityScale) opacityScale[i] = scaleLut[k]!;
    if (tint && tintLut[k * 4 + 3]! > 0) tint.set(tintLut.subarray(k * 4, k * 4 + 4), i * 4);
  }
  return { opacityScale, tint, any: true };
}
