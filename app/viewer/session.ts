'use client';
// Client side: one viewer session. Owns the socket (join, view requests, frames, acks, errors),
// the playback clock and the HUD numbers, drives the three.js stage, and exposes an immutable
// snapshot for React (subscribe / getSnapshot, for useSyncExternalStore).
//
// Frame flow (server/protocol/events.ts): camera or time change -> `view:set` {seq, camera, t,
// moving} (at most one per animation frame, only when something changed) -> the server renders
// latest-wins -> `frame` {jpeg, seq, viewSeq, ...} -> decode, draw, then `frame:ack` {seq}
// (the server keeps at most one frame in flight per client until it is acked).
//
// Labels (annotation.ts): after `scene:join` the session joins the room; `op` broadcasts go to
// the AnnotationSession. Frames may carry a label map (`labels` RLE + `labelOrder`): it is
// decoded and drawn by the stage's overlay shader with a palette built from the room's labels,
// so recolouring or hiding a label redraws without asking the server.
//
// Presence (presence.ts): after the room join, this client's cursor (pointer over the frame, as
// a fraction of it), camera, t and playing go out as `presence:set` (throttled); others'
// entries come back as `presence` / `presence:leave`. Their cursors are drawn over the frame
// (Viewer.tsx) and their cameras as frustums in the stage. Following someone moves this
// camera (and t) to theirs until the user moves the camera. With "sync time" on, play, pause,
// seek and speed go out as `time:sync` and the room's `time` is adopted.
//
// Bake (dynamic scenes with a deformation network): `scene:bake` -> {jobId} -> `job:progress`
// ... -> `job:done`; on success the snapshot's scene says `baked`.
import { io, type Socket } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  SceneInfo,
  describeZodError,
  type Ack,
  type ClientToServer,
  type ErrorPayload,
  type FramePayload,
  type JobDone,
  type JobProgress,
  type JobStarted,
  type PresenceEntry,
  type ServerToClient,
  type StageTimings,
  type TimeSync,
  type ViewRequest,
} from '../../server/protocol';
import { AnnotationSession } from './annotation';
import type { UserIdentity } from './identity';
import { buildPalette, countOverlay, decodeFrameLabels, type LabelMask, type OverlayCounts } from './overlay';
import { PointerTools, type FrameView } from './pointer-tools';
import { cursorViews, PresenceSession } from './presence';
import { SERVER_URL, pageToken } from '../lib/server-url';
import { clerkHandshake } from '../lib/auth-client';
import { hintFor } from './error-hints';
import { LinksSession } from './links';
import { ExportSession } from './export-session';
import { PhotoSession } from './photo';
import { accessLoss } from './links-format';
import { ViewerStage, type ReferenceRect } from './stage';
import { FrameRateMeter, LatencyTracker } from './stats';

export type Phase = 'connecting' | 'joining' | 'ready' | 'error';

export interface FatalError {
  title: string;
  message: string;
  hint: string;
  code?: string;
  /** Access ended or was refused (revoked / expired link, sign-in needed): a full-page screen. */
  blocking?: boolean;
}

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  title: string;
  message: string;
  hint: string;
  count: number;
}

export interface HudStats {
  fps: number;
  latencyMs: number | null;
  timings: StageTimings | null;
  width: number;
  height: number;
  scale: number;
  backend: string;
  framesShown: number;
  /** False while the last frame shows interpolated deformation (an exact frame follows). */
  exact: boolean;
}

export type BakePhase = 'idle' | 'starting' | 'running' | 'done' | 'failed';

export interface BakeState {
  phase: BakePhase;
  /** 0..1 while running. */
  fraction: number;
  /** The server's last progress message, or the error. */
  message: string;
}

export interface ViewerSnapshot {
  phase: Phase;
  connected: boolean;
  /** Last connection problem while (re)connecting, shown beside the status. */
  connectProblem: string | null;
  fatal: FatalError | null;
  scene: SceneInfo | null;
  t: number;
  playing: boolean;
  /** Playback speed multiplier (1 = the whole [0, 1] time range in LOOP_SECONDS). */
  speed: number;
  /** Index into scene.views while the camera is exactly at that dataset view, else null. */
  viewIndex: number | null;
  /** The dataset view's image on the canvas (CSS px), while viewIndex is set. */
  viewRect: ReferenceRect | null;
  hud: HudStats;
  bake: BakeState;
  toasts: readonly Toast[];
}

