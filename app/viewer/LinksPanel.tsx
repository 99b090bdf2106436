'use client';
// Client side: "Share" for owners (issue 7). A drawer over the right of the viewer: create a link
// (role, expiry, label, this room or every room), its full URL with a Copy button; the links of
// this room and scene with who made them, when, their expiry and status, each with Copy and
// Revoke (two steps: revoking drops everyone using it at once); and, in Clerk mode, who has
// access (people who signed in with a link) with Remove. Non-owners never see any of it (the
// server refuses their link:* / access:* anyway). State and socket calls: links.ts.
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { LINK_EXPIRY_CHOICES, ROLES } from '../../server/auth/roles';
import type { LinkInfo, LinkRole } from '../../server/protocol';
import type { LinksSession } from './links';
import './access.css';
import { agoText, creatorText, DEFAULT_LINK_FORM, expiryText, ROLE_TEXT, scopeText, shareUrl, tokenLinkId, type LinkForm } from './links-format';

function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

type CopyState = 'idle' | 'copied' | 'select';

/** Copies `text`; without clipboard access, selects it in `input` for Ctrl+C instead. */
async function copyText(text: string, input: HTMLInputElement | null): Promise<CopyState> {
  try {
    if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
    return 'copied';
  } catch {
    // insecure origin (http on another host) or clipboard permission refused
    input?.focus();
    input?.select();
    return 'select';
  }
}

function CopyField({ url, testid }: { url: string; testid: string }) {
  const ref = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<CopyState>('idle');
  useEffect(() => setState('idle'), [url]);
  return (
    <div className="link-copy">
      <input ref={ref} className="input mono link-url" data-testid={`${testid}-url`} readOnly value={url} aria-label="share link" onFocus={(e) => e.currentTarget.select()} />
      <button className="btn btn-sm" data-testid={`${testid}-copy`} onClick={() => void copyText(url, ref.current).then(setState)}>
        {state === 'copied' ? 'Copied' : 'Copy'}
      </button>
      {state === 'select' && (
        <div className="muted small link-copy-hint" data-testid={`${testid}-copy-hint`}>
          The browser does not allow copying here: the link is selected, press Ctrl+C (⌘C).
        </div>
      )}
    </div>
  );
}

function RoleChip({ role }: { role: LinkRole }) {
  return <span className={`chip role-chip role-${role}`}>{role}</span>;
}

function LinkRow({ link, now, mine, busy, by, onRevoke }: { link: LinkInfo; now: number; mine: boolean; busy: boolean; by: string; onRevoke: () => void }) {
  const [confirm, setConfirm] = useState(false);
  const [showUrl, setShowUrl] = useState(false);
  const active = link.status === 'active';
  const url = link.path ? shareUrl(window.location.origin, link.path) : null;
  return (
    <li className={`link-row link-${link.status}`} data-testid="link-row" data-link-id={link.linkId} data-status={link.status} data-role={link.role}>
      <div className="link-row-head">
        <RoleChip role={link.role} />
        <span className="link-label" title={link.label || 'no label'}>
          {link.label || <span className="muted">no label</span>}
        </span>
        {mine && (
          <span className="chip chip-accent" title="The link this page was opened with">
            your link
          </span>
        )}
        <span className="grow" />
        <span className={`chip link-status link-status-${link.status}`} data-testid="link-status">
          {link.status}
        </span>
      </div>
      <div className="muted small link-meta">
        {scopeText(link)} · by {by} {agoText(link.createdAt, now)} · {link.revokedAt !== null ? `revoked ${agoText(link.revokedAt, now)}` : expiryText(link.expiresAt, now)}
      </div>
      {active && !confirm && (
        <div className="link-actions">
          {url && (
            <button className="btn btn-ghost btn-sm" data-testid="link-show" aria-expanded={showUrl} onClick={() => setShowUrl((v) => !v)}>
              {showUrl ? 'Hide link' : 'Show link'}
            </button>
          )}
          <button className="btn btn-ghost btn-sm btn-warn" data-testid="link-revoke" disabled={busy} onClick={() => setConfirm(true)}>
            {busy ? 'Revoking…' : 'Revoke'}
          </button>
        </div>
      )}
      {active && showUrl && url && !confirm && <CopyField url={url} testid="link-row" />}
      {active && confirm && (
        <div className="link-confirm" role="alertdialog" aria-label="revoke this link">
          <span className="small">
            {mine ? 'This is the link you are using: you will lose access too. ' : ''}Everyone using it loses access now.
          </span>
          <button
            className="btn btn-sm btn-danger"
            data-testid="link-revoke-confirm"
            onClick={() => {
              setConfirm(false);
              onRevoke();
            }}
          >
            Revoke
          </button>
          <button className="btn btn-ghost btn-sm" data-testid="link-revoke-cancel" onClick={() => setConfirm(false)}>
            Cancel
          </button>
        </div>
      )}
    </li>
  );
}

