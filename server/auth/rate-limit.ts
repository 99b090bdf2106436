// A token-bucket rate limiter, per key (a socket id, an IP, a user id). Each key's bucket holds
// up to `burst` tokens and refills at `ratePerSec`; an action costs tokens (default 1) and is
// refused while the bucket is short, with how long until it would pass. Memory is bounded: at
// most `maxKeys` buckets, least recently used dropped first (a dropped bucket comes back full,
// which only ever errs toward allowing).
//
// Suggested uses: per socket, op:submit 30/s burst 60; presence:set 20/s burst 20; per IP,
// HTTP 20/s burst 40 and handshakes 5/s burst 20.

export interface RateLimitOptions {
  /** Sustained rate, tokens per second (> 0). */
  ratePerSec: number;
  /** Bucket size: the most that may pass at once after a quiet spell (>= 1). */
  burst: number;
  /** Most keys tracked (default 10 000). */
  maxKeys?: number;
  /** Clock in ms (default Date.now); inject for tests. */
  now?: () => number;
}

export type RateDecision = { ok: true; remaining: number } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly ratePerSec: number;
  readonly burst: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: RateLimitOptions) {
    if (!(opts.ratePerSec > 0) || !Number.isFinite(opts.ratePerSec)) throw new Error('ratePerSec must be a positive number');
    if (!(opts.burst >= 1) || !Number.isFinite(opts.burst)) throw new Error('burst must be at least 1');
    this.ratePerSec = opts.ratePerSec;
    this.burst = opts.burst;
    this.maxKeys = Math.max(1, opts.maxKeys ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  private refill(key: string): Bucket {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      const elapsed = Math.max(0, now - b.at); // a clock stepping back refills nothing
      b.tokens = Math.min(this.burst, b.tokens + (elapsed * this.ratePerSec) / 1000);
      b.at = now;
      this.buckets.delete(key); // re-insert: Map order is our LRU order
    } else {
      b = { tokens: this.burst, at: now };
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    }
    this.buckets.set(key, b);
    return b;
  }

  /** Takes `cost` tokens from `key`'s bucket if it has them. A cost above `burst` never passes. */
  take(key: string, cost = 1): RateDecision {
    const b = this.refill(key);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    const short = cost - b.tokens;
    const retryAfterMs = cost > this.burst ? Infinity : Math.ceil((short * 1000) / this.ratePerSec);
    return { ok: false, retryAfterMs };
  }

  /** Whether `take` would pass, without taking. */
  peek(key: string, cost = 1): boolean {
    return this.refill(key).tokens >= cost;
  }

  /** Forgets a key (a socket that disconnected). */
  delete(key: string): void {
    this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** "too many requests: try again in 1.5 s" for a refusal. */
export function rateLimitMessage(what: string, d: { retryAfterMs: number }): string {
  if (!Number.isFinite(d.retryAfterMs)) return `${what}: the request is larger than the rate limit allows`;
  return `${what}: too many requests, try again in ${(d.retryAfterMs / 1000).toFixed(d.retryAfterMs < 10_000 ? 1 : 0)} s`;
}