/** What tests read (Playwright): updated on every displayed frame. */
export interface SplatsyncTestHook {
  framesShown: number;
  lastFrame: { seq: number; viewSeq: number; width: number; height: number; t: number } | null;
  /** The room's labels as this client folds them (optimistic edits included). */
  labels: { id: string; name: string; colour: string; visible: boolean; selections: number }[];
  /** Room version this client has seen. */
  version: number;
  /** Label texels (1..254) and preview texels (255) of the last displayed frame. */
  lastOverlay: OverlayCounts;
  /** This client's ops the server has not confirmed yet. */
  pending: number;
  /** This connection's presence id (after the room join). */
  sid: string | null;
  /** Everyone else in the room. */
  presence: { sid: string; userId: string; name: string; colour: string; role: string; camera: boolean; cursor: { x: number; y: number; world: boolean } | null; t: number; playing: boolean }[];
  /** The sid this viewer follows, or null. */
  followed: string | null;
  /** Sids with a frustum in the stage. */
  frustums: string[];
  /** Others' cursors drawn over the frame (CSS px in the stage area). */
  cursors: { sid: string; x: number; y: number }[];
  syncTime: boolean;
  /** This connection's role in the room (from room:join). */
  role: string | null;
}

declare global {
  interface Window {
    __splatsync?: SplatsyncTestHook;
  }
}

/** Seconds for t to run through [0, 1] at speed 1. */
export const LOOP_SECONDS = 8;
/** The camera counts as moving for this long after its last change (wheel, keys). */
const SETTLE_MS = 150;
const TOAST_MS = 8000;
const JOIN_TIMEOUT_MS = 15000;

type ClientSocket = Socket<ServerToClient, ClientToServer>;

export class ViewerSession {
  private state: ViewerSnapshot = {
    phase: 'connecting',
    connected: false,
    connectProblem: null,
    fatal: null,
    scene: null,
    t: 0,
    playing: false,
    speed: 1,
    viewIndex: null,
    viewRect: null,
    hud: { fps: 0, latencyMs: null, timings: null, width: 0, height: 0, scale: 1, backend: '', framesShown: 0, exact: true },
    bake: { phase: 'idle', fraction: 0, message: '' },
    toasts: [],
  };
  private readonly listeners = new Set<() => void>();

  private socket: ClientSocket | null = null;
  private stage: ViewerStage | null = null;
  private tools: PointerTools | null = null;
  /** Labels and selections of the room (its own store for React). */
  readonly annot: AnnotationSession;
  /** Others in the room, following, shared time (its own store for React). */
  readonly presence: PresenceSession;
  private readonly hook: SplatsyncTestHook = {
    framesShown: 0, lastFrame: null, labels: [], version: 0, lastOverlay: { labelPixels: 0, previewPixels: 0 },
    pending: 0, sid: null, presence: [], followed: null, frustums: [], cursors: [], syncTime: false, role: null,
  };
  /** Share links and access (owners; links.ts). */
  readonly links: LinksSession = new LinksSession(() => this.socket);
  /** Export jobs and evaluation of the room (export-session.ts). */
  readonly exports: ExportSession;
  /** Mask vs photo at dataset views (photo.ts). */
  readonly photo: PhotoSession;
  /** The last `forbidden` error: why the server is about to drop this connection, if it does. */
  private lastForbidden: string | null = null;
  private joined = false;
  private disposed = false;

  // view requests
  private seq = 0;
  private viewDirty = false;
  private lastSentKey = '';
  private lastSentMoving = false;
  private lastChangeAt = -Infinity;
  /** The camera of the last view request (what this client's presence says it looks through). */
  private lastSentCamera: ViewRequest['camera'] | null = null;
  /** The followed camera last jumped to (a cursor-only update of theirs moves nothing). */
  private followKey = '';
  private dragging = false;
  private scrubbing = false;

  // frames
  private decodeChain: Promise<void> = Promise.resolve();
  private framesShown = 0;
  private lastFrame: FramePayload | null = null;
  /** Requests sent, by seq, until a frame answering them is shown (for the frame's camera). */
  private readonly sentViews = new Map<number, FrameView>();
  /** Camera and time the frame on screen was requested with. */
  private shownView: FrameView | null = null;
  private lastMask: LabelMask | null = null;
  private readonly palette = new Uint8Array(256 * 4);
  private readonly fps = new FrameRateMeter();
  private readonly latency = new LatencyTracker();

