'use client';
// Client side: labels and selections of the room this viewer annotates (DESIGN.md §1, §5).
// No DOM: the ViewerSession hands it the socket and shows its toasts; React components read
// its snapshot (subscribe / getSnapshot) and call its actions.
//
// Room flow (server/protocol/events.ts): after `scene:join`, `room:join` {room} (the share
// link's `?room=`, else "main"; on a reconnect {room, since: last version}) -> the op log (or,
// after a compaction, a snapshot and the ops after it); every `op` broadcast is appended in
// version order (duplicates dropped; a gap re-joins with `since`) and the log is folded with the
// server's own `foldOps` (room-log.ts).
// Changes are optimistic: each becomes a pending op {opId, body}, shown at once over the
// confirmed state and sent as `op:submit`; the server answers {ok, data: {version, note}} or
// {ok: false, code, message} (the op is dropped and a toast says why). Ops made while
// disconnected wait; after a re-join the ops not acknowledged yet are sent again, in order,
// with the same opIds (the server acknowledges an op it already committed again).
// Undo / redo (Ctrl+Z, Ctrl+Shift+Z / Ctrl+Y) are ops too, and only ever take back this user's
// own edits: the server resolves their target by author, and so does the tentative fold.
//
// Selections: a click on the frame -> sel.add {kind: 'click', query: {camera, t, x, y, patch}}
// with the frame's own camera; plain = replace (then sel.remove of the label's earlier
// selections), shift = add, alt = subtract. Text -> kind 'text'; brush / box -> kind 'region' (row spans).
// θ applies to the active selection (sel.update, throttled while dragging); `sel:histogram`
// gives the distribution of its scores for the slider's backdrop. Hovering asks `sel:preview`,
// which the server draws as label index 255 in this client's frames.
import type { Socket } from 'socket.io-client';
import {
  DEFAULT_PATCH,
  DEFAULT_THETA,
  type Ack,
  type Camera,
  type ClientToServer,
  type HistogramResult,
  type LabelEdit,
  type Op,
  type OpBody,
  type PreviewResult,
  type RoomSnapshot,
  type Selection,
  type ServerToClient,
} from '../../server/protocol';
import type { LabelState } from '../../server/rooms/state';
import { pageRoom } from '../lib/server-url';
import { selectionHint } from './error-hints';
import { cleanName, loadIdentity, newId, saveIdentity, type UserIdentity } from './identity';
import { nextLabelColour, nextLabelName, type PaletteLabel } from './overlay';
import { Throttle, type Span } from './region';
import { RoomLog } from './room-log';

type ClientSocket = Socket<ServerToClient, ClientToServer>;

export type Tool = 'click' | 'brush' | 'box';
export type SelectionKind = Selection['kind'];

export interface SelectionRow {
  id: string;
  kind: SelectionKind;
  mode: 'add' | 'subtract';
  theta: number;
  /** Display name of whoever added it. */
  author: string;
  /** Added by this client and not confirmed by the server yet. */
  pending: boolean;
  /** Short description of the query (pixel, prompt, region size). */
  detail: string;
}

export interface LabelRow {
  id: string;
  name: string;
  colour: string;
  visible: boolean;
  combine: 'union' | 'mean';
  /** Display name of whoever created it. */
  createdBy: string;
  /** Created by this client and not confirmed by the server yet. */
  pending: boolean;
  selections: SelectionRow[];
  /** Appearance edits (tint, hidden, opacity) the server renders for everyone (appearance.ts). */
  edit: LabelEdit;
}

export interface HistogramState {
  labelId: string;
  selId: string;
  bins: number[];
  /** Gaussians at or above the selection's θ (as the server last computed it). */
  count: number;
  theta: number;
}

export interface PreviewState {
  /** Gaussians the hovered click would select, when known. */
  count: number | null;
  /** Why there is no preview (hover on background, no features), when there is none. */
  message: string | null;
}

export interface AnnotationSnapshot {
  user: UserIdentity;
  /** Joined the room (ops flow). */
  joined: boolean;
  /** Edits can be made: the room was joined once (edits made while reconnecting wait) and the role allows it. */
  canEdit: boolean;
  /** What this connection may do in the room (from the join; null before it). */
  role: RoomSnapshot['role'] | null;
  version: number;
  labels: readonly LabelRow[];
  activeLabelId: string | null;
  /** The selection θ applies to: the active label's chosen (else last) click or text selection. */
  activeSelId: string | null;
  theta: number;
  tool: Tool;
  /** Client-only: the one label shown, or null. */
  isolated: string | null;
  histogram: HistogramState | null;
  preview: PreviewState;
  /** This client's ops the server has not confirmed yet (shown already; sent when connected). */
  pending: number;
  /** Why click and text selection are unavailable in this scene, if they are. */
  semanticNote: string | null;
}

