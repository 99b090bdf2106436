// Exact deformation for scenes that carry their MLP. Computed samples become native keyframes:
// the renderer always interpolates between the nearest keyframes it has, so a time that is not
// computed yet shows the interpolation at once, and the exact result replaces it when ready
// (listeners re-render). Baked keyframes are pinned; computed ones live in an LRU bounded by
// bytes (each costs N x 10 floats in the native scene).
import type { NativeScene } from '../../native/index';
import type { DeformRunner } from '../deform/runner';

/** Times closer than this are the same time (scrubbing must not recompute per float). */
export const TIME_QUANTUM = 1e-3;

export class DeformCache {
  private pinned: number[];
  private readonly lru = new Map<number, true>(); // insertion order = recency
  private readonly maxEntries: number;
  private running: number | null = null;
  private queued: number | null = null;
  private readonly listeners = new Set<(t: number) => void>();
  /** Last computation's wall time, for the HUD and the benchmark. */
  lastComputeMs = 0;
  lastError: string | null = null;

  constructor(
    private readonly native: NativeScene,
    private readonly runner: DeformRunner,
    private readonly xyz: Float32Array,
    budgetBytes: number,
  ) {
    this.pinned = native.keyframeTimes();
    const perEntry = Math.max(1, (xyz.length / 3) * 10 * 4);
    this.maxEntries = Math.max(2, Math.floor(budgetBytes / perEntry));
  }

  /** Adds a precomputed (baked) sample as a permanent keyframe. */
  pin(t: number, sample: import('../scene/types').DeformSample): void {
    this.native.addKeyframe({ t, ...sample });
    if (!this.pinned.includes(t)) this.pinned.push(t);
    if (this.lru.delete(t)) return;
    for (const fn of this.listeners) fn(t);
  }

  /** The time actually rendered for t: a pinned keyframe within half a quantum, else t quantized. */
  resolve(t: number): number {
    for (const p of this.pinned) if (Math.abs(p - t) <= TIME_QUANTUM / 2) return p;
    return Math.min(1, Math.max(0, Math.round(t / TIME_QUANTUM) * TIME_QUANTUM));
  }

  isExact(t: number): boolean {
    const r = this.resolve(t);
    return this.pinned.includes(r) || this.lru.has(r);
  }

  onExact(fn: (t: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Makes sure the exact deformation at t gets computed; latest request wins over queued ones. */
  request(t: number): void {
    const r = this.resolve(t);
    if (this.pinned.includes(r)) return;
    if (this.lru.has(r)) {
      this.lru.delete(r);
      this.lru.set(r, true);
      return;
    }
    if (this.running === r) return;
    if (this.running !== null) {
      this.queued = r;
      return;
    }
    void this.compute(r);
  }

  private async compute(t: number): Promise<void> {
    this.running = t;
    const t0 = performance.now();
    try {
      const sample = await this.runner.run(this.xyz, t);
      this.native.addKeyframe({ t, ...sample });
      this.lru.set(t, true);
      while (this.lru.size > this.maxEntries) {
        const oldest = this.lru.keys().next().value as number;
        this.lru.delete(oldest);
        this.native.removeKeyframe(oldest);
      }
      this.lastComputeMs = performance.now() - t0;
      this.lastError = null;
      for (const fn of this.listeners) fn(t);
    } catch (err) {
      this.lastError = `deformation at t=${t} failed: ${(err as Error).message}`;
    } finally {
      this.running = null;
      const next = this.queued;
      this.queued = null;
      if (next !== null && !this.isExact(next)) void this.compute(next);
    }
  }

  dispose(): void {
    this.listeners.clear();
    this.queued = null;
    this.runner.dispose();
  }
}
