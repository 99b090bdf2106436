// Viewer HUD numbers (app/viewer/stats.ts): displayed FPS and glass-to-glass latency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameRateMeter, LatencyTracker, median } from '../../app/viewer/stats';

test('median of odd, even and empty lists', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

test('frame rate over a one-second window', () => {
  const m = new FrameRateMeter(1000);
  assert.equal(m.fps(0), 0);
  for (let i = 0; i <= 30; i++) m.tick(i * (1000 / 30));
  assert.ok(Math.abs(m.fps(1000) - 30) < 1e-9, `fps ${m.fps(1000)}`);
  assert.equal(m.fps(5000), 0, 'no frames for a while: 0 fps');
});

test('latency: each request is measured by the first displayed frame that covers it', () => {
  const l = new LatencyTracker();
  l.sent(1, 0);
  l.sent(2, 10);
  l.sent(3, 20);
  assert.deepEqual(l.displayed(2, 100), [100, 90]);
  assert.deepEqual(l.displayed(2, 120), [], 'a frame for an already covered request adds nothing');
  assert.deepEqual(l.displayed(5, 150), [130]);
  assert.equal(l.median(), 100);
});
