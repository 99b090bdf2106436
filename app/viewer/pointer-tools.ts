'use client';
// Client side: what the pointer does on the frame, per tool.
// - click tool: a click (press and release without moving) selects at that pixel; a drag orbits
//   (OrbitControls); resting ~120 ms with no button pressed asks for a hover preview.
// - brush (B) / box (X): orbiting is off; a drag paints a stroke or spans a box, drawn on a 2D
//   overlay canvas, and its pixels become a region selection on release.
// Pixels are in the grid of the camera the shown frame was requested with (region.ts).
import type { AnnotationSession, Modifiers, Tool } from './annotation';
import { boxSpans, cameraPixel, cameraPoint, strokeSpans } from './region';
import type { Camera } from '../../server/protocol';

export interface FrameView {
  camera: Camera;
  t: number;
}

export interface PointerToolsHost {
  /** The request camera and time of the frame on screen, or null before the first frame. */
  frameView(): FrameView | null;
  /** Orbit controls on (click tool) or off (brush, box). */
  setOrbit(enabled: boolean): void;
}

/** Movement (CSS px) below which a press and release is a click, not a drag. */
const CLICK_SLOP = 4;
const CLICK_MAX_MS = 800;
const HOVER_REST_MS = 120;
/** Brush radius in CSS pixels. */
export const BRUSH_RADIUS = 12;

interface Drag {
  pointerId: number;
  tool: Tool;
  view: FrameView | null;
  startX: number;
  startY: number;
  at: number;
  moved: boolean;
  points: { x: number; y: number }[];
}

