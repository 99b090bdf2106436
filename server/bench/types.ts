/** One row of `splatsync bench` (DESIGN.md §4 JSON shape). */
export interface BenchResult {
  name: string;
  unit: string;
  median: number;
  /** The target, when it names one. */
  target?: number;
  /** 'max' when lower is better (ms), 'min' when higher is better (ratio, MB/s). */
  targetKind?: 'max' | 'min';
  ok?: boolean;
  /** Free-form detail: sizes, sample count, p95, what bounds it. */
  note?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function result(name: string, unit: string, samples: number[], target?: number, targetKind: 'max' | 'min' = 'max', note?: string): BenchResult {
  const med = median(samples);
  const ok = target === undefined ? undefined : targetKind === 'max' ? med <= target : med >= target;
  return { name, unit, median: med, target, targetKind: target === undefined ? undefined : targetKind, ok, note };
}

/** Wall times (ms) of `runs` calls after `warmup` unmeasured ones. */
export async function timeRuns(fn: () => Promise<unknown> | unknown, runs: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
