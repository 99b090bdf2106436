'use client';
// Client side: the scene badges of the viewer header that say (and change) what the scene can
// do: Bake (dynamic scenes whose deformation is computed on demand) and "no features".
import { useState } from 'react';
import type { SceneInfo } from '../../server/protocol';
import type { BakeState } from './session';

const BAKE_TIP =
  'Bake: precompute the deformation at every dataset time and store it in the scene, so playback and dataset views never wait for the deformation network. Runs on the server; the scene stays usable meanwhile.';

export function BakeControl({ scene, bake, onBake }: { scene: SceneInfo; bake: BakeState; onBake: () => void }) {
  if (!scene.dynamic) return null;
  if (scene.baked) {
    return (
      <span className="chip chip-ok" data-testid="baked" title="The deformation is precomputed at every dataset time">
        baked
      </span>
    );
  }
  if (bake.phase === 'starting' || bake.phase === 'running') {
    const pct = Math.round(bake.fraction * 100);
    return (
      <span className="bake-progress" data-testid="bake-progress" title={bake.message}>
        <span className="muted small">baking</span>
        <span className="progress progress-sm" role="progressbar" aria-label="bake progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
          <span className="progress-fill" style={{ width: `${pct}%` }} />
        </span>
        <span className="mono small">{pct}%</span>
      </span>
    );
  }
  const failed = bake.phase === 'failed';
  return (
    <button
      className={`btn btn-ghost btn-sm ${failed ? 'btn-warn' : ''}`}
      data-testid="bake"
      title={failed ? `The last bake failed: ${bake.message}\n\n${BAKE_TIP}` : BAKE_TIP}
      onClick={onBake}
    >
      {failed ? 'Bake again' : 'Bake'}
    </button>
  );
}

export function NoFeaturesBadge({ note }: { note: string }) {
  const [open, setOpen] = useState(false);
  return (
    <span className="popover-anchor">
      <button
        className="chip chip-warn chip-btn"
        data-testid="no-features"
        title={note}
        aria-expanded={open}
        onClick={() => setOpen((v) => !v)}
        onBlur={() => setOpen(false)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setOpen(false);
        }}
      >
        no features
      </button>
      {open && (
        <span className="popover" role="tooltip" data-testid="no-features-note">
          {note}
        </span>
      )}
    </span>
  );
}