export class PointerTools {
  private drag: Drag | null = null;
  private hoverTimer: ReturnType<typeof setTimeout> | null = null;
  /** After a click, no preview until the pointer moves away from here. */
  private quietAt: { x: number; y: number } | null = null;
  private tool: Tool;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly overlay: HTMLCanvasElement | null,
    private readonly annot: AnnotationSession,
    private readonly host: PointerToolsHost,
  ) {
    this.tool = annot.getSnapshot().tool;
    canvas.addEventListener('pointerdown', this.onDown);
    canvas.addEventListener('pointermove', this.onMove);
    canvas.addEventListener('pointerup', this.onUp);
    canvas.addEventListener('pointercancel', this.onCancel);
    canvas.addEventListener('pointerleave', this.onLeave);
    this.unsubscribe = annot.subscribe(this.onAnnotation);
    this.applyTool();
  }

  dispose(): void {
    this.canvas.removeEventListener('pointerdown', this.onDown);
    this.canvas.removeEventListener('pointermove', this.onMove);
    this.canvas.removeEventListener('pointerup', this.onUp);
    this.canvas.removeEventListener('pointercancel', this.onCancel);
    this.canvas.removeEventListener('pointerleave', this.onLeave);
    this.unsubscribe();
    this.stopHover();
    this.clearOverlay();
  }

  /** Esc: drop a stroke in progress. Returns whether there was one. */
  cancelDrag(): boolean {
    if (!this.drag || this.drag.tool === 'click') return false;
    this.drag = null;
    this.clearOverlay();
    return true;
  }

  private readonly onAnnotation = () => {
    const tool = this.annot.getSnapshot().tool;
    if (tool === this.tool) return;
    this.tool = tool;
    this.cancelDrag();
    this.stopHover();
    this.applyTool();
  };

  private applyTool(): void {
    this.host.setOrbit(this.tool === 'click');
    this.canvas.dataset.tool = this.tool;
  }

  private readonly onDown = (e: PointerEvent) => {
    if (e.button !== 0 || !e.isPrimary) return;
    this.stopHover();
    this.annot.hover(null);
    const view = this.host.frameView();
    this.drag = { pointerId: e.pointerId, tool: this.tool, view, startX: e.clientX, startY: e.clientY, at: performance.now(), moved: false, points: [{ x: e.clientX, y: e.clientY }] };
    if (this.tool !== 'click') {
      e.preventDefault();
      try {
        this.canvas.setPointerCapture(e.pointerId);
      } catch {
        // capture is a nicety (strokes leaving the canvas)
      }
      this.draw();
    }
  };

  private readonly onMove = (e: PointerEvent) => {
    const d = this.drag;
    if (d && e.pointerId === d.pointerId) {
      if (Math.hypot(e.clientX - d.startX, e.clientY - d.startY) > CLICK_SLOP) d.moved = true;
      if (d.tool !== 'click') {
        if (d.tool === 'brush') d.points.push({ x: e.clientX, y: e.clientY });
        else d.points[1] = { x: e.clientX, y: e.clientY };
        this.draw();
      }
      return;
    }
    if (e.buttons !== 0 || this.tool !== 'click') return;
    if (this.quietAt && Math.hypot(e.clientX - this.quietAt.x, e.clientY - this.quietAt.y) <= CLICK_SLOP * 2) return;
    this.quietAt = null;
    this.stopHover();
    const x = e.clientX;
    const y = e.clientY;
    this.hoverTimer = setTimeout(() => this.hoverAt(x, y), HOVER_REST_MS);
  };

  private readonly onUp = (e: PointerEvent) => {
    const d = this.drag;
    if (!d || e.pointerId !== d.pointerId) return;
    this.drag = null;
    const mods: Modifiers = { shift: e.shiftKey, alt: e.altKey };
    if (d.tool === 'click') {
      if (d.moved || performance.now() - d.at > CLICK_MAX_MS) return; // an orbit, or a long press
      const view = this.host.frameView() ?? d.view;
      if (!view) return;
      const px = cameraPixel(e.clientX, e.clientY, this.canvas.getBoundingClientRect(), view.camera);
      if (!px) return;
      this.quietAt = { x: e.clientX, y: e.clientY };
      void this.annot.click(view.camera, view.t, px.x, px.y, mods);
      return;
    }
    this.clearOverlay();
    const view = d.view;
    if (!view) return;
    const rect = this.canvas.getBoundingClientRect();
    const cam = view.camera;
    const pts = d.points.map((p) => cameraPoint(p.x, p.y, rect, cam));
    const spans =
      d.tool === 'brush'
        ? strokeSpans(pts, (BRUSH_RADIUS * cam.width) / Math.max(rect.width, 1), cam.width, cam.height)
        : pts.length > 1 && d.moved
          ? boxSpans(pts[0]!, pts[1]!, cam.width, cam.height)
          : [];
    if (spans.length) void this.annot.region(cam, view.t, spans, mods);
  };

  private readonly onCancel = (e: PointerEvent) => {
    if (this.drag && e.pointerId === this.drag.pointerId) {
      this.drag = null;
      this.clearOverlay();
    }
  };

  private readonly onLeave = () => {
    this.stopHover();
    this.quietAt = null;
    this.annot.hover(null);
  };

  private hoverAt(clientX: number, clientY: number): void {
    this.hoverTimer = null;
    if (this.drag || this.tool !== 'click') return;
    const view = this.host.frameView();
    if (!view) return;
    const px = cameraPixel(clientX, clientY, this.canvas.getBoundingClientRect(), view.camera);
    if (!px) return this.annot.hover(null);
    this.annot.hover({ camera: view.camera, t: view.t, x: px.x, y: px.y });
  }

  private stopHover(): void {
    if (this.hoverTimer) clearTimeout(this.hoverTimer);
    this.hoverTimer = null;
  }

  // ---- the stroke / box drawing -------------------------------------------------------------

  private draw(): void {
    const d = this.drag;
    const c = this.overlay;
    if (!d || !c) return;
    const rect = c.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(rect.width * dpr));
    const h = Math.max(1, Math.round(rect.height * dpr));
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const g = c.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, -rect.left * dpr, -rect.top * dpr);
    g.clearRect(rect.left, rect.top, rect.width, rect.height);
    const snap = this.annot.getSnapshot();
    const colour = snap.labels.find((l) => l.id === snap.activeLabelId)?.colour ?? '#ffffff';
    if (d.tool === 'brush') {
      g.globalAlpha = 0.45;
      g.strokeStyle = colour;
      g.fillStyle = colour;
      g.lineCap = 'round';
      g.lineJoin = 'round';
      g.lineWidth = BRUSH_RADIUS * 2;
      g.beginPath();
      const [first, ...rest] = d.points;
      if (!first) return;
      g.moveTo(first.x, first.y);
      if (rest.length === 0) g.lineTo(first.x + 0.01, first.y);
      for (const p of rest) g.lineTo(p.x, p.y);
      g.stroke();
      g.globalAlpha = 1;
    } else if (d.points.length > 1) {
      const a = d.points[0]!;
      const b = d.points[1]!;
      g.fillStyle = colour;
      g.globalAlpha = 0.18;
      g.fillRect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(b.x - a.x), Math.abs(b.y - a.y));
      g.globalAlpha = 1;
      g.lineWidth = 1.5;
      g.setLineDash([6, 4]);
      g.strokeStyle = colour;
      g.strokeRect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(b.x - a.x), Math.abs(b.y - a.y));
      g.setLineDash([]);
    }
  }

  private clearOverlay(): void {
    const c = this.overlay;
    const g = c?.getContext('2d');
    if (c && g) {
      g.setTransform(1, 0, 0, 1, 0, 0);
      g.clearRect(0, 0, c.width, c.height);
    }
  }
}
