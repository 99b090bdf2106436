'use client';
// Client side: the full-page screen shown when this page's access ends or is refused: the share
// link was revoked or expired, the owner removed this person's access, a sign-in is needed
// (session.ts sets `fatal.blocking`). It covers everything: nothing on the page works any more,
// and the viewer does not try to reconnect (the server dropped the connection on purpose; the
// same link would be refused again).
import type { FatalError } from './session';
import './access.css';

export function AccessScreen({ fatal }: { fatal: FatalError }) {
  return (
    <div className="access-screen" role="alertdialog" aria-modal="true" aria-labelledby="access-title" data-testid="access-screen" data-code={fatal.code ?? ''}>
      <div className="access-card">
        <svg className="access-icon" width="34" height="34" viewBox="0 0 34 34" aria-hidden="true">
          <rect x="7" y="15" width="20" height="14" rx="2.5" fill="none" stroke="currentColor" strokeWidth="1.8" />
          <path d="M11.5 15v-4a5.5 5.5 0 0 1 11 0v4" fill="none" stroke="currentColor" strokeWidth="1.8" />
          <circle cx="17" cy="22" r="1.8" fill="currentColor" />
        </svg>
        <div className="access-title" id="access-title" data-testid="access-title">
          {fatal.title}
        </div>
        <div className="access-msg" data-testid="access-message">
          {fatal.message}
        </div>
        <div className="access-hint">{fatal.hint}</div>
        <div className="access-actions">
          <button className="btn btn-ghost" onClick={() => window.location.reload()} title="Open this page again with the same link">
            Try again
          </button>
        </div>
      </div>
    </div>
  );
}
