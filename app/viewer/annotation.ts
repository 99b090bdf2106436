'use client';
// Client side: labels and selections of the room this viewer annotates (DESIGN.md §1, §5).
// No DOM: the ViewerSession hands it the socket and shows its toasts; React components read
// its snapshot (subscribe / getSnapshot) and call its actions.
//
// Room flow (server/protocol/events.ts): after `scene:join`, `room:join` {} (room "main"; on a
// reconnect {since: last version}) -> the op log; every `op` broadcast is appended in version
// order (duplicates dropped; a gap re-joins with `since`) and the log is folded with the
// server's own `foldOps`. Changes are `op:submit` {opId, body}; the server answers
// {ok, data: {version, note}} or {ok: false, code, message} (shown as a toast).
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
  type Op,
  type OpBody,
  type PreviewResult,
  type RoomSnapshot,
  type Selection,
  type ServerToClient,
} from '../../server/protocol';
import type { LabelState } from '../../server/rooms/state';
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
  /** Short description of the query (pixel, prompt, region size). */
  detail: string;
}

export interface LabelRow {
  id: string;
  name: string;
  colour: string;
  visible: boolean;
  combine: 'union' | 'mean';
  selections: SelectionRow[];
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
  /** Ops sent and not answered yet. */
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
}

const ACK_TIMEOUT_MS = 20000;
const THETA_HZ = 10;
const PREVIEW_INTERVAL_MS = 250;
const HISTOGRAM_DELAY_MS = 120;
export const THETA_STEP = 0.02;
export const ROOM_ID = 'main';

const clampTheta = (v: number) => Math.round(Math.min(1, Math.max(-1, v)) * 100) / 100;

export class AnnotationSession {
  private readonly log = new RoomLog();
  private state: AnnotationSnapshot;
  private readonly listeners = new Set<() => void>();
  private joining = false;
  private disposed = false;

