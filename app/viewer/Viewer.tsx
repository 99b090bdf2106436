'use client';
// Client side: the viewer screen for one scene (/s/<sceneId>). Header (scene badges, Bake),
// selection toolbar, labels panel and who is in the room, canvas with HUD, others' cursors, tool
// overlay and toasts, timeline; keyboard shortcuts. All streaming logic lives in ViewerSession,
// the room's labels in AnnotationSession, presence in PresenceSession.
import Link from 'next/link';
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { can } from '../../server/auth/roles';
import { AuthSlot } from '../lib/AuthProvider';
import { useAuthConfig } from '../lib/auth-client';
import { pageRoom, pageToken, shareQuery } from '../lib/server-url';
import { AccessScreen } from './AccessScreen';
import type { AnnotationSnapshot } from './annotation';
import { Hud } from './Hud';
import { LabelsPanel } from './LabelsPanel';
import { LinksPanel } from './LinksPanel';
import { NamePrompt } from './NamePrompt';
import type { PresenceSnapshot } from './presence';
import { PresenceCursors, PresencePanel } from './PresencePanel';
import { BakeControl, NoFeaturesBadge } from './SceneBadges';
import { ExportButton, ExportDialog, useExports } from './ExportDialog';
import { ViewerSession, type ViewerSnapshot } from './session';
import { ShortcutsPanel } from './ShortcutsPanel';
import { Timeline } from './Timeline';
import { Toasts } from './Toasts';
import { Toolbar } from './Toolbar';
import { installTestActions } from './test-actions';

const noop = () => () => {};
const INITIAL: ViewerSnapshot | null = null;

function useSession(session: ViewerSession | null): ViewerSnapshot | null {
  return useSyncExternalStore(
    session ? session.subscribe : noop,
    () => (session ? session.getSnapshot() : INITIAL),
    () => INITIAL,
  );
}

function useAnnotation(session: ViewerSession | null): AnnotationSnapshot | null {
  return useSyncExternalStore(
    session ? session.annot.subscribe : noop,
    () => (session ? session.annot.getSnapshot() : null),
    () => null,
  );
}

function usePresence(session: ViewerSession | null): PresenceSnapshot | null {
  return useSyncExternalStore(
    session ? session.presence.subscribe : noop,
    () => (session ? session.presence.getSnapshot() : null),
    () => null,
  );
}

function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && target.type !== 'range' && target.type !== 'checkbox' && target.type !== 'button';
}

