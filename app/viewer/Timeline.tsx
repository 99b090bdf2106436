'use client';
// Client side: the bar under the canvas. Play/pause, time slider and readout (dynamic scenes
// only), playback speed, "sync time" (shared playback with the room; not for viewers, who may
// not drive it), who this view follows,
// dataset view selector with the mask-vs-photo toggle (PhotoToggle.tsx), home button.
import type { SceneInfo } from '../../server/protocol';
import { PhotoToggle } from './PhotoToggle';
import type { PresenceSnapshot } from './presence';
import type { ViewerSession, ViewerSnapshot } from './session';

const SPEEDS = [0.25, 0.5, 1, 2];

function PlayIcon({ playing }: { playing: boolean }) {
  return playing ? (
    <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">
      <rect x="2" y="1.5" width="3" height="9" rx="0.6" fill="currentColor" />
      <rect x="7" y="1.5" width="3" height="9" rx="0.6" fill="currentColor" />
    </svg>
  ) : (
    <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">
      <path d="M3 1.6v8.8a.6.6 0 0 0 .9.5l7-4.4a.6.6 0 0 0 0-1L3.9 1.1a.6.6 0 0 0-.9.5z" fill="currentColor" />
    </svg>
  );
}

function viewLabel(v: SceneInfo['views'][number]): string {
  return `${v.split} ${v.index}`;
}

export function Timeline({ snap, session, presence, canSyncTime = true }: { snap: ViewerSnapshot; session: ViewerSession; presence?: PresenceSnapshot | null; canSyncTime?: boolean }) {
  const scene = snap.scene;
  if (!scene) return <footer className="timeline" />;
  const splits = [...new Set(scene.views.map((v) => v.split))];
  return (
    <footer className="timeline">
      {scene.dynamic && (
        <>
          <button
            className="play-btn"
            data-testid="play"
            aria-label={snap.playing ? 'pause' : 'play'}
            title={snap.playing ? 'Pause (Space)' : 'Play (Space)'}
            onClick={() => session.togglePlay()}
          >
            <PlayIcon playing={snap.playing} />
          </button>
          <input
            className="time-slider"
            data-testid="time-slider"
            type="range"
            min={0}
            max={1}
            step={0.001}
            value={snap.t}
            aria-label="time"
            onChange={(e) => session.setTime(Number(e.currentTarget.value))}
            onPointerDown={() => session.setScrubbing(true)}
            onPointerUp={() => session.setScrubbing(false)}
            onPointerCancel={() => session.setScrubbing(false)}
            onLostPointerCapture={() => session.setScrubbing(false)}
          />
          <span className="time-readout" data-testid="time-readout">
            t = {snap.t.toFixed(2)}
          </span>
          <select
            className="select speed"
            aria-label="playback speed"
            title="Playback speed"
            value={snap.speed}
            onChange={(e) => session.setSpeed(Number(e.currentTarget.value))}
          >
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
          {canSyncTime && (
          <button
            className={`btn btn-ghost btn-sm sync-toggle ${presence?.syncTime ? 'on' : ''}`}
            data-testid="sync-time"
            aria-pressed={presence?.syncTime ?? false}
            title={presence?.syncTime ? 'Sync time is on: play, pause and seek are shared with everyone in the room who has it on' : 'Share play, pause and seek with everyone in the room who has sync on'}
            onClick={() => session.setSyncTime(!presence?.syncTime)}
          >
            sync time
          </button>
          )}
        </>
      )}
      {!scene.dynamic && <span className="timeline-spacer" />}
      {presence?.followed && (
        <span className="chip chip-accent following-chip" data-testid="following">
          following {presence.entries.find((e) => e.sid === presence.followed)?.name ?? '…'}
          <button className="icon-btn icon-btn-sm" aria-label="stop following" title="Stop following (F)" onClick={() => session.follow(null)}>
            ×
          </button>
        </span>
      )}
      <label className="view-select">
        <span className="muted">view</span>
        <select
          className="select"
          data-testid="view-select"
          aria-label="dataset view"
          value={snap.viewIndex === null ? '' : String(snap.viewIndex)}
          onChange={(e) => {
            const v = e.currentTarget.value;
            if (v !== '') session.jumpToView(Number(v));
          }}
          disabled={scene.views.length === 0}
        >
          <option value="">{scene.views.length ? 'free camera' : 'no dataset views'}</option>
          {splits.map((split) => (
            <optgroup key={split} label={split}>
              {scene.views.map((v, i) =>
                v.split === split ? (
                  <option key={i} value={i}>
                    {viewLabel(v)}
                    {scene.dynamic ? `  ·  t ${v.time.toFixed(2)}` : ''}
                  </option>
                ) : null,
              )}
            </optgroup>
          ))}
        </select>
      </label>
      <PhotoToggle photo={session.photo} />
      <button className="icon-btn home-btn" title="Home camera (Home)" aria-label="home camera" onClick={() => session.goHome()}>
        <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
          <path d="M2 6.5 7 2l5 4.5V12a.5.5 0 0 1-.5.5H8.5V9h-3v3.5h-3A.5.5 0 0 1 2 12z" fill="none" stroke="currentColor" strokeWidth="1.2" strokeLinejoin="round" />
        </svg>
      </button>
    </footer>
  );
}
