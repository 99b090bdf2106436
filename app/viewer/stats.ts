// Client side (pure): the HUD's numbers. Displayed frames per second over a sliding window,
// and glass-to-glass latency: view request `seq` S sent -> the first displayed frame whose
// viewSeq >= S, median over the most recent samples.

export class FrameRateMeter {
  private readonly times: number[] = [];
  constructor(private readonly windowMs = 1000) {}

  /** Record a displayed frame at `now` (ms). */
  tick(now: number): void {
    this.times.push(now);
    this.trim(now);
  }

  /** Frames per second over the window ending at `now`. */
  fps(now: number): number {
    this.trim(now);
    const first = this.times[0];
    if (first === undefined || this.times.length < 2) return this.times.length; // 0 or 1 frame in the window
    const span = Math.max(now - first, this.windowMs / 2);
    return ((this.times.length - 1) * 1000) / Math.max(span, 1);
  }

  private trim(now: number): void {
    while (this.times.length && now - this.times[0]! > this.windowMs) this.times.shift();
  }
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export class LatencyTracker {
  /** seq -> send time (ms), ascending seq order, for requests no frame has covered yet. */
  private readonly pending = new Map<number, number>();
  private readonly samples: number[] = [];
  constructor(private readonly keep = 60, private readonly maxPending = 512) {}

  sent(seq: number, now: number): void {
    this.pending.set(seq, now);
    if (this.pending.size > this.maxPending) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
  }

  /** A frame answering requests up to `viewSeq` was displayed at `now`. Returns the new samples. */
  displayed(viewSeq: number, now: number): number[] {
    const added: number[] = [];
    for (const [seq, at] of this.pending) {
      if (seq > viewSeq) break;
      added.push(now - at);
      this.pending.delete(seq);
    }
    for (const a of added) this.samples.push(a);
    if (this.samples.length > this.keep) this.samples.splice(0, this.samples.length - this.keep);
    return added;
  }

  /** Forget requests in flight (e.g. after a reconnect: their frames will never come). */
  reset(): void {
    this.pending.clear();
  }

  median(): number | null {
    return median(this.samples);
  }
}