export interface Modifiers {
  shift: boolean;
  alt: boolean;
}

export interface AnnotationHost {
  socket(): ClientSocket | null;
  toast(title: string, message: string, hint: string, kind?: 'error' | 'info'): void;
  /** Label colours / visibility (or the label list) changed: rebuild the overlay palette. */
  paletteChanged(): void;
  /** The identity changed: reconnect with the new handshake. */
  identityChanged(user: UserIdentity): void;
  /** The room was (re-)joined: presence starts from its answer. */
  roomJoined?(snap: RoomSnapshot): void;
  /** A user's display name when no op of theirs is held (e.g. from presence). */
  userName?(userId: string): string | undefined;
}

const ACK_TIMEOUT_MS = 20000;
const THETA_HZ = 10;
const PREVIEW_INTERVAL_MS = 250;
const HISTOGRAM_DELAY_MS = 120;
export const THETA_STEP = 0.02;
export const ROOM_ID = 'main';

const clampTheta = (v: number) => Math.round(Math.min(1, Math.max(-1, v)) * 100) / 100;

export class AnnotationSession {
  /** The room this viewer joins: its share link's `?room=`, else "main". */
  readonly roomId: string = pageRoom() ?? ROOM_ID;
  private readonly log = new RoomLog();
  private state: AnnotationSnapshot;
  private readonly listeners = new Set<() => void>();
  private joining = false;
  private disposed = false;
  /** Bumped on every disconnect: acks of an earlier connection are stale. */
  private connection = 0;
  /** Callers waiting for their op's fate (confirmed: ack data; refused or given up: null). */
  private readonly waiters = new Map<string, (res: { version: number; note?: string } | null) => void>();
  private readonly failTitles = new Map<string, string>();

  /** Colour being picked (the picker is open): drawn, not sent until the picker closes. */
  private readonly liveColour = new Map<string, string>();
  /** The user chose this selection for θ (else the active label's last click/text one). */
  private chosenSelId: string | null = null;
  private thetaDragging = false;
  private thetaInFlight = 0;
  private readonly thetaThrottle = new Throttle<[string, string, number]>(1000 / THETA_HZ, (labelId, selId, theta) => this.sendTheta(labelId, selId, theta));
  private histogramTimer: ReturnType<typeof setTimeout> | null = null;
  private histogramSeq = 0;
  private readonly previewThrottle = new Throttle<[PreviewQuery]>(PREVIEW_INTERVAL_MS, (q) => this.sendPreview(q));
  private previewActive = false;
  private previewSeq = 0;

  constructor(private readonly host: AnnotationHost) {
    this.state = {
      user: loadIdentity(),
      joined: false,
      canEdit: false,
      role: null,
      version: 0,
      labels: [],
      activeLabelId: null,
      activeSelId: null,
      theta: DEFAULT_THETA,
      tool: 'click',
      isolated: null,
      histogram: null,
      preview: { count: null, message: null },
      pending: 0,
      semanticNote: null,
    };
    this.log.setUser(this.state.user);
  }

  // ---- React store -------------------------------------------------------------------------

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  readonly getSnapshot = (): AnnotationSnapshot => this.state;

  private patch(p: Partial<AnnotationSnapshot>): void {
    this.state = { ...this.state, ...p };
    for (const fn of this.listeners) fn();
  }

  dispose(): void {
    this.disposed = true;
    this.thetaThrottle.cancel();
    this.previewThrottle.cancel();
    if (this.histogramTimer) clearTimeout(this.histogramTimer);
    this.listeners.clear();
  }

  get user(): UserIdentity {
    return this.state.user;
  }

  /** Label colour and visibility for the overlay palette (optimistic edits included). */
  paletteLabels(): Map<string, PaletteLabel> {
    const m = new Map<string, PaletteLabel>();
    for (const l of this.state.labels) m.set(l.id, { colour: l.colour, visible: l.visible });
    return m;
  }