  /** Optimistic label edits (colour, visibility) shown until the server answers. */
  private readonly overrides = new Map<string, { colour?: string; visible?: boolean; token: number }>();
  private overrideToken = 0;
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
    const since = this.log.length ? this.log.version : undefined;
    const req = since === undefined ? {} : { since };
    socket.timeout(ACK_TIMEOUT_MS).emit('room:join', req, (err: Error | null, res: Ack<RoomSnapshot>) => {
      this.joining = false;
      if (this.disposed || socket !== this.host.socket()) return;
      if (err) return this.host.toast('Could not open the labels', `No answer to room:join within ${ACK_TIMEOUT_MS / 1000} s.`, 'Reload the page; if it keeps happening, check that the server is running.');
      if (!res.ok) return this.host.toast('Could not open the labels', res.message, selectionHint(res.code, res.message));
      this.log.applySnapshot(res.data, since);
      this.patch({ joined: true });
      this.refresh();
    });
  }

  onDisconnect(): void {
    this.joining = false;
    this.previewActive = false;
    this.previewThrottle.cancel();
    if (this.state.joined) this.patch({ joined: false });
  }

  readonly onOp = (op: Op): void => {
    if (!this.state.joined) return; // the join's snapshot covers it
    const r = this.log.apply(op);
    if (r === 'gap') this.joinRoom();
    else if (r === 'applied') this.refresh(op);
  };

  // ---- identity ----------------------------------------------------------------------------

  setUserName(name: string): void {
    const clean = cleanName(name);
    if (!clean || clean === this.state.user.name) return;
    const user = { ...this.state.user, name: clean };
    saveIdentity(user);
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

  async createLabel(): Promise<string | null> {
    const labels = this.state.labels;
    const labelId = newId('l');
    const colour = nextLabelColour(labels.map((l) => l.colour));
    const name = nextLabelName(labels.map((l) => l.name));
    const ok = await this.submit({ type: 'label.create', labelId, name, colour }, 'Could not create a label');
    if (!ok) return null;
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
    const token = this.override(labelId, { colour: c });
    if (!commit) return;
    void this.submit({ type: 'label.update', labelId, patch: { colour: c } }, 'Could not recolour the label').then(() => this.clearOverride(labelId, token));
  }

  setVisible(labelId: string, visible: boolean): void {
    if (!this.label(labelId)) return;
    const token = this.override(labelId, { visible });
    void this.submit({ type: 'label.update', labelId, patch: { visible } }, 'Could not show or hide the label').then(() => this.clearOverride(labelId, token));
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

  undo(): void {
    void this.submit({ type: 'undo' }, 'Nothing undone');
  }
  redo(): void {
    void this.submit({ type: 'redo' }, 'Nothing redone');
  }

  // ---- selections --------------------------------------------------------------------------

  /** A click on the frame at pixel (x, y) of `camera` (the shown frame's request camera), at time t. */
  async click(camera: Camera, t: number, x: number, y: number, mods: Modifiers): Promise<boolean> {
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
    if (spans.length === 0) return false;
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
    if (this.state.tool !== 'click' || !this.state.joined || this.state.semanticNote) return;
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

  /** Sends one op; resolves to its ack data, or null after a toast saying why it failed. */
  submit(body: OpBody, failTitle: string): Promise<{ version: number; note?: string } | null> {
    const socket = this.host.socket();
    if (!socket?.connected || !this.state.joined) {
      this.host.toast(failTitle, 'Not connected to the room.', 'Wait for the connection to come back (top right), then try again.');
      return Promise.resolve(null);
    }
    const opId = newId('o');
    this.patch({ pending: this.state.pending + 1 });
    return new Promise((resolve) => {
      socket.timeout(ACK_TIMEOUT_MS).emit('op:submit', { opId, body }, (err: Error | null, res: Ack<{ version: number; note?: string }>) => {
        if (this.disposed) return resolve(null);
        this.patch({ pending: Math.max(0, this.state.pending - 1) });
        if (err) {
          this.host.toast(failTitle, `No answer from the server within ${ACK_TIMEOUT_MS / 1000} s.`, 'Check the connection; the edit may still be applied when it comes back.');
          return resolve(null);
        }
        if (!res.ok) {
          const info = res.message.startsWith('nothing of yours');
          this.host.toast(failTitle, res.message, selectionHint(res.code, res.message), info ? 'info' : 'error');
          return resolve(null);
        }
        if (res.data.note) this.host.toast(body.type === 'undo' ? 'Undo' : body.type === 'redo' ? 'Redo' : 'Note', res.data.note, 'Nothing else changed.', 'info');
        resolve(res.data);
      });
    });
  }

  private override(labelId: string, p: { colour?: string; visible?: boolean }): number {
    const token = ++this.overrideToken;
    this.overrides.set(labelId, { ...this.overrides.get(labelId), ...p, token });
    this.refresh();
    return token;
  }

  private clearOverride(labelId: string, token: number): void {
    if (this.overrides.get(labelId)?.token !== token) return; // a newer edit is still pending
    this.overrides.delete(labelId);
    this.refresh();
  }

  /** Rebuild the snapshot from the folded log (after an op, a join, an optimistic edit). */
  private refresh(op?: Op): void {
    const labels = this.log.labels().map((l) => this.row(l));
    let active = this.state.activeLabelId;
    if (!active || !labels.some((l) => l.id === active)) {
      active = labels[labels.length - 1]?.id ?? null;
      this.chosenSelId = null;
    }
    for (const id of [...this.overrides.keys()]) if (!labels.some((l) => l.id === id)) this.overrides.delete(id);
    const isolated = this.state.isolated && labels.some((l) => l.id === this.state.isolated) ? this.state.isolated : null;
    this.patch({ labels, version: this.log.version, activeLabelId: active, isolated });
    this.syncActiveSelection(op);
    this.host.paletteChanged();
  }

  private row(l: LabelState): LabelRow {
    const o = this.overrides.get(l.id);
    return {
      id: l.id,
      name: l.name,
      colour: o?.colour ?? l.colour,
      visible: o?.visible ?? l.visible,
      combine: l.combine,
      selections: l.selections.map((s) => ({
        id: s.id,
        kind: s.kind,
        mode: s.mode,
        theta: s.theta,
        author: this.log.authorName(s.author),
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
