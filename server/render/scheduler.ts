// Per-client, latest-wins frame scheduling (DESIGN.md §2):
// - each client has at most one pending view (a newer one replaces it) and at most one frame
//   in flight (sent, not yet acknowledged);
// - one render at a time on the shared renderer, clients served round-robin; JPEG encoding of
//   one frame overlaps the next render;
// - while the camera moves, frames are rendered at a reduced resolution chosen from measured
//   throughput to hold ~30 fps (the budget is shared by the clients moving at the same time);
//   150 ms after the last move the view is rendered at full size.
import type { FramePayload, StageTimings, ViewRequest } from '../protocol/events';
import { encodeLabelRle } from '../protocol/label-rle';
import { scaleCamera, unprojectPixel } from '../scene/camera';
import type { CameraJSON } from '../scene/types';
import { encodeJpeg } from './encode';
import type { SceneRuntime } from './runtime';

export const IDLE_FULL_RES_MS = 150;
export const ACK_TIMEOUT_MS = 3000;
const FRAME_BUDGET_MS = 33;
const MIN_SCALE = 0.25;

/** What a client's frames carry besides the scene: its room's label channel and appearance edits. */
export interface FrameContext {
  labels: Uint8Array | null;
  order: string[];
  appearance?: { key: string; opacityScale: Float32Array | null; tint: Float32Array | null } | null;
}

export interface FrameSink {
  frame(f: FramePayload): void;
  error(message: string): void;
  /** The per-Gaussian label channel to draw for this client (room labels + its hover preview). */
  context?(): FrameContext | null;
}

interface ClientState {
  id: string;
  runtime: SceneRuntime;
  sink: FrameSink;
  pending: (ViewRequest & { receivedAt: number; reduced: boolean }) | null;
  latest: ViewRequest | null;
  lastViewAt: number;
  inFlight: { seq: number; since: number } | null;
  rendering: boolean;
  lastFrameReduced: boolean;
  idleTimer: NodeJS.Timeout | null;
  frameSeq: number;
  /** Depth of the last frame sent, for presence cursors (`worldAt`). */
  lastDepth: { camera: CameraJSON; depth: Float32Array } | null;
}

export interface SchedulerStats {
  framesSent: number;
  framesDropped: number;
}

export class FrameScheduler {
  private clients = new Map<string, ClientState>();
  private order: string[] = [];
  private cursor = 0;
  private busy = false;
  /** Exponential moving average of render+encode cost, ms per megapixel. */
  private msPerMpx = 20;
  readonly stats: SchedulerStats = { framesSent: 0, framesDropped: 0 };

  addClient(id: string, runtime: SceneRuntime, sink: FrameSink): void {
    this.removeClient(id);
    this.clients.set(id, {
      id, runtime, sink, pending: null, latest: null, lastViewAt: 0, inFlight: null,
      rendering: false, lastFrameReduced: false, idleTimer: null, frameSeq: 0, lastDepth: null,
    });
    this.order.push(id);
  }

  removeClient(id: string): void {
    const c = this.clients.get(id);
    if (!c) return;
    if (c.idleTimer) clearTimeout(c.idleTimer);
    this.clients.delete(id);
    this.order = this.order.filter((x) => x !== id);
  }

  has(id: string): boolean {
    return this.clients.has(id);
  }

  /** Something every client of `runtime` sees changed (labels): re-render their current views. */
  refreshAll(runtime: SceneRuntime, filter: (id: string) => boolean = () => true): void {
    const now = performance.now();
    for (const c of this.clients.values()) {
      if (c.runtime !== runtime || !c.latest || !filter(c.id)) continue;
      c.pending = { ...c.latest, moving: false, receivedAt: now, reduced: c.pending?.reduced ?? false };
    }
    this.pump();
  }

  /** The exact deformation at t became available: re-render the clients showing t. */
  refresh(runtime: SceneRuntime, t: number): void {
    const now = performance.now();
    for (const c of this.clients.values()) {
      if (c.runtime !== runtime || !c.latest || c.pending || runtime.resolveTime(c.latest.t) !== t) continue;
      c.pending = { ...c.latest, moving: false, receivedAt: now, reduced: false };
    }
    this.pump();
  }

  request(id: string, req: ViewRequest): void {
    const c = this.clients.get(id);
    if (!c) return;
    const now = performance.now();
    const moving = req.moving ?? now - c.lastViewAt < IDLE_FULL_RES_MS;
    if (c.pending) this.stats.framesDropped++;
    c.pending = { ...req, receivedAt: now, reduced: moving };
    c.latest = req;
    c.lastViewAt = now;
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.idleTimer = null;
    if (moving) this.armIdle(c);
    this.pump();
  }

  ack(id: string, seq: number): void {
    const c = this.clients.get(id);
    if (!c || !c.inFlight || seq < c.inFlight.seq) return;
    c.inFlight = null;
    this.pump();
  }

