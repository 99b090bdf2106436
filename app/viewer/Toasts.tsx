'use client';
// Client side: toasts: errors (server `error` events, refused edits, client-side failures), each
// saying what to do, and notes (e.g. what an undo did).
import type { Toast } from './session';

export function Toasts({ toasts, onDismiss }: { toasts: readonly Toast[]; onDismiss: (id: number) => void }) {
  if (toasts.length === 0) return null;
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div className={`toast toast-${t.kind}`} key={t.id} data-testid={t.kind === 'info' ? 'toast-info' : 'toast'}>
          <div className="toast-head">
            <span className="toast-title">
              {t.title}
              {t.count > 1 && <span className="toast-count"> ×{t.count}</span>}
            </span>
            <button className="icon-btn" aria-label="dismiss" onClick={() => onDismiss(t.id)}>
              ×
            </button>
          </div>
          <div className="toast-msg">{t.message}</div>
          <div className="toast-hint">{t.hint}</div>
        </div>
      ))}
    </div>
  );
}
