// Client side (pure): from where the pointer is on the canvas to the pixel grid of the camera
// the shown frame was rendered with, and brushed / boxed regions as the protocol's row spans
// ([y, x0, x1) triples, merged per row; server/protocol/room.ts RegionQuery).
//
// The frame quad covers the whole canvas (shaders/frame.vert), so a point at fraction (fx, fy)
// of the canvas' CSS box is at (fx·W, fy·H) in the W x H request camera's pixels, whatever the
// frame's own (possibly reduced) resolution.

export interface CssRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Continuous camera pixel coordinates (u, v) of a client point; may lie outside [0,W)x[0,H). */
export function cameraPoint(clientX: number, clientY: number, rect: CssRect, cam: { width: number; height: number }): { u: number; v: number } {
  return { u: ((clientX - rect.left) / Math.max(rect.width, 1e-9)) * cam.width, v: ((clientY - rect.top) / Math.max(rect.height, 1e-9)) * cam.height };
}

/** The integer pixel under a client point, or null outside the image. */
export function cameraPixel(clientX: number, clientY: number, rect: CssRect, cam: { width: number; height: number }): { x: number; y: number } | null {
  const { u, v } = cameraPoint(clientX, clientY, rect, cam);
  const x = Math.floor(u);
  const y = Math.floor(v);
  if (x < 0 || y < 0 || x >= cam.width || y >= cam.height) return null;
  return { x, y };
}

export type Span = [number, number, number];

/** Row spans of the pixels whose centres lie in the box spanned by two camera points (clipped). */
export function boxSpans(a: { u: number; v: number }, b: { u: number; v: number }, width: number, height: number): Span[] {
  const x0 = Math.max(0, Math.ceil(Math.min(a.u, b.u) - 0.5));
  const x1 = Math.min(width, Math.floor(Math.max(a.u, b.u) - 0.5) + 1);
  const y0 = Math.max(0, Math.ceil(Math.min(a.v, b.v) - 0.5));
  const y1 = Math.min(height, Math.floor(Math.max(a.v, b.v) - 0.5) + 1);
  const spans: Span[] = [];
  if (x1 <= x0) return spans;
  for (let y = y0; y < y1; y++) spans.push([y, x0, x1]);
  return spans;
}

/**
 * Row spans of a brush stroke: discs of `radius` camera pixels along the polyline `points`
 * (camera pixel coordinates), clipped to the image; a pixel counts when its centre is covered.
 */
export function strokeSpans(points: readonly { u: number; v: number }[], radius: number, width: number, height: number): Span[] {
  if (points.length === 0) return [];
  const r = Math.max(0.5, radius);
  let minU = Infinity;
  let minV = Infinity;
  let maxU = -Infinity;
  let maxV = -Infinity;
  for (const p of points) {
    minU = Math.min(minU, p.u);
    maxU = Math.max(maxU, p.u);
    minV = Math.min(minV, p.v);
    maxV = Math.max(maxV, p.v);
  }
  const bx0 = Math.max(0, Math.floor(minU - r));
  const bx1 = Math.min(width, Math.ceil(maxU + r) + 1);
  const by0 = Math.max(0, Math.floor(minV - r));
  const by1 = Math.min(height, Math.ceil(maxV + r) + 1);
  if (bx1 <= bx0 || by1 <= by0) return [];
  const bw = bx1 - bx0;
  const mask = new Uint8Array(bw * (by1 - by0));
  const disc = (cu: number, cv: number) => {
    const ya = Math.max(by0, Math.ceil(cv - r - 0.5));
    const yb = Math.min(by1 - 1, Math.floor(cv + r - 0.5));
    for (let y = ya; y <= yb; y++) {
      const dy = y + 0.5 - cv;
      const half = Math.sqrt(Math.max(0, r * r - dy * dy));
      const xa = Math.max(bx0, Math.ceil(cu - half - 0.5));
      const xb = Math.min(bx1 - 1, Math.floor(cu + half - 0.5));
      if (xb >= xa) mask.fill(1, (y - by0) * bw + (xa - bx0), (y - by0) * bw + (xb - bx0) + 1);
    }
  };
  disc(points[0]!.u, points[0]!.v);
  const step = Math.max(0.5, r / 3);
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const n = Math.max(1, Math.ceil(Math.hypot(b.u - a.u, b.v - a.v) / step));
    for (let s = 1; s <= n; s++) disc(a.u + ((b.u - a.u) * s) / n, a.v + ((b.v - a.v) * s) / n);
  }
  const spans: Span[] = [];
  for (let y = by0; y < by1; y++) {
    const row = (y - by0) * bw;
    let x = 0;
    while (x < bw) {
      if (!mask[row + x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < bw && mask[row + x]) x++;
      spans.push([y, bx0 + start, bx0 + x]);
    }
  }
  return spans;
}

/** Number of pixels the spans cover. */
export function spanPixels(spans: readonly Span[]): number {
  let n = 0;
  for (const [, a, b] of spans) n += Math.max(0, b - a);
  return n;
}

/**
 * Calls `fn` at most once per `intervalMs`: the first call runs at once, later ones within the
 * interval are coalesced into one trailing call with the latest arguments.
 */
export class Throttle<A extends unknown[]> {
  private last = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pending: A | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: (...args: A) => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  call(...args: A): void {
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0 && !this.timer) {
      this.last = this.now();
      this.fn(...args);
      return;
    }
    this.pending = args;
    if (!this.timer) this.timer = setTimeout(() => this.fire(), Math.max(0, wait));
  }

  /** Whether a trailing call is waiting. */
  get waiting(): boolean {
    return this.pending !== null;
  }

  /** Runs a pending trailing call now (e.g. on release). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.fire();
  }

  /** Drops a pending trailing call. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  private fire(): void {
    this.timer = null;
    const args = this.pending;
    this.pending = null;
    if (!args) return;
    this.last = this.now();
    this.fn(...args);
  }
}