  /** What tests read (window.__splatsync.labels). */
  testLabels(): { id: string; name: string; colour: string; visible: boolean; selections: number }[] {
    return this.state.labels.map((l) => ({ id: l.id, name: l.name, colour: l.colour, visible: l.visible, selections: l.selections.length }));
  }

  // ---- connection --------------------------------------------------------------------------

  setSemanticNote(note: string | null): void {
    if (note !== this.state.semanticNote) this.patch({ semanticNote: note });
  }

  /** The socket joined the scene: join (or re-join) the room. */
  joinRoom(): void {
    const socket = this.host.socket();
    if (!socket?.connected || this.joining) return;
    this.joining = true;
    const since = this.log.hasJoined ? this.log.version : undefined;
    const req = since === undefined ? { room: this.roomId } : { room: this.roomId, since };
    const connection = this.connection;
    socket.timeout(ACK_TIMEOUT_MS).emit('room:join', req, (err: Error | null, res: Ack<RoomSnapshot>) => {
      if (connection !== this.connection) return; // a later connection joins by itself
      this.joining = false;
      if (this.disposed || socket !== this.host.socket()) return;
      if (err) {
        if (!socket.connected) return; // dropped meanwhile: the next connection joins again
        return this.host.toast('Could not open the labels', `No answer to room:join within ${ACK_TIMEOUT_MS / 1000} s.`, 'Reload the page; if it keeps happening, check that the server is running.');
      }
      if (!res.ok) return this.host.toast('Could not open the labels', res.message, selectionHint(res.code, res.message));
      if (res.data.userId) this.log.setUser({ id: res.data.userId, name: this.state.user.name });
      this.log.applySnapshot(res.data, since);
      this.host.roomJoined?.(res.data);
      this.patch({ joined: true, role: res.data.role ?? null, canEdit: res.data.role !== 'viewer' });
      this.settleWaiters();
      this.refresh();
      // what the server has not acknowledged yet goes again, in the order it was made
      for (const p of this.log.unacked()) this.send(p.opId, p.body);
    });
  }

  onDisconnect(): void {
    this.connection++;
    this.joining = false;
    this.previewActive = false;
    this.previewThrottle.cancel();
    if (this.state.joined) this.patch({ joined: false });
  }

  readonly onOp = (op: Op): void => {
    if (!this.state.joined) return; // the join's snapshot covers it
    const r = this.log.apply(op);
    if (r === 'gap') this.joinRoom();
    else if (r === 'applied') {
      this.settleWaiters();
      this.refresh(op);
    }
  };

  // ---- identity ----------------------------------------------------------------------------

  setUserName(name: string): void {
    const clean = cleanName(name);
    if (!clean || clean === this.state.user.name) return;
    const user = { ...this.state.user, name: clean };
    saveIdentity(user);
    this.log.setUser({ id: this.log.userId, name: clean });
    this.patch({ user });
    this.host.identityChanged(user);
  }

  // ---- labels ------------------------------------------------------------------------------

  activate(labelId: string): void {
    if (labelId === this.state.activeLabelId) return;
    this.chosenSelId = null;
    this.patch({ activeLabelId: labelId });
    this.syncActiveSelection();
  }

  /** Makes `selId` (of the active label) the one θ applies to. */
  chooseSelection(labelId: string, selId: string): void {
    if (labelId !== this.state.activeLabelId) this.activate(labelId);
    this.chosenSelId = selId;
    this.syncActiveSelection();
  }

  /** A new label, shown and made active at once (the server confirms it in the background). */
  async createLabel(): Promise<string | null> {
    const labels = this.state.labels;
    const labelId = newId('l');
    const colour = nextLabelColour(labels.map((l) => l.colour));
    const name = nextLabelName(labels.map((l) => l.name));
    const queued = this.log.hasJoined;
    const done = this.submit({ type: 'label.create', labelId, name, colour }, 'Could not create a label');
    if (!queued) return done.then(() => null); // not queued: submit said why
    this.chosenSelId = null;
    this.patch({ activeLabelId: labelId });
    this.syncActiveSelection();
    return labelId;
  }

  rename(labelId: string, name: string): void {
    const clean = cleanName(name)?.slice(0, 80);
    const l = this.label(labelId);
    if (!clean || !l || clean === l.name) return;
    void this.submit({ type: 'label.update', labelId, patch: { name: clean } }, 'Could not rename the label');
  }