  /** After the camera stops, re-render the last view at full resolution. */
  private armIdle(c: ClientState): void {
    c.idleTimer = setTimeout(() => {
      c.idleTimer = null;
      if (!this.clients.has(c.id) || !c.latest) return;
      const pendingFull = c.pending && !c.pending.reduced;
      if (!pendingFull && (c.lastFrameReduced || c.pending)) {
        c.pending = { ...c.latest, moving: false, receivedAt: performance.now(), reduced: false };
        this.pump();
      }
    }, IDLE_FULL_RES_MS);
  }

  private nextReady(): ClientState | null {
    const now = performance.now();
    for (let i = 0; i < this.order.length; i++) {
      const idx = (this.cursor + i) % this.order.length;
      const c = this.clients.get(this.order[idx]!);
      if (!c || !c.pending || c.rendering) continue;
      if (c.inFlight && now - c.inFlight.since > ACK_TIMEOUT_MS) c.inFlight = null; // lost ack
      if (c.inFlight) continue;
      this.cursor = (idx + 1) % this.order.length;
      return c;
    }
    return null;
  }

  private pump(): void {
    if (this.busy) return;
    const c = this.nextReady();
    if (!c) return;
    const req = c.pending!;
    c.pending = null;
    c.rendering = true;
    this.busy = true;
    void this.renderOne(c, req).finally(() => {
      c.rendering = false;
      this.pump();
    });
  }

  /** Clients whose camera moved recently: they share the renderer, round-robin. */
  private movingClients(now: number): number {
    let n = 0;
    for (const c of this.clients.values()) if (now - c.lastViewAt < 2 * IDLE_FULL_RES_MS) n++;
    return Math.max(1, n);
  }

  /**
   * Resolution scale for a frame while its camera moves: the renderer's measured cost per
   * megapixel against the frame budget, shared by every client moving at the same time (ten
   * people orbiting at once each get smaller frames, at about the rate one person would).
   */
  private chooseScale(width: number, height: number): number {
    const mpx = (width * height) / 1e6;
    const budget = FRAME_BUDGET_MS / this.movingClients(performance.now());
    const s = Math.sqrt(budget / Math.max(1e-3, this.msPerMpx * mpx));
    return Math.min(1, Math.max(MIN_SCALE, s));
  }

  /**
   * The world point under (x, y) (0..1 of the frame) in the last frame this client received,
   * or null (no frame yet, or background there).
   */
  worldAt(id: string, x: number, y: number): [number, number, number] | null {
    const d = this.clients.get(id)?.lastDepth;
    if (!d) return null;
    const px = Math.min(d.camera.width - 1, Math.floor(x * d.camera.width));
    const py = Math.min(d.camera.height - 1, Math.floor(y * d.camera.height));
    const z = d.depth[py * d.camera.width + px]!;
    if (!(z > 0)) return null;
    return unprojectPixel(d.camera, px, py, z);
  }

  private async renderOne(c: ClientState, req: ViewRequest & { receivedAt: number; reduced: boolean }): Promise<void> {
    const start = performance.now();
    let encodeStarted = false;
    try {
      const full = req.camera;
      const scale = req.reduced ? this.chooseScale(full.width, full.height) : 1;
      const w = Math.max(1, Math.round(full.width * scale));
      const h = Math.max(1, Math.round(full.height * scale));
      const camera = scale === 1 ? full : scaleCamera(full, w, h);
      const exact = c.runtime.isExact(req.t);
      const ctx = c.sink.context?.() ?? null;
      const out = await c.runtime.render(camera, req.t, { labels: ctx?.labels ?? null, appearance: ctx?.appearance ?? null });
      const rendered = performance.now();
      // Free the renderer for the next client while this frame encodes.
      this.busy = false;
      encodeStarted = true;
      queueMicrotask(() => this.pump());
      const jpeg = await encodeJpeg(out.rgb, out.width, out.height);
      const labels = ctx?.labels && out.labels ? encodeLabelRle(out.labels) : undefined;
      const done = performance.now();
      const mpx = (w * h) / 1e6;
      this.msPerMpx = 0.7 * this.msPerMpx + 0.3 * ((done - start) / Math.max(mpx, 1e-3));
      if (!this.clients.has(c.id)) return;
      const timings: StageTimings = {
        queueMs: start - req.receivedAt,
        deformMs: out.timings.deformMs,
        renderMs: rendered - start - out.timings.deformMs,
        encodeMs: done - rendered,
        totalMs: done - req.receivedAt,
      };
      c.frameSeq++;
      c.inFlight = { seq: c.frameSeq, since: done };
      c.lastFrameReduced = scale < 1;
      c.lastDepth = { camera, depth: out.depth };
      this.stats.framesSent++;
      c.sink.frame({ seq: c.frameSeq, viewSeq: req.seq, width: w, height: h, scale, t: req.t, jpeg, timings, backend: c.runtime.backend, exact, labels, labelOrder: labels ? ctx!.order : undefined });
      if (c.lastFrameReduced && !c.idleTimer && !c.pending) this.armIdle(c);
    } catch (err) {
      c.sink.error(`render failed: ${(err as Error).message}`);
    } finally {
      if (!encodeStarted) this.busy = false;
    }
  }
}
