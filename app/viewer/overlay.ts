// Client side (pure): the label overlay's data. Frames carry a [H,W] label-index map
// (run-length coded, server/protocol/label-rle.ts) and `labelOrder` (label id of index 1..);
// index 255 is this client's hover preview. The shader (shaders/frame.frag) looks each index up
// in a 256x1 RGBA palette: rgb = colour, a = opacity (0 = hidden). Recolouring, hiding and
// isolating rewrite only the palette: the server is not asked for anything.
import { decodeLabelRle, PREVIEW_LABEL_INDEX } from '../../server/protocol';

export interface LabelMask {
  width: number;
  height: number;
  /** [H,W] label indices, row-major, top row first. */
  data: Uint8Array;
  /** Label id of index k (k >= 1) at [k - 1]. */
  order: readonly string[];
}

export interface OverlayCounts {
  /** Texels of any room label (1..254). */
  labelPixels: number;
  /** Texels of the hover preview (255). */
  previewPixels: number;
}

/** The frame's label map, or null when it has none. Throws on corrupt data. */
export function decodeFrameLabels(f: { width: number; height: number; labels?: ArrayBuffer | Uint8Array; labelOrder?: string[] }): LabelMask | null {
  if (!f.labels) return null;
  const rle = f.labels instanceof Uint8Array ? f.labels : new Uint8Array(f.labels);
  return { width: f.width, height: f.height, data: decodeLabelRle(rle, f.width * f.height), order: f.labelOrder ?? [] };
}

export function countOverlay(mask: LabelMask | null): OverlayCounts {
  if (!mask) return { labelPixels: 0, previewPixels: 0 };
  let labels = 0;
  let preview = 0;
  const d = mask.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v === 0) continue;
    if (v === PREVIEW_LABEL_INDEX) preview++;
    else labels++;
  }
  return { labelPixels: labels, previewPixels: preview };
}

/** What the palette needs of a label. */
export interface PaletteLabel {
  colour: string;
  visible: boolean;
}

/** Preview: white, fainter than a label. */
export const PREVIEW_RGBA: readonly [number, number, number, number] = [255, 255, 255, 200];

/** "#rrggbb" -> [r, g, b]; grey for anything else. */
export function parseHex(colour: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!m) return [128, 128, 128];
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/**
 * The 256x1 RGBA palette for a frame's label order: index 0 transparent, index k the colour of
 * label order[k-1] (alpha 0 when hidden, unknown or not shown by `isolated`), 255 the preview.
 */
export function buildPalette(order: readonly string[], labels: ReadonlyMap<string, PaletteLabel>, isolated: string | null, out = new Uint8Array(256 * 4)): Uint8Array {
  out.fill(0);
  for (let k = 1; k <= order.length && k < PREVIEW_LABEL_INDEX; k++) {
    const l = labels.get(order[k - 1]!);
    if (!l) continue;
    const [r, g, b] = parseHex(l.colour);
    const shown = l.visible && (isolated === null || isolated === order[k - 1]);
    out.set([r, g, b, shown ? 255 : 0], k * 4);
  }
  out.set(PREVIEW_RGBA, PREVIEW_LABEL_INDEX * 4);
  return out;
}

/** Distinct, saturated colours for new labels (lowercase #rrggbb, as the protocol wants). */
export const LABEL_COLOURS = ['#ff5d5d', '#3ecf8e', '#4d8dff', '#f0b429', '#c86bff', '#2ed1d1', '#ff8a3d', '#ff6fb5', '#9ad14b', '#7a7dff', '#d4a373', '#00b3a4'];

/** The first palette colour no label uses yet (then cycling, shifted in hue). */
export function nextLabelColour(used: Iterable<string>): string {
  const taken = new Set([...used].map((c) => c.toLowerCase()));
  for (const c of LABEL_COLOURS) if (!taken.has(c)) return c;
  // all taken: golden-angle hues
  const n = taken.size;
  const h = (n * 137.508) % 360;
  return hslHex(h, 0.7, 0.58);
}

function hslHex(h: number, s: number, l: number): string {
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const a = s * Math.min(l, 1 - l);
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255).toString(16).padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** "label N" with the smallest N >= count + 1 that no label is called. */
export function nextLabelName(names: Iterable<string>): string {
  const taken = new Set(names);
  let n = taken.size + 1;
  while (taken.has(`label ${n}`)) n++;
  return `label ${n}`;
}