  /** Live recolour (palette only); `commit` sends it to the room. */
  setColour(labelId: string, colour: string, commit: boolean): void {
    const c = colour.toLowerCase();
    if (!/^#[0-9a-f]{6}$/.test(c) || !this.label(labelId)) return;
    if (!commit) {
      this.liveColour.set(labelId, c);
      this.refresh();
      return;
    }
    this.liveColour.delete(labelId);
    if (this.log.state.labels.get(labelId)?.colour === c) return this.refresh();
    void this.submit({ type: 'label.update', labelId, patch: { colour: c } }, 'Could not recolour the label');
  }

  setVisible(labelId: string, visible: boolean): void {
    if (!this.label(labelId)) return;
    void this.submit({ type: 'label.update', labelId, patch: { visible } }, 'Could not show or hide the label');
  }

  toggleVisible(labelId: string | null = this.state.activeLabelId): void {
    const l = labelId ? this.label(labelId) : null;
    if (l) this.setVisible(l.id, !l.visible);
  }

  /** Client only: show just this label (again: show all). */
  toggleIsolate(labelId: string): void {
    this.patch({ isolated: this.state.isolated === labelId ? null : labelId });
    this.host.paletteChanged();
  }

  setCombine(combine: 'union' | 'mean'): void {
    const l = this.activeLabel();
    if (!l || l.combine === combine) return;
    void this.submit({ type: 'label.update', labelId: l.id, patch: { combine } }, 'Could not change how clicks combine');
  }

  deleteLabel(labelId: string): void {
    if (!this.label(labelId)) return;
    void this.submit({ type: 'label.delete', labelId }, 'Could not delete the label');
  }

  removeSelection(labelId: string, selId: string): void {
    void this.submit({ type: 'sel.remove', labelId, selId }, 'Could not remove the selection');
  }

  /** Delete key: the active label's last selection. */
  removeLastSelection(): void {
    const l = this.activeLabel();
    const last = l?.selections[l.selections.length - 1];
    if (l && last) this.removeSelection(l.id, last.id);
  }

  /** Ctrl+Z: my own latest edit in effect (never someone else's); pending edits count. */
  undo(): void {
    this.undoRedo('undo');
  }
  /** Ctrl+Shift+Z / Ctrl+Y: my most recently undone edit, unless I made a new one since. */
  redo(): void {
    this.undoRedo('redo');
  }

  private undoRedo(kind: 'undo' | 'redo'): void {
    const title = kind === 'undo' ? 'Nothing undone' : 'Nothing redone';
    if (this.log.hasJoined && !this.log.undoTarget(kind)) {
      // the server resolves the target from the same ops of mine: say so without asking it
      const message = `nothing of yours to ${kind}`;
      this.host.toast(title, message, selectionHint('bad_request', message), 'info');
      return;
    }
    void this.submit({ type: kind }, title);
  }

  // ---- selections --------------------------------------------------------------------------

  /** A click on the frame at pixel (x, y) of `camera` (the shown frame's request camera), at time t. */
  async click(camera: Camera, t: number, x: number, y: number, mods: Modifiers): Promise<boolean> {
    if (this.state.role === 'viewer') return false; // a viewer's click only orbits
    if (this.state.semanticNote) {
      this.host.toast('Click selection is unavailable', this.state.semanticNote, 'Select with the brush (B) or box (X) instead.');
      return false;
    }
    this.clearPreview();
    const query = { camera, t, x, y, patch: DEFAULT_PATCH };
    return this.addSelection((id) => ({ id, kind: 'click', mode: mods.alt ? 'subtract' : 'add', theta: this.state.theta, query }), !mods.shift && !mods.alt, 'Click selection failed');
  }

  /** Enter in the query box: plain = replace, shift = add, alt = subtract. */
  async text(text: string, mods: Modifiers): Promise<boolean> {
    return this.addSelection((id) => ({ id, kind: 'text', mode: mods.alt ? 'subtract' : 'add', theta: this.state.theta, query: { text } }), !mods.shift && !mods.alt, 'Text query failed');
  }

  /** A brushed or boxed region (row spans in `camera`'s pixels): add, or subtract with alt. */
  async region(camera: Camera, t: number, spans: Span[], mods: Modifiers): Promise<boolean> {
    if (spans.length === 0 || this.state.role === 'viewer') return false;
    if (spans.length > 8192) {
      this.host.toast('The region is too large', `It has ${spans.length} rows of pixels; a region may have at most 8192.`, 'Make the window smaller, or brush a smaller area.');
      return false;
    }
    return this.addSelection((id) => ({ id, kind: 'region', mode: mods.alt ? 'subtract' : 'add', theta: this.state.theta, query: { camera, t, spans } }), false, 'Region selection failed');
  }

  private async addSelection(make: (id: string) => Selection, replace: boolean, failTitle: string): Promise<boolean> {
    let labelId = this.state.activeLabelId && this.label(this.state.activeLabelId) ? this.state.activeLabelId : null;
    if (!labelId) labelId = await this.createLabel();
    if (!labelId) return false;
    // Replace = add the new selection, then remove the label's earlier ones: a click the server
    // refuses (e.g. on the background) leaves the label as it was.
    const previous = replace ? (this.label(labelId)?.selections ?? []).map((s) => s.id) : [];
    const sel = make(newId('s'));
    const ok = await this.submit({ type: 'sel.add', labelId, sel }, failTitle);
    if (ok && previous.length) await Promise.all(previous.map((selId) => this.submit({ type: 'sel.remove', labelId, selId }, 'Could not replace the selection')));
    if (ok && this.state.activeLabelId === labelId) {
      this.chosenSelId = sel.kind === 'region' ? this.chosenSelId : sel.id;
      this.syncActiveSelection();
    }
    return ok !== null;
  }

  // ---- θ -----------------------------------------------------------------------------------

  /** The slider moved (`final` on release): θ for the active selection, throttled to ~10 Hz. */
  setTheta(value: number, final: boolean): void {
    const theta = clampTheta(value);
    this.thetaDragging = !final;
    if (theta !== this.state.theta) this.patch({ theta });
    const l = this.activeLabel();
    const selId = this.state.activeSelId;
    if (!l || !selId) return;
    this.thetaThrottle.call(l.id, selId, theta);
    if (final) this.thetaThrottle.flush();
  }

  nudgeTheta(direction: -1 | 1): void {
    this.setTheta(this.state.theta + direction * THETA_STEP, false);
    this.thetaDragging = false;
  }

  private sendTheta(labelId: string, selId: string, theta: number): void {
    const sel = this.label(labelId)?.selections.find((s) => s.id === selId);
    if (!sel || sel.theta === theta) return;
    this.thetaInFlight++;
    void this.submit({ type: 'sel.update', labelId, selId, theta }, 'Could not change θ').finally(() => {
      this.thetaInFlight--;
    });
  }

  // ---- tools and hover preview ---------------------------------------------------------------

  setTool(tool: Tool): void {
    if (tool === this.state.tool) return;
    if (tool !== 'click') this.clearPreview();
    this.patch({ tool });
  }

  /** The pointer rests over the frame at this pixel (null: it left, or a button is down). */
  hover(q: PreviewQuery | null): void {
    if (!q) return this.clearPreview();
    if (this.state.tool !== 'click' || !this.state.joined || this.state.semanticNote || this.state.role === 'viewer') return;
    this.previewThrottle.call(q);
  }

  clearPreview(): void {
    this.previewThrottle.cancel();
    this.previewSeq++;
    if (this.state.preview.count !== null || this.state.preview.message !== null) this.patch({ preview: { count: null, message: null } });
    if (!this.previewActive) return;
    this.previewActive = false;
    this.host.socket()?.emit('sel:preview', { query: null, theta: this.state.theta }, () => {});
  }

  private sendPreview(q: PreviewQuery): void {
    const socket = this.host.socket();
    if (!socket?.connected || this.state.tool !== 'click') return;
    const seq = ++this.previewSeq;
    this.previewActive = true;
    socket.timeout(ACK_TIMEOUT_MS).emit('sel:preview', { query: { ...q, patch: DEFAULT_PATCH }, theta: this.state.theta }, (err: Error | null, res: Ack<PreviewResult | null>) => {
      if (this.disposed || seq !== this.previewSeq) return;
      if (err) return this.patch({ preview: { count: null, message: 'no answer' } });
      if (!res.ok) return this.patch({ preview: { count: null, message: res.message } });
      this.patch({ preview: { count: res.data?.count ?? null, message: null } });
    });
  }

  // ---- internals ---------------------------------------------------------------------------

  private label(id: string): LabelRow | undefined {
    return this.state.labels.find((l) => l.id === id);
  }
  private activeLabel(): LabelRow | undefined {
    return this.state.activeLabelId ? this.label(this.state.activeLabelId) : undefined;
  }

  /**
   * Makes one op: shown at once (pending), sent now or after the next (re-)join. Resolves to its
   * ack data once the server committed it, or null after a toast saying why it was refused.
   */
  submit(body: OpBody, failTitle: string, opts: { force?: boolean } = {}): Promise<{ version: number; note?: string } | null> {
    if (this.disposed) return Promise.resolve(null);
    if (!this.log.hasJoined) {
      this.host.toast(failTitle, 'Not connected to the room yet.', 'Wait for the connection (top right), then try again.');
      return Promise.resolve(null);
    }
    // `force` sends it whatever the role (tests: the server must refuse it, and the toast says so)
    if (this.state.role === 'viewer' && !opts.force) {
      this.host.toast(failTitle, 'Your link lets you view this room, not edit it.', 'Ask the owner for an annotator link to make labels.', 'info');
      return Promise.resolve(null);
    }
    const opId = newId('o');
    this.log.enqueue(opId, body);
    this.failTitles.set(opId, failTitle);
    const done = new Promise<{ version: number; note?: string } | null>((resolve) => this.waiters.set(opId, resolve));
    this.refresh();
    if (this.state.joined) this.send(opId, body);
    return done;
  }

  private send(opId: string, body: OpBody): void {
    const socket = this.host.socket();
    if (!socket?.connected) return; // sent again after the next join
    const connection = this.connection;
    socket.timeout(ACK_TIMEOUT_MS).emit('op:submit', { opId, body }, (err: Error | null, res: Ack<{ version: number; note?: string }>) => {
      if (this.disposed || connection !== this.connection) return; // the next join sends it again if needed
      const failTitle = this.failTitles.get(opId) ?? 'Edit refused';
      if (err) {
        if (!socket.connected) return; // dropped: sent again after the next join
        if (!this.log.isPending(opId)) return;
        // No answer on a connection that looks alive (a slow commit, or a half-open connection
        // not detected yet): send it again. Same opId: the server applies it once whatever
        // happened to the first, and the edit is never silently lost.
        this.send(opId, body);
        return;
      }
      if (!res.ok && res.code === 'rate_limited' && this.log.isPending(opId)) {
        // Too many edits at once (a long θ drag, a burst of shortcuts): keep it pending and send
        // it again when the server says the connection has room; the pending count shows it.
        const m = /try again in ([\d.]+) s/.exec(res.message);
        const waitMs = Math.max(200, Math.min(10_000, (m ? Number(m[1]) : 1) * 1000 + 50));
        setTimeout(() => {
          if (!this.disposed && connection === this.connection && this.log.isPending(opId)) this.send(opId, body);
        }, waitMs);
        return;
      }
      if (!res.ok) {
        if (!this.log.isPending(opId)) return;
        this.finish(opId, null);
        const info = res.message.startsWith('nothing of yours');
        this.host.toast(failTitle, res.message, selectionHint(res.code, res.message), info ? 'info' : 'error');
        return;
      }
      if (res.data.note) this.host.toast(body.type === 'undo' ? 'Undo' : body.type === 'redo' ? 'Redo' : 'Note', res.data.note, 'Nothing else changed.', 'info');
      this.log.ack(opId, res.data.version);
      this.finish(opId, res.data);
    });
  }

  /** The op's fate is known: dropped when refused; whoever waits hears of it. */
  private finish(opId: string, res: { version: number; note?: string } | null): void {
    if (res === null) this.log.drop(opId);
    this.failTitles.delete(opId);
    const resolve = this.waiters.get(opId);
    this.waiters.delete(opId);
    this.refresh();
    resolve?.(res);
  }

  /** Waiters whose op the log now holds as confirmed. */
  private settleWaiters(): void {
    for (const [opId, resolve] of [...this.waiters]) {
      if (this.log.isPending(opId)) continue;
      this.waiters.delete(opId);
      this.failTitles.delete(opId);
      resolve({ version: this.log.find(opId)?.version ?? this.log.version });
    }
  }

  /** Rebuild the snapshot from the folded log (after an op, a join, an optimistic edit). */
  private refresh(op?: Op): void {
    const pendingIds = new Set<string>();
    for (const p of this.log.pending) {
      if (p.body.type === 'label.create') pendingIds.add(p.body.labelId);
      else if (p.body.type === 'sel.add') pendingIds.add(p.body.sel.id);
    }
    const labels = this.log.labels().map((l) => this.row(l, pendingIds));
    let active = this.state.activeLabelId;
    if (!active || !labels.some((l) => l.id === active)) {
      active = labels[labels.length - 1]?.id ?? null;
      this.chosenSelId = null;
    }
    for (const id of [...this.liveColour.keys()]) if (!labels.some((l) => l.id === id)) this.liveColour.delete(id);
    const isolated = this.state.isolated && labels.some((l) => l.id === this.state.isolated) ? this.state.isolated : null;
    this.patch({ labels, version: this.log.version, activeLabelId: active, isolated, pending: this.log.pending.length });
    this.syncActiveSelection(op);
    this.host.paletteChanged();
  }

  private authorName(userId: string): string {
    return this.log.authorName(userId) ?? this.host.userName?.(userId) ?? userId;
  }

  private row(l: LabelState, pendingIds: ReadonlySet<string>): LabelRow {
    return {
      id: l.id,
      name: l.name,
      colour: this.liveColour.get(l.id) ?? l.colour,
      visible: l.visible,
      combine: l.combine,
      createdBy: this.authorName(l.createdBy),
      pending: pendingIds.has(l.id),
      edit: { ...l.edit },
      selections: l.selections.map((s) => ({
        id: s.id,
        kind: s.kind,
        mode: s.mode,
        theta: s.theta,
        author: this.authorName(s.author),
        pending: pendingIds.has(s.id),
        detail: s.kind === 'click' ? `(${s.query.x}, ${s.query.y}) t ${s.query.t.toFixed(2)}` : s.kind === 'text' ? `“${s.query.text}”` : `${s.query.spans.length} rows`,
      })),
    };
  }

  /** Which selection θ applies to; keep the slider on its θ; refresh the histogram. */
  private syncActiveSelection(op?: Op): void {
    const l = this.activeLabel();
    const thetaSels = (l?.selections ?? []).filter((s) => s.kind !== 'region');
    const chosen = this.chosenSelId ? thetaSels.find((s) => s.id === this.chosenSelId) : undefined;
    if (!chosen) this.chosenSelId = null;
    const sel = chosen ?? thetaSels[thetaSels.length - 1];
    const selId = sel?.id ?? null;
    const changed = selId !== this.state.activeSelId;
    const p: Partial<AnnotationSnapshot> = {};
    if (changed) p.activeSelId = selId;
    // follow the selection's θ (someone else's change, undo) unless the user is moving it
    if (sel && !this.thetaDragging && this.thetaInFlight === 0 && !this.thetaThrottle.waiting && sel.theta !== this.state.theta && (changed || op)) p.theta = sel.theta;
    if (!sel && this.state.histogram) p.histogram = null;
    if (Object.keys(p).length) this.patch(p);
    const touched = op && (op.body.type === 'sel.update' || op.body.type === 'sel.add' || op.body.type === 'undo' || op.body.type === 'redo' || op.body.type === 'label.update');
    if (sel && l && (changed || touched || this.state.histogram?.selId !== sel.id)) this.requestHistogram(l.id, sel.id);
  }

  private requestHistogram(labelId: string, selId: string): void {
    if (this.histogramTimer) clearTimeout(this.histogramTimer);
    this.histogramTimer = setTimeout(() => {
      this.histogramTimer = null;
      const socket = this.host.socket();
      if (!socket?.connected) return;
      const seq = ++this.histogramSeq;
      socket.timeout(ACK_TIMEOUT_MS).emit('sel:histogram', { labelId, selId }, (err: Error | null, res: Ack<HistogramResult>) => {
        if (this.disposed || seq !== this.histogramSeq || err) return;
        if (!res.ok) return; // e.g. removed meanwhile; the next sync asks again
        if (this.state.activeSelId !== selId) return;
        this.patch({ histogram: { labelId, selId, bins: res.data.bins, count: res.data.count, theta: res.data.theta } });
      });
    }, HISTOGRAM_DELAY_MS);
  }
}

export interface PreviewQuery {
  camera: Camera;
  t: number;
  x: number;
  y: number;
}
