// Token-bucket rate limiter (server/auth/rate-limit.ts) with an injected clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateLimiter, rateLimitMessage } from '../../server/auth/rate-limit';

describe('RateLimiter', () => {
  test('a burst passes, then the sustained rate', () => {
    const clock = { t: 0 };
    const rl = new RateLimiter({ ratePerSec: 30, burst: 60, now: () => clock.t });
    for (let i = 0; i < 60; i++) assert.ok(rl.take('s1').ok, `burst ${i}`);
    const refused = rl.take('s1');
    assert.ok(!refused.ok);
    assert.equal(refused.retryAfterMs, 34); // one token at 30/s
    clock.t += 100; // 3 tokens
    assert.ok(rl.take('s1').ok);
    assert.ok(rl.take('s1').ok);
    assert.ok(rl.take('s1').ok);
    assert.equal(rl.take('s1').ok, false);
    // Over one simulated minute at 60 attempts/s, about 30/s pass.
    let passed = 0;
    for (let i = 0; i < 3600; i++) {
      clock.t += 1000 / 60;
      if (rl.take('s1').ok) passed++;
    }
    assert.ok(Math.abs(passed - 1800) <= 2, `passed ${passed}`);
  });

  test('keys are independent; refill never exceeds the burst', () => {
    const clock = { t: 0 };
    const rl = new RateLimiter({ ratePerSec: 1, burst: 2, now: () => clock.t });
    assert.ok(rl.take('a').ok && rl.take('a').ok);
    assert.equal(rl.take('a').ok, false);
    assert.ok(rl.take('b').ok);
    clock.t += 3_600_000;
    assert.ok(rl.take('a').ok && rl.take('a').ok);
    assert.equal(rl.take('a').ok, false);
  });

  test('costs, peek, a cost above the burst never passes', () => {
    const clock = { t: 0 };
    const rl = new RateLimiter({ ratePerSec: 10, burst: 10, now: () => clock.t });
    assert.ok(rl.peek('k', 10));
    const r = rl.take('k', 7);
    assert.ok(r.ok && r.remaining === 3);
    assert.equal(rl.peek('k', 4), false);
    const d = rl.take('k', 4);
    assert.ok(!d.ok && d.retryAfterMs === 100);
    const huge = rl.take('k', 11);
    assert.ok(!huge.ok && huge.retryAfterMs === Infinity);
    assert.match(rateLimitMessage('upload', huge), /larger than the rate limit allows/);
    assert.equal(rateLimitMessage('op:submit', { retryAfterMs: 1500 }), 'op:submit: too many requests, try again in 1.5 s');
  });

  test('a clock stepping back refills nothing', () => {
    const clock = { t: 10_000 };
    const rl = new RateLimiter({ ratePerSec: 1, burst: 1, now: () => clock.t });
    assert.ok(rl.take('k').ok);
    clock.t = 0;
    assert.equal(rl.take('k').ok, false);
    clock.t = 999;
    assert.equal(rl.take('k').ok, false);
    clock.t = 1000;
    assert.ok(rl.take('k').ok);
  });

  test('memory is bounded (least recently used go first) and delete forgets', () => {
    const clock = { t: 0 };
    const rl = new RateLimiter({ ratePerSec: 1, burst: 1, maxKeys: 3, now: () => clock.t });
    for (const k of ['a', 'b', 'c']) assert.ok(rl.take(k).ok);
    assert.equal(rl.take('a').ok, false); // touches a: b is now the oldest
    assert.ok(rl.take('d').ok); // evicts b
    assert.equal(rl.size, 3);
    assert.ok(rl.take('b').ok, 'an evicted key comes back full'); // evicts c
    assert.equal(rl.take('a').ok, false, 'a was kept');
    rl.delete('a');
    assert.ok(rl.take('a').ok);
  });

  test('bad settings are refused', () => {
    assert.throws(() => new RateLimiter({ ratePerSec: 0, burst: 1 }));
    assert.throws(() => new RateLimiter({ ratePerSec: 1, burst: 0 }));
    assert.throws(() => new RateLimiter({ ratePerSec: Number.NaN, burst: 1 }));
  });
});
