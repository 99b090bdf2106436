'use client';
// Client side: the small top-left overlay with what the stream is doing.
import type { HudStats } from './session';

function ms(v: number | undefined | null): string {
  return v === undefined || v === null ? '–' : v < 10 ? v.toFixed(1) : v.toFixed(0);
}

export function Hud({ hud }: { hud: HudStats }) {
  const t = hud.timings;
  return (
    <div className="hud" data-testid="hud" aria-label="stream statistics">
      <div className="hud-row">
        <span className="hud-key">fps</span>
        <span className="hud-val">{hud.fps.toFixed(1)}</span>
        <span className="hud-key">latency</span>
        <span className="hud-val" title="glass to glass: view request sent → its frame displayed (median of recent)">
          {hud.latencyMs === null ? '–' : `${ms(hud.latencyMs)} ms`}
        </span>
      </div>
      <div className="hud-row" title="server stage timings of the last frame (ms)">
        <span className="hud-key">queue</span>
        <span className="hud-val">{ms(t?.queueMs)}</span>
        <span className="hud-key">deform</span>
        <span className="hud-val">{ms(t?.deformMs)}</span>
        <span className="hud-key">render</span>
        <span className="hud-val">{ms(t?.renderMs)}</span>
        <span className="hud-key">encode</span>
        <span className="hud-val">{ms(t?.encodeMs)}</span>
        {!hud.exact && (
          <span className="hud-interp" data-testid="hud-interpolated">
            interpolated
          </span>
        )}
      </div>
      <div className="hud-row">
        <span className="hud-val">{hud.width ? `${hud.width}×${hud.height}` : '–'}</span>
        {hud.scale < 1 && <span className="hud-key">({Math.round(hud.scale * 100)}%)</span>}
        <span className="hud-key">·</span>
        <span className="hud-val">{hud.backend || '–'}</span>
      </div>
    </div>
  );
}