  // loop
  private raf = 0;
  private lastLoopAt = 0;
  private lastHudAt = 0;
  private needsRender = false;
  private toastId = 0;
  // bake job
  private bakeJobId: string | null = null;
  private readonly earlyBakeEvents: (JobProgress | JobDone)[] = [];
  private readonly toastTimers = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(readonly sceneId: string) {
    this.annot = new AnnotationSession({
      socket: () => this.socket,
      toast: (title, message, hint, kind) => this.toast(title, message, hint, kind),
      paletteChanged: () => this.updatePalette(),
      identityChanged: (user) => this.reconnectAs(user),
      roomJoined: (snap) => {
        this.hook.role = snap.role;
        this.presence.onJoined(snap);
        this.exports.setRoom(snap.roomId);
        this.presence.update({ camera: this.lastSentCamera, t: this.state.t, playing: this.state.playing, cursor: null });
      },
      userName: (id) => this.presence.nameOf(id),
    });
    this.presence = new PresenceSession({
      socket: () => this.socket,
      changed: () => this.updatePresenceDrawing(),
      followTo: (e, start) => this.followTo(e, start),
      adoptTime: (t, playing, rate) => this.adoptTime(t, playing, rate),
      localTime: () => this.localTime(),
    });
    this.presence.subscribe(() => this.updatePresenceHook());
    this.exports = new ExportSession({ sceneId, socket: () => this.socket });
    this.photo = new PhotoSession({
      sceneId,
      viewIndex: () => this.state.viewIndex,
      subscribe: this.subscribe,
      showPhoto: (bitmap) => (this.stage ? this.stage.setPhoto(bitmap) : bitmap?.close()),
    });
  }

  // ---- React store -------------------------------------------------------------------------

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  readonly getSnapshot = (): ViewerSnapshot => this.state;

  private patch(p: Partial<ViewerSnapshot>): void {
    this.state = { ...this.state, ...p };
    for (const fn of this.listeners) fn();
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  start(): void {
    // a function: socket.io calls it at every (re)connect, so the name and the Clerk token are fresh
    const opts = { auth: (cb: (data: object) => void) => this.handshake(cb) };
    const socket: ClientSocket = SERVER_URL ? io(SERVER_URL, opts) : io(opts);
    this.socket = socket;
    socket.on('connect', this.onConnect);
    socket.on('disconnect', this.onDisconnect);
    socket.on('connect_error', this.onConnectError);
    socket.on('frame', this.onFrame);
    socket.on('error', this.onServerError);
    socket.on('job:progress', this.onJobProgress);
    socket.on('job:done', this.onJobDone);
    socket.on('job:progress', this.exports.onProgress);
    socket.on('job:done', this.exports.onDone);
    socket.on('op', this.annot.onOp);
    socket.on('presence', this.presence.onPresence);
    socket.on('presence:leave', this.presence.onLeave);
    socket.on('time', this.presence.onTime);
    this.raf = requestAnimationFrame(this.loop);
    window.__splatsync = this.hook;
  }

  /**
   * The handshake `auth`: protocol, the page's link token, the local identity and, in Clerk mode,
   * a fresh Clerk session token (waits for the sign-in; auth-client.ts).
   */
  private handshake(cb: (data: object) => void): void {
    const token = pageToken();
    const user = this.annot.user;
    const base = { protocol: PROTOCOL_VERSION, ...(token ? { token } : {}), user: { id: user.id, name: user.name } };
    void clerkHandshake().then(
      (extra) => !this.disposed && cb({ ...base, ...extra }),
      () => !this.disposed && cb(base),
    );
  }

  /** The display name changed: the handshake carries it, so reconnect (the room is re-joined). */
  private reconnectAs(_user: UserIdentity): void {
    const socket = this.socket;
    if (!socket || this.state.fatal?.blocking) return;
    socket.disconnect();
    socket.connect();
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.raf);
    for (const timer of this.toastTimers.values()) clearTimeout(timer);
    this.annot.dispose();
    this.exports.dispose();
    this.photo.dispose();
    this.presence.dispose();
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    this.stage?.dispose();
    this.stage = null;
    this.listeners.clear();
  }

