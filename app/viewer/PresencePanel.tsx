'use client';
// Client side: who is in the room (under the labels panel), each with their colour, name and
// role, and a Follow button (F cycles through them); and the others' cursors drawn over the
// frame in their colours.
import type { PresenceSnapshot } from './presence';

export function PresencePanel({ snap, myName, myRole, onFollow }: { snap: PresenceSnapshot; myName: string; myRole: string | null; onFollow: (sid: string | null) => void }) {
  const count = snap.entries.length + 1;
  return (
    <section className="presence-panel" data-testid="presence-panel" aria-label="people in this room">
      <div className="presence-head">
        <span className="panel-title">In this room</span>
        <span className="muted small">{snap.joined ? count : '–'}</span>
      </div>
      <ul className="presence-list">
        <li className="presence-row" data-testid="presence-me">
          <span className="presence-dot" style={{ background: snap.colour ?? 'var(--muted)' }} />
          <span className="presence-name">{myName}</span>
          {myRole && <span className="muted small presence-role">{myRole}</span>}
          <span className="chip presence-you">you</span>
        </li>
        {snap.entries.map((e) => {
          const followed = snap.followed === e.sid;
          return (
            <li key={e.sid} className={`presence-row ${followed ? 'presence-followed' : ''}`} data-testid="presence-row" data-sid={e.sid}>
              <span className="presence-dot" style={{ background: e.colour }} />
              <span className="presence-name" title={`${e.name} (${e.role})${e.camera ? '' : ' · no view yet'}`}>
                {e.name}
              </span>
              <span className="muted small presence-role">{e.role}</span>
              <button
                className={`btn btn-ghost btn-sm presence-follow ${followed ? 'on' : ''}`}
                data-testid="follow-btn"
                aria-pressed={followed}
                disabled={!e.camera && !followed}
                title={followed ? 'Stop following (F, or move the camera)' : `Look through ${e.name}'s camera and follow their time (F)`}
                onClick={() => onFollow(followed ? null : e.sid)}
              >
                {followed ? 'Following' : 'Follow'}
              </button>
            </li>
          );
        })}
      </ul>
      {snap.joined && snap.entries.length === 0 && <div className="muted small presence-empty">Nobody else yet: share this page's link.</div>}
    </section>
  );
}

export function PresenceCursors({ snap }: { snap: PresenceSnapshot }) {
  if (snap.cursors.length === 0) return null;
  return (
    <div className="presence-cursors" aria-hidden="true">
      {snap.cursors.map((c) => (
        <div key={c.sid} className="presence-cursor" data-testid="presence-cursor" data-sid={c.sid} style={{ transform: `translate(${c.x}px, ${c.y}px)`, color: c.colour }}>
          <svg width="16" height="18" viewBox="0 0 16 18">
            <path d="M1 1l5.2 15 2.3-6.2L15 7.5z" fill="currentColor" stroke="rgba(0,0,0,0.7)" strokeWidth="1.1" strokeLinejoin="round" />
          </svg>
          <span className="presence-cursor-name" style={{ background: c.colour }}>
            {c.name}
          </span>
        </div>
      ))}
    </div>
  );
}