function CreateForm({ links, clerk, roomId, creating }: { links: LinksSession; clerk: boolean; roomId: string; creating: boolean }) {
  const [form, setForm] = useState<LinkForm>(DEFAULT_LINK_FORM);
  const set = <K extends keyof LinkForm>(k: K, v: LinkForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <form
      className="link-form"
      data-testid="link-form"
      onSubmit={(e) => {
        e.preventDefault();
        void links.create(form, clerk).then((l) => l && setForm((f) => ({ ...f, label: '' })));
      }}
    >
      <div className="link-form-row">
        <label className="field">
          <span className="muted small">role</span>
          <select className="select" data-testid="link-role" value={form.role} onChange={(e) => set('role', e.currentTarget.value as LinkRole)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="muted small">expires</span>
          <select className="select" data-testid="link-expiry" value={form.expiry} onChange={(e) => set('expiry', e.currentTarget.value)}>
            {LINK_EXPIRY_CHOICES.map((c) => (
              <option key={c.id} value={c.id}>
                {c.ms === null ? 'never' : `in ${c.label}`}
              </option>
            ))}
          </select>
        </label>
        <label className="field grow">
          <span className="muted small">label (optional)</span>
          <input className="input" data-testid="link-label" maxLength={80} placeholder="e.g. for Dana" value={form.label} onChange={(e) => set('label', e.currentTarget.value)} />
        </label>
      </div>
      <div className="muted small link-role-text">
        {form.role}: {ROLE_TEXT[form.role]}
      </div>
      <div className="link-form-row">
        <div className="seg-group" role="radiogroup" aria-label="what the link opens">
          <button type="button" role="radio" className={`seg ${!form.allRooms ? 'seg-on' : ''}`} aria-checked={!form.allRooms} data-testid="link-scope-room" onClick={() => set('allRooms', false)}>
            room {roomId}
          </button>
          <button type="button" role="radio" className={`seg ${form.allRooms ? 'seg-on' : ''}`} aria-checked={form.allRooms} data-testid="link-scope-all" onClick={() => set('allRooms', true)}>
            every room
          </button>
        </div>
        <span className="grow" />
        <button type="submit" className="btn" data-testid="link-create" disabled={creating}>
          {creating ? 'Creating…' : 'Create link'}
        </button>
      </div>
    </form>
  );
}

export function LinksPanel({
  links,
  clerk,
  roomId,
  nameOf,
  onClose,
}: {
  links: LinksSession;
  clerk: boolean;
  roomId: string;
  /** A user's display name, when known (this page's user, people in the room). */
  nameOf: (userId: string) => string | undefined;
  onClose: () => void;
}) {
  const snap = useSyncExternalStore(links.subscribe, links.getSnapshot, links.getSnapshot);
  const now = useNow(30_000);
  const [myLink, setMyLink] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  useEffect(() => {
    setMyLink(tokenLinkId(new URLSearchParams(window.location.search).get('token')));
    links.clearError();
    void links.refresh(clerk);
  }, [links, clerk]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  const created = snap.created;
  return (
    <aside className="links-panel" data-testid="links-panel" aria-label="share links">
      <div className="links-head">
        <span className="panel-title">Share</span>
        <span className="muted small">links to this scene</span>
        <span className="grow" />
        <button className="icon-btn" aria-label="close" title="Close (Esc)" onClick={onClose}>
          ×
        </button>
      </div>

      <CreateForm links={links} clerk={clerk} roomId={roomId} creating={snap.creating} />

      {created && created.path && (
        <div className="link-created" data-testid="link-created">
          <div className="link-created-head">
            <span className="small">
              New <RoleChip role={created.role} /> link {created.label ? `“${created.label}”` : ''} · {expiryText(created.expiresAt, now)}
            </span>
            <span className="grow" />
            <button className="icon-btn icon-btn-sm" aria-label="dismiss" onClick={() => links.dismissCreated()}>
              ×
            </button>
          </div>
          <CopyField url={shareUrl(window.location.origin, created.path)} testid="link" />
          <div className="muted small">Anyone with this link has its role until it expires or you revoke it.{clerk ? ' They must sign in to use it.' : ''}</div>
        </div>
      )}

      {snap.error && (
        <div className="links-error" role="alert" data-testid="links-error">
          <span>{snap.error}</span>
          <button className="icon-btn icon-btn-sm" aria-label="dismiss" onClick={() => links.clearError()}>
            ×
          </button>
        </div>
      )}

      <div className="links-section-head">
        <span className="panel-title">Links</span>
        {snap.loading && <span className="spinner spinner-sm" />}
        <span className="grow" />
        <label className="muted small links-inactive">
          <input type="checkbox" data-testid="links-show-inactive" checked={snap.showInactive} onChange={(e) => links.setShowInactive(e.currentTarget.checked, clerk)} />
          revoked and expired
        </label>
      </div>
      <ul className="links-list" data-testid="links-list">
        {snap.links.map((l) => (
          <LinkRow key={l.linkId} link={l} now={now} mine={l.linkId === myLink} busy={snap.revoking.includes(l.linkId)} by={creatorText(l.createdBy, nameOf)} onRevoke={() => void links.revoke(l.linkId, clerk)} />
        ))}
      </ul>
      {!snap.loading && snap.links.length === 0 && <div className="muted small links-empty">No links yet.</div>}

      {clerk && (
        <>
          <div className="links-section-head">
            <span className="panel-title">Who has access</span>
          </div>
          {snap.access && snap.access.length === 0 && <div className="muted small links-empty">Nobody has signed in with a link yet.</div>}
          <ul className="links-list" data-testid="access-list">
            {(snap.access ?? []).map((a) => (
              <li key={`${a.userId}:${a.linkId}`} className="link-row" data-testid="access-row" data-user-id={a.userId}>
                <div className="link-row-head">
                  <RoleChip role={a.role} />
                  <span className="link-label">{a.name}</span>
                  <span className="grow" />
                  {removing === a.userId ? (
                    <>
                      <button
                        className="btn btn-sm btn-danger"
                        data-testid="access-revoke-confirm"
                        onClick={() => {
                          setRemoving(null);
                          void links.revokeAccess(a.userId);
                        }}
                      >
                        Remove
                      </button>
                      <button className="btn btn-ghost btn-sm" onClick={() => setRemoving(null)}>
                        Cancel
                      </button>
                    </>
                  ) : (
                    <button className="btn btn-ghost btn-sm btn-warn" data-testid="access-revoke" onClick={() => setRemoving(a.userId)}>
                      Remove
                    </button>
                  )}
                </div>
                <div className="muted small link-meta">
                  signed in {agoText(a.grantedAt, now)} · link {snap.links.find((l) => l.linkId === a.linkId)?.label || a.linkId}
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
    </aside>
  );
}