  /** Bind the stage to the canvas; returns the detach function. */
  attach(canvas: HTMLCanvasElement, container: HTMLElement, overlay: HTMLCanvasElement | null = null): () => void {
    let stage: ViewerStage;
    try {
      stage = new ViewerStage(canvas, {
        onUserCamera: () => {
          if (this.presence.getSnapshot().followed) this.presence.follow(null); // moving myself ends following
          this.lastChangeAt = performance.now();
          this.viewDirty = true;
          this.needsRender = true;
          if (this.state.viewIndex !== null) this.patch({ viewIndex: null, viewRect: null });
        },
        onInteraction: (active) => {
          this.dragging = active;
          this.lastChangeAt = performance.now();
        },
      });
    } catch (err) {
      this.fail({
        title: 'WebGL is not available',
        message: err instanceof Error ? err.message : String(err),
        hint: 'Enable hardware acceleration in the browser settings, or try another browser.',
      });
      return () => {};
    }
    this.stage = stage;
    stage.setPalette(this.palette);
    const tools = new PointerTools(canvas, overlay, this.annot, {
      frameView: () => this.frameView(),
      setOrbit: (enabled) => {
        stage.controls.enabled = enabled;
      },
    });
    this.tools = tools;
    // my cursor for the others: where the pointer is on the frame, as a fraction of it
    const onPointer = (e: PointerEvent) => {
      const r = canvas.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0) return;
      const x = (e.clientX - r.left) / r.width;
      const y = (e.clientY - r.top) / r.height;
      this.presence.update({ cursor: x >= 0 && y >= 0 && x <= 1 && y <= 1 ? { x, y } : null });
    };
    const onPointerLeave = () => this.presence.update({ cursor: null });
    canvas.addEventListener('pointermove', onPointer);
    canvas.addEventListener('pointerleave', onPointerLeave);
    const resize = () => {
      const r = container.getBoundingClientRect();
      if (stage.resize(r.width, r.height, window.devicePixelRatio || 1)) {
        this.viewDirty = true;
        this.needsRender = true;
        if (this.state.viewIndex !== null) this.patch({ viewRect: stage.referenceRect() });
      }
      this.updatePresenceDrawing();
    };
    const observer = new ResizeObserver(resize);
    observer.observe(container);
    // devicePixelRatio changes (browser zoom, moving to another screen) do not resize the element
    window.addEventListener('resize', resize);
    resize();
    if (this.state.scene) this.applyHome(this.state.scene);
    return () => {
      observer.disconnect();
      window.removeEventListener('resize', resize);
      canvas.removeEventListener('pointermove', onPointer);
      canvas.removeEventListener('pointerleave', onPointerLeave);
      tools.dispose();
      if (this.tools === tools) this.tools = null;
      if (this.stage === stage) this.stage = null;
      stage.dispose();
    };
  }

  /** The request camera and time of the frame on screen (what a click or brush refers to). */
  frameView(): FrameView | null {
    return this.shownView;
  }

  /** Esc: drop a brush stroke or box in progress. */
  cancelDrag(): boolean {
    return this.tools?.cancelDrag() ?? false;
  }

  // ---- user actions ------------------------------------------------------------------------

  setTime(t: number): void {
    const clamped = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
    if (clamped === this.state.t && this.state.viewIndex === null) return;
    this.lastChangeAt = performance.now();
    this.viewDirty = true;
    this.patch({ t: clamped, viewIndex: null, viewRect: null });
    this.shareTime();
  }

  /** The time slider is being dragged (frames may be rendered at reduced resolution meanwhile). */
  setScrubbing(active: boolean): void {
    this.scrubbing = active;
    this.lastChangeAt = performance.now();
  }

  setPlaying(playing: boolean): void {
    if (!this.state.scene?.dynamic) playing = false;
    if (playing === this.state.playing) return;
    this.lastChangeAt = performance.now();
    this.patch({ playing, ...(playing ? { viewIndex: null, viewRect: null } : {}) });
    this.presence.update({ playing, t: this.state.t });
    this.shareTime();
  }

  togglePlay(): void {
    this.setPlaying(!this.state.playing);
  }

  setSpeed(speed: number): void {
    if (!(speed > 0 && Number.isFinite(speed)) || speed === this.state.speed) return;
    this.patch({ speed });
    this.shareTime();
  }

  /** "Sync time": share play, pause, seek and speed with the room (and follow its clock). */
  setSyncTime(on: boolean): void {
    this.presence.setSyncTime(on);
  }

  /** Follow this user's camera and time (null: stop). */
  follow(sid: string | null): void {
    this.presence.follow(sid);
  }

  /** Jump to the previous (-1) or next (+1) distinct dataset view time. */
  stepViewTime(direction: -1 | 1): void {
    const scene = this.state.scene;
    if (!scene?.dynamic) return;
    this.setPlaying(false);
    const times = [...new Set(scene.views.map((v) => v.time))].sort((a, b) => a - b);
    const t = this.state.t;
    const eps = 1e-6;
    let next: number | undefined;
    if (times.length === 0) next = t + direction * 0.01;
    else if (direction > 0) next = times.find((x) => x > t + eps) ?? times[times.length - 1];
    else next = [...times].reverse().find((x) => x < t - eps) ?? times[0];
    if (next !== undefined) this.setTime(next);
  }

  /** Put the camera exactly at dataset view `index`, at that view's own time. */
  jumpToView(index: number): void {
    const scene = this.state.scene;
    const view = scene?.views[index];
    if (!scene || !view) return;
    this.presence.follow(null);
    this.setPlaying(false);
    if (this.stage) {
      this.stage.jumpTo(view.camera, scene.home.target, scene.home.up);
    }
    this.lastChangeAt = -Infinity;
    this.viewDirty = true;
    this.needsRender = true;
    this.patch({ t: scene.dynamic ? Math.min(1, Math.max(0, view.time)) : this.state.t, viewIndex: index, viewRect: this.stage?.referenceRect() ?? null });
    this.shareTime();
  }

  goHome(): void {
    const scene = this.state.scene;
    if (!scene || !this.stage) return;
    this.presence.follow(null);
    this.applyHome(scene);
    this.patch({ viewIndex: null, viewRect: null });
  }

  /** Precompute the scene's deformation at every dataset time (server job, `scene:bake`). */
  bake(): void {
    const socket = this.socket;
    const scene = this.state.scene;
    if (!socket?.connected || !scene || scene.baked || this.state.bake.phase === 'starting' || this.state.bake.phase === 'running') return;
    this.bakeJobId = null;
    this.earlyBakeEvents.length = 0;
    this.patch({ bake: { phase: 'starting', fraction: 0, message: 'starting the bake…' } });
    socket.timeout(JOIN_TIMEOUT_MS).emit('scene:bake', { sceneId: scene.id }, (err: Error | null, res: Ack<JobStarted>) => {
      if (this.disposed || socket !== this.socket || this.state.bake.phase !== 'starting') return;
      if (err) return this.bakeFailed('Could not bake the scene', `No answer to scene:bake within ${JOIN_TIMEOUT_MS / 1000} s.`, hintFor(undefined));
      if (!res.ok) return this.bakeFailed('Could not bake the scene', res.message, hintFor(res.code));
      this.bakeJobId = res.data.jobId;
      this.patch({ bake: { ...this.state.bake, phase: 'running' } });
      // the job may have reported before its ack arrived
      const early = this.earlyBakeEvents.splice(0);
      for (const e of early) {
        if (e.jobId !== res.data.jobId) continue;
        if ('ok' in e) this.onJobDone(e);
        else this.onJobProgress(e);
      }
    });
  }

  dismissToast(id: number): void {
    clearTimeout(this.toastTimers.get(id));
    this.toastTimers.delete(id);
    this.patch({ toasts: this.state.toasts.filter((t) => t.id !== id) });
  }

  // ---- socket ------------------------------------------------------------------------------

  private readonly onConnect = () => {
    this.patch({ connected: true, connectProblem: null });
    this.join();
  };

  private readonly onDisconnect = (reason: string) => {
    this.joined = false;
    this.latency.reset();
    this.sentViews.clear();
    this.annot.onDisconnect();
    this.exports.onDisconnect();
    this.presence.onDisconnect();
    if ((this.state.bake.phase === 'starting' || this.state.bake.phase === 'running') && !this.disposed) {
      // the job reports to the socket that started it: the next connection hears nothing of it
      this.bakeFailed('Lost track of the bake', 'The connection dropped while baking; the server may still finish the bake.', 'Reload the page in a while: a baked scene shows no Bake button.');
    }
    if (this.disposed) return;
    if (reason === 'io server disconnect') {
      // the server dropped us on purpose (link revoked or expired, access removed): socket.io
      // does not reconnect after this, and neither do we; the same credentials would be refused
      this.patch({ connected: false, connectProblem: null });
      this.accessEnded(this.lastForbidden ?? 'The server closed this connection.');
      return;
    }
    this.patch({ connected: false, connectProblem: reason === 'io client disconnect' ? null : `disconnected (${reason}); reconnecting…` });
  };

  /** The full-page screen for access that ended or was refused. */
  private accessEnded(message: string, reason?: string, code = 'forbidden'): void {
    const text = message.replace(/^[a-z_]+: /, '');
    const { title, hint } = accessLoss(text, reason);
    this.socket?.disconnect(); // no reconnection attempts from here on
    this.fail({ title, message: text, hint, code, blocking: true });
  }

  private readonly onConnectError = (err: Error & { data?: { code?: string; message?: string; reason?: string } }) => {
    const socket = this.socket;
    if (!socket) return;
    // the server's handshake middleware says why in the message: "protocol_mismatch: ..."
    const code = err.data?.code ?? /^([a-z_]+):/.exec(err.message)?.[1];
    if (!socket.active && code === 'forbidden') {
      // the link or session is refused (revoked, expired, sign-in needed): say what to do
      this.accessEnded(err.data?.message ?? err.message, err.data?.reason);
      return;
    }
    if (!socket.active) {
      // the server refused the handshake (middleware error): socket.io will not retry
      this.fail({
        title: code === 'protocol_mismatch' ? 'Viewer and server versions differ' : code === 'forbidden' ? 'Access denied' : 'The server refused the connection',
        message: err.data?.message ?? err.message,
        hint: hintFor(code),
        ...(code ? { code } : {}),
      });
      return;
    }
    this.patch({ connectProblem: `cannot reach the server (${err.message}); retrying…` });
  };

  private join(): void {
    const socket = this.socket;
    if (!socket) return;
    if (!this.state.scene) this.patch({ phase: 'joining' });
    socket.timeout(JOIN_TIMEOUT_MS).emit('scene:join', { sceneId: this.sceneId }, (err: Error | null, res: Ack<SceneInfo>) => {
      if (this.disposed || socket !== this.socket) return;
      if (err) {
        if (this.state.scene) {
          this.toast('The server did not answer', 'Rejoining the scene timed out.', 'Reload the page; if it keeps happening, check that the server is running.');
        } else {
          this.fail({ title: 'The server did not answer', message: `No answer to joining scene "${this.sceneId}" within ${JOIN_TIMEOUT_MS / 1000} s.`, hint: 'Check that the Splatsync server is running, then reload the page.' });
        }
        return;
      }
      if (!res.ok) {
        const title = res.code === 'not_found' ? 'Scene not found' : res.code === 'forbidden' ? 'Access denied' : 'Could not open the scene';
        this.fail({ title, message: res.message, hint: hintFor(res.code), code: res.code });
        return;
      }
      const parsed = SceneInfo.safeParse(res.data);
      if (!parsed.success) {
        this.fail({ title: 'Unexpected scene description', message: describeZodError(parsed.error), hint: hintFor('protocol_mismatch') });
        return;
      }
      this.joined = true;
      const first = !this.state.scene;
      // a scene baked from this page stays baked even if the server's loaded copy predates the bake
      const scene = this.state.bake.phase === 'done' ? { ...parsed.data, baked: true } : parsed.data;
      this.patch({ phase: 'ready', scene, hud: { ...this.state.hud, backend: parsed.data.backend } });
      if (first) {
        if (typeof document !== 'undefined') document.title = `${parsed.data.name} · Splatsync`;
        if (this.stage) this.applyHome(parsed.data);
      }
      this.lastSentKey = ''; // (re)joined: the server has no view for us yet
      this.viewDirty = true;
      this.annot.setSemanticNote(parsed.data.featureDim > 0 ? null : parsed.data.semanticNote ?? 'this scene has no semantic features');
      this.annot.joinRoom();
    });
  }

  private applyHome(scene: SceneInfo): void {
    if (!this.stage) return;
    this.stage.setBackground(scene.background);
    this.stage.jumpTo(scene.home.camera, scene.home.target, scene.home.up);
    this.viewDirty = true;
    this.needsRender = true;
  }

  private readonly onServerError = (e: ErrorPayload) => {
    if (e.code === 'forbidden') {
      // kept: when the server drops the connection next, this is why (see onDisconnect)
      this.lastForbidden = e.message;
      if (!e.event) return; // a re-check of every socket (revocation, expiry): the disconnect follows at once
    }
    if (this.state.fatal?.blocking) return;
    if (e.code === 'not_joined' && this.socket?.connected) {
      this.joined = false;
      this.join();
      return;
    }
    const title = e.event ? `${e.event}: ${e.code.replace(/_/g, ' ')}` : e.code.replace(/_/g, ' ');
    this.toast(title, e.message, hintFor(e.code));
  };

  private readonly onJobProgress = (p: JobProgress) => {
    if (p.kind !== 'bake') return;
    if (this.bakeJobId === null) {
      if (this.state.bake.phase === 'starting') this.earlyBakeEvents.push(p);
      return;
    }
    if (p.jobId !== this.bakeJobId || this.state.bake.phase !== 'running') return;
    this.patch({ bake: { phase: 'running', fraction: Math.min(1, Math.max(0, p.fraction)), message: p.message } });
  };

  private readonly onJobDone = (d: JobDone) => {
    if (d.kind !== 'bake') return;
    if (this.bakeJobId === null) {
      if (this.state.bake.phase === 'starting') this.earlyBakeEvents.push(d);
      return;
    }
    if (d.jobId !== this.bakeJobId) return;
    this.bakeJobId = null;
    if (d.ok) {
      const scene = this.state.scene;
      this.patch({ bake: { phase: 'done', fraction: 1, message: d.message }, ...(scene ? { scene: { ...scene, baked: true } } : {}) });
    } else {
      this.bakeFailed('Bake failed', d.message, 'The scene is unchanged. Check the server log, then try again.');
    }
  };

  private bakeFailed(title: string, message: string, hint: string): void {
    this.bakeJobId = null;
    this.patch({ bake: { phase: 'failed', fraction: 0, message } });
    this.toast(title, message, hint);
  }

  private readonly onFrame = (f: FramePayload) => {
    const socket = this.socket;
    this.decodeChain = this.decodeChain.then(async () => {
      if (this.disposed) return;
      let bitmap: ImageBitmap | null = null;
      try {
        bitmap = await createImageBitmap(new Blob([f.jpeg as BlobPart], { type: 'image/jpeg' }), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      } catch (err) {
        this.toast('A frame could not be decoded', err instanceof Error ? err.message : String(err), 'Frames resume with the next view; reload the page if the picture stays frozen.');
      }
      if (this.disposed) {
        bitmap?.close();
        return;
      }
      let mask: LabelMask | null = null;
      try {
        mask = decodeFrameLabels(f);
      } catch (err) {
        this.toast('The label overlay of a frame was unreadable', err instanceof Error ? err.message : String(err), 'The next frame brings it back; reload the page if labels stay missing.');
      }
      if (bitmap) {
        this.lastMask = mask;
        this.updatePalette(false);
        const view = this.sentViews.get(f.viewSeq);
        if (view) this.stage?.setFrameCamera(view.camera); // 3D content drawn as this frame was
        if (this.stage) this.stage.showFrame(bitmap, mask);
        else bitmap.close();
        this.displayed(f, mask);
      }
      // ack even a frame that could not be shown: the server waits for it before sending the next
      if (socket?.connected) socket.emit('frame:ack', { seq: f.seq });
    });
  };

  private displayed(f: FramePayload, mask: LabelMask | null): void {
    const now = performance.now();
    this.framesShown++;
    this.lastFrame = f;
    const view = this.sentViews.get(f.viewSeq);
    if (view) this.shownView = view;
    for (const seq of this.sentViews.keys()) if (seq < f.viewSeq) this.sentViews.delete(seq);
    this.fps.tick(now);
    this.latency.displayed(f.viewSeq, now);
    this.hook.framesShown = this.framesShown;
    this.hook.lastFrame = { seq: f.seq, viewSeq: f.viewSeq, width: f.width, height: f.height, t: f.t };
    this.hook.lastOverlay = countOverlay(mask);
    this.needsRender = false; // showFrame just drew
    this.updatePresenceDrawing();
    this.updateHud(now);
  }

  private updateHud(now: number): void {
    this.lastHudAt = now;
    const f = this.lastFrame;
    this.patch({
      hud: {
        fps: this.fps.fps(now),
        latencyMs: this.latency.median(),
        timings: f?.timings ?? null,
        width: f?.width ?? 0,
        height: f?.height ?? 0,
        scale: f?.scale ?? 1,
        backend: f?.backend ?? this.state.scene?.backend ?? '',
        framesShown: this.framesShown,
        exact: f?.exact ?? true,
      },
    });
  }

  // ---- per animation frame -----------------------------------------------------------------

  private readonly loop = (now: number) => {
    if (this.disposed) return;
    this.raf = requestAnimationFrame(this.loop);
    const dt = this.lastLoopAt ? Math.min(now - this.lastLoopAt, 100) : 0;
    this.lastLoopAt = now;
    if (this.state.playing) {
      let t = this.state.t + (dt / 1000 / LOOP_SECONDS) * this.state.speed;
      if (t > 1) t -= Math.floor(t);
      this.viewDirty = true;
      this.patch({ t });
      this.presence.update({ t });
    }
    this.sendView(now);
    if (this.needsRender && this.stage) {
      this.stage.render();
      this.needsRender = false;
    }
    if (now - this.lastHudAt > 500) this.updateHud(now); // let the FPS decay to 0 when frames stop
  };

  private sendView(now: number): void {
    const socket = this.socket;
    const stage = this.stage;
    if (!socket?.connected || !this.joined || !stage || !this.state.scene) return;
    const moving = this.dragging || this.scrubbing || this.state.playing || now - this.lastChangeAt < SETTLE_MS;
    if (!this.viewDirty && !(this.lastSentMoving && !moving)) return;
    this.viewDirty = false;
    const camera = stage.cameraJSON();
    const key = JSON.stringify([camera, this.state.t, moving]);
    if (key === this.lastSentKey) return;
    this.lastSentKey = key;
    this.lastSentMoving = moving;
    const req: ViewRequest = { seq: ++this.seq, camera, t: this.state.t, moving };
    socket.emit('view:set', req);
    this.lastSentCamera = camera;
    this.presence.update({ camera, t: req.t, playing: this.state.playing });
    this.sentViews.set(req.seq, { camera, t: req.t });
    if (this.sentViews.size > 256) this.sentViews.delete(this.sentViews.keys().next().value!);
    this.latency.sent(req.seq, now);
  }

  // ---- presence ----------------------------------------------------------------------------

  /** Follow: this camera (and t) to the followed user's (called on each of their updates). */
  private followTo(e: PresenceEntry, start: boolean): void {
    const scene = this.state.scene;
    const stage = this.stage;
    if (!scene || !stage) return;
    if (start) this.followKey = '';
    const key = JSON.stringify([e.sid, e.camera]);
    if (e.camera && key !== this.followKey) {
      this.followKey = key;
      stage.jumpTo(e.camera, scene.home.target, scene.home.up);
      this.lastChangeAt = performance.now(); // frames follow at the moving resolution, then settle
      this.viewDirty = true;
      this.needsRender = true;
    }
    const t = scene.dynamic ? Math.min(1, Math.max(0, e.t)) : this.state.t;
    if (t !== this.state.t || this.state.playing || this.state.viewIndex !== null) {
      this.viewDirty = true;
      this.patch({ t, playing: false, viewIndex: null, viewRect: null });
    }
    this.updatePresenceDrawing();
  }

  private localTime(): TimeSync {
    return { t: this.state.t, playing: this.state.playing, rate: this.state.speed / LOOP_SECONDS };
  }

  /** My play / pause / seek / speed: to the room when sync time is on. */
  private shareTime(): void {
    this.presence.sendTime(this.localTime());
  }

  /** The room's clock (sync time on): adopt it without sending it back. */
  private adoptTime(t: number, playing: boolean, rate: number): void {
    const dynamic = this.state.scene?.dynamic ?? false;
    const p: Partial<ViewerSnapshot> = { playing: dynamic && playing, viewIndex: null, viewRect: null };
    if (dynamic) p.t = Math.min(1, Math.max(0, t));
    if (rate > 0) p.speed = rate * LOOP_SECONDS;
    this.lastChangeAt = performance.now();
    this.viewDirty = true;
    this.patch(p);
  }

  /** Frustums for everyone else with a camera (not the one I follow: that is my own view), and cursors. */
  private updatePresenceDrawing(): void {
    const stage = this.stage;
    const scene = this.state.scene;
    if (stage && scene) {
      const followed = this.presence.getSnapshot().followed;
      const depth = frustumDepth(scene);
      // not whom I follow, nor anyone looking from where I look (someone following me): their
      // frustum would only outline my own view
      const mine = this.shownView?.camera ?? null;
      const specs = this.presence.entries
        .filter((e) => e.camera && e.sid !== followed && !(mine && distance(cameraCentre(e.camera), cameraCentre(mine)) < depth * 0.05))
        .map((e) => ({ sid: e.sid, colour: e.colour, camera: e.camera! }));
      if (stage.setFrustums(specs, depth)) this.needsRender = true;
      this.hook.frustums = stage.frustumSids();
    }
    this.updateCursors();
  }

  private updateCursors(): void {
    const stage = this.stage;
    if (!stage) return;
    const p = this.presence.getSnapshot();
    const canvas = stage.canvas;
    const camera = this.shownView?.camera ?? null;
    const cursors = cursorViews(p.entries, camera, canvas.clientWidth, canvas.clientHeight, p.followed, p.followed ? stage.referenceRect() : null);
    this.presence.setCursors(cursors);
  }

  private updatePresenceHook(): void {
    const p = this.presence.getSnapshot();
    this.hook.sid = p.sid;
    this.hook.followed = p.followed;
    this.hook.syncTime = p.syncTime;
    this.hook.presence = p.entries.map((e) => ({
      sid: e.sid, userId: e.userId, name: e.name, colour: e.colour, role: e.role, camera: e.camera !== null, t: e.t, playing: e.playing,
      cursor: e.cursor ? { x: e.cursor.x, y: e.cursor.y, world: e.cursor.world !== null } : null,
    }));
    this.hook.cursors = p.cursors.map((c) => ({ sid: c.sid, x: c.x, y: c.y }));
  }

  // ---- errors ------------------------------------------------------------------------------

  private fail(fatal: FatalError): void {
    this.patch({ phase: 'error', fatal, playing: false });
  }

  /** Rebuild the overlay palette from the room's labels and the shown frame's label order. */
  private updatePalette(redraw = true): void {
    const a = this.annot.getSnapshot();
    buildPalette(this.lastMask?.order ?? [], this.annot.paletteLabels(), a.isolated, this.palette);
    this.hook.labels = this.annot.testLabels();
    this.hook.version = a.version;
    this.hook.pending = a.pending;
    this.stage?.setPalette(this.palette, redraw);
  }

  private toast(title: string, message: string, hint: string, kind: 'error' | 'info' = 'error'): void {
    const same = this.state.toasts.find((t) => t.title === title && t.message === message);
    const id = same?.id ?? ++this.toastId;
    clearTimeout(this.toastTimers.get(id));
    this.toastTimers.set(id, setTimeout(() => this.dismissToast(id), TOAST_MS));
    if (same) {
      this.patch({ toasts: this.state.toasts.map((t) => (t.id === id ? { ...t, count: t.count + 1 } : t)) });
    } else {
      this.patch({ toasts: [...this.state.toasts.slice(-3), { id, kind, title, message, hint, count: 1 }] });
    }
  }
}

/** World position of an OpenCV camera: -R^T t. */
function cameraCentre(cam: { worldToCamera: readonly number[] }): [number, number, number] {
  const m = cam.worldToCamera;
  return [0, 1, 2].map((i) => -(m[i]! * m[3]! + m[4 + i]! * m[7]! + m[8 + i]! * m[11]!)) as [number, number, number];
}

const distance = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

/** How deep others' frustums are drawn: a tenth of the home camera's distance to its target. */
function frustumDepth(scene: SceneInfo): number {
  const d = distance(cameraCentre(scene.home.camera), scene.home.target);
  return Number.isFinite(d) && d > 0 ? d * 0.1 : 0.1;
}