export function Viewer({ sceneId }: { sceneId: string }) {
  const [session, setSession] = useState<ViewerSession | null>(null);
  const [showShortcuts, setShowShortcuts] = useState(false);
  const [showExport, setShowExport] = useState(false);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const areaRef = useRef<HTMLDivElement>(null);
  const snap = useSession(session);
  const annotSnap = useAnnotation(session);
  const presenceSnap = usePresence(session);
  const exportSnap = useExports(session?.exports ?? null);
  const [token, setToken] = useState<string | undefined>(undefined);
  const [room, setRoom] = useState<string | undefined>(undefined);
  const [showLinks, setShowLinks] = useState(false);
  const authCfg = useAuthConfig();
  useEffect(() => {
    setToken(pageToken());
    setRoom(pageRoom());
  }, []);

  useEffect(() => {
    const s = new ViewerSession(sceneId);
    setSession(s);
    s.start();
    const uninstall = installTestActions(s);
    return () => {
      uninstall();
      s.dispose();
    };
  }, [sceneId]);

  useEffect(() => {
    if (!session || !canvasRef.current || !areaRef.current) return;
    return session.attach(canvasRef.current, areaRef.current, overlayRef.current);
  }, [session]);

  useEffect(() => {
    if (!session) return;
    const annot = session.annot;
    const onKey = (e: KeyboardEvent) => {
      if (isTextEntry(e.target)) return;
      // inside a dialog (Export): its own keys only; Escape still closes it
      if (e.target instanceof HTMLElement && e.target.closest('[role="dialog"]') && e.key !== 'Escape') return;
      // a viewer's role changes nothing: only camera, time, follow and help keys
      if (annot.getSnapshot().role === 'viewer' && /^(z|y|b|x|h|n|\[|\]|Delete|Backspace)$/i.test(e.key)) return;
      if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'z' || e.key === 'Z' || e.key === 'y' || e.key === 'Y')) {
        e.preventDefault();
        if (e.repeat) return;
        if (e.key.toLowerCase() === 'y' || e.shiftKey) annot.redo();
        else annot.undo();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      // a focused slider moves itself with the arrow keys
      if (e.target instanceof HTMLInputElement && e.target.type === 'range' && e.key.startsWith('Arrow')) return;
      switch (e.key) {
        case 'b':
        case 'B':
          annot.setTool('brush');
          break;
        case 'x':
        case 'X':
          annot.setTool('box');
          break;
        case '[':
        case ']':
          e.preventDefault();
          annot.nudgeTheta(e.key === '[' ? -1 : 1);
          break;
        case 'h':
        case 'H':
          if (!e.repeat) annot.toggleVisible();
          break;
        case 'n':
        case 'N':
          if (!e.repeat) void annot.createLabel();
          break;
        case 'f':
        case 'F':
          if (!e.repeat) session.presence.cycleFollow();
          break;
        case 'Delete':
        case 'Backspace':
          e.preventDefault();
          if (!e.repeat) annot.removeLastSelection();
          break;
        case ' ':
          // a focused button would also "click" on space: let it, unless it is the play button itself
          if (e.target instanceof HTMLButtonElement && e.target.dataset.testid !== 'play') return;
          e.preventDefault();
          if (e.repeat) return;
          session.togglePlay();
          break;
        case 'ArrowLeft':
        case 'ArrowRight':
          e.preventDefault();
          session.stepViewTime(e.key === 'ArrowLeft' ? -1 : 1);
          break;
        case 'Home':
          e.preventDefault();
          session.goHome();
          break;
        case '?':
          e.preventDefault();
          setShowShortcuts((v) => !v);
          break;
        case 'e':
        case 'E':
          if (!e.repeat && can(annot.getSnapshot().role, 'export:start')) setShowExport((v) => !v);
          break;
        case 'p':
        case 'P':
          if (!e.repeat) session.photo.toggle();
          break;
        case 'Escape':
          setShowShortcuts(false);
          setShowExport(false);
          if (!session.cancelDrag()) annot.setTool('click');
          break;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [session]);

  const scene = snap?.scene ?? null;
  const listHref = `/${shareQuery(token, room)}`;
  const isOwner = can(annotSnap?.role, 'link:create');
  const canExport = can(annotSnap?.role, 'export:start');
  const tool = annotSnap?.tool ?? 'click';
  const status = snap?.phase === 'error' ? 'error' : !snap || !snap.connected ? 'offline' : snap.phase === 'ready' ? 'live' : 'joining';

  return (
    <div className="viewer">
      <header className="topbar">
        <Link href={listHref} className="brand" title="All scenes">
          Splatsync
        </Link>
        <span className="sep">/</span>
        <span className="scene-name" data-testid="scene-name">
          {scene?.name ?? sceneId}
        </span>
        {scene && (
          <>
            <span className="chip" title="render backend">
              {scene.backend}
            </span>
            <span className="muted small">{scene.count.toLocaleString('en-US')} Gaussians</span>
            {scene.dynamic && <span className="chip chip-accent">dynamic</span>}
            {snap && session && <BakeControl scene={scene} bake={snap.bake} onBake={() => session.bake()} />}
            {scene.semanticNote && <NoFeaturesBadge note={scene.semanticNote} />}
          </>
        )}
        <span className="grow" />
        {snap?.connectProblem && <span className="muted small conn-problem">{snap.connectProblem}</span>}
        {canExport && session && <ExportButton snap={exportSnap} onOpen={() => setShowExport(true)} />}
        {isOwner && (
          <button
            className={`btn btn-ghost btn-sm share-btn ${showLinks ? 'on' : ''}`}
            data-testid="share-btn"
            aria-expanded={showLinks}
            title="Share links to this scene: create, copy, revoke"
            onClick={() => setShowLinks((v) => !v)}
          >
            Share
          </button>
        )}
        <span className={`status status-${status}`} title={`connection: ${status}`}>
          <span className="dot" />
          {status}
        </span>
        <button className="icon-btn" title="Keyboard shortcuts (?)" aria-label="keyboard shortcuts" onClick={() => setShowShortcuts((v) => !v)}>
          ?
        </button>
        <AuthSlot />
      </header>
      {isOwner && showLinks && session && (
        <LinksPanel
          links={session.links}
          clerk={authCfg?.mode === 'clerk'}
          roomId={session.annot.roomId}
          nameOf={(id) => (id === session.annot.user.id ? session.annot.user.name : session.presence.nameOf(id))}
          onClose={() => setShowLinks(false)}
        />
      )}
      {snap?.fatal?.blocking && <AccessScreen fatal={snap.fatal} />}

      {annotSnap && session ? <Toolbar snap={annotSnap} annot={session.annot} /> : <div className="toolbar" />}

      <div className="viewer-body">
      <div className="side-col">
        {annotSnap && session ? <LabelsPanel snap={annotSnap} annot={session.annot} /> : <aside className="labels-panel" />}
        {presenceSnap && session && annotSnap && <PresencePanel snap={presenceSnap} myName={annotSnap.user.name} myRole={annotSnap.role} onFollow={(sid) => session.follow(sid)} />}
      </div>
      <main className={`stage-area tool-${tool}`} ref={areaRef}>
        <canvas ref={canvasRef} className="viewer-canvas" data-testid="viewer-canvas" />
        <canvas ref={overlayRef} className="tool-overlay" aria-hidden="true" />
        {presenceSnap && <PresenceCursors snap={presenceSnap} />}
        {snap?.viewRect && scene && snap.viewIndex !== null && (
          <div className="view-rect" style={{ left: snap.viewRect.left, top: snap.viewRect.top, width: snap.viewRect.width, height: snap.viewRect.height }}>
            <span className="view-rect-label">
              {scene.views[snap.viewIndex]?.split} {scene.views[snap.viewIndex]?.index} · {scene.views[snap.viewIndex]?.camera.width}×{scene.views[snap.viewIndex]?.camera.height}
            </span>
          </div>
        )}
        {snap && snap.phase === 'ready' && <Hud hud={snap.hud} />}
        {snap && snap.phase !== 'ready' && snap.phase !== 'error' && (
          <div className="overlay-center">
            <div className="spinner" />
            <div className="muted">{snap.phase === 'connecting' ? 'Connecting to the server…' : 'Opening the scene…'}</div>
            {snap.connectProblem && <div className="muted small">{snap.connectProblem}</div>}
          </div>
        )}
        {snap?.fatal && !snap.fatal.blocking && (
          <div className="overlay-center error-screen" role="alert" data-testid="error-screen">
            <div className="error-title">{snap.fatal.title}</div>
            <div className="error-msg">{snap.fatal.message}</div>
            <div className="error-hint">{snap.fatal.hint}</div>
            <div className="error-actions">
              <button className="btn" onClick={() => window.location.reload()}>
                Reload
              </button>
              <Link className="btn btn-ghost" href={listHref}>
                Scene list
              </Link>
            </div>
          </div>
        )}
        {annotSnap && session && snap?.phase === 'ready' && <NamePrompt annot={session.annot} name={annotSnap.user.name} />}
        {snap && session && <Toasts toasts={snap.toasts} onDismiss={(id) => session.dismissToast(id)} />}
      </main>
      </div>

      {snap && session ? (
        <Timeline snap={snap} session={session} presence={presenceSnap} canSyncTime={annotSnap?.role !== 'viewer'} />
      ) : (
        <footer className="timeline" />
      )}
      {showShortcuts && <ShortcutsPanel onClose={() => setShowShortcuts(false)} />}
      {showExport && canExport && session && scene && annotSnap && <ExportDialog exports={session.exports} scene={scene} annot={annotSnap} onClose={() => setShowExport(false)} />}
    </div>
  );
}
