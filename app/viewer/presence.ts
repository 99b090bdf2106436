'use client';
// Client side: who else is in the room, where they point and look, following someone, and the
// shared clock (DESIGN.md §5; protocol in server/protocol/presence.ts). Presence is ephemeral:
// nothing here is stored, and everything is dropped when the connection goes.
//
// Sending: the session reports this client's cursor (a point of its own frame, 0..1), camera,
// t and playing; `presence:set` carries only what changed since the last one, at most
// PRESENCE_SEND_HZ times a second (a little under the server's PRESENCE_HZ, so that none is
// dropped: the last camera of a gesture must arrive).
// Receiving: `room:join`'s answer lists everyone else; `presence` replaces one entry;
// `presence:leave` removes one. `time` (shared playback) is kept and, with "sync time" on,
// adopted by the session.
//
// No DOM here: the cursor and frustum geometry below are pure functions of the entries and
// this client's camera (unit-tested), the session draws them.
import type { Socket } from 'socket.io-client';
import { PRESENCE_HZ, type Camera, type ClientToServer, type PresenceEntry, type PresenceUpdate, type RoomSnapshot, type ServerToClient, type TimeBroadcast, type TimeSync } from '../../server/protocol';
import { Throttle } from './region';

type ClientSocket = Socket<ServerToClient, ClientToServer>;

/** Sends per second; under the server's limit (PRESENCE_HZ) so that it never drops one. */
export const PRESENCE_SEND_HZ = Math.min(16, PRESENCE_HZ);

export interface PresenceSnapshot {
  /** In the room (entries are live). */
  joined: boolean;
  /** This connection's presence id and colour (from the join). */
  sid: string | null;
  colour: string | null;
  /** Everyone else, by name. */
  entries: readonly PresenceEntry[];
  /** The sid whose camera (and time) this client follows, or null. */
  followed: string | null;
  /** Shared playback on. */
  syncTime: boolean;
  /** Others' cursors as drawn over the frame (CSS px in the stage area). */
  cursors: readonly CursorView[];
}

export interface CursorView {
  sid: string;
  name: string;
  colour: string;
  x: number;
  y: number;
}

export interface PresenceHost {
  socket(): ClientSocket | null;
  /** Entries changed (someone moved, came or went): redraw cursors and frustums. */
  changed(): void;
  /** Following started (`start`), or the followed user's entry changed: put the camera and time there. */
  followTo(entry: PresenceEntry, start: boolean): void;
  /** Sync time is on and the room's clock is this: adopt it (t already extrapolated). */
  adoptTime(t: number, playing: boolean, rate: number): void;
  /** Sync time was turned on with no room clock known: what to send as the first. */
  localTime(): TimeSync;
}

interface Local {
  cursor: { x: number; y: number } | null;
  camera: Camera | null;
  t: number;
  playing: boolean;
}

const round = (v: number, step = 1e-4) => Math.round(v / step) * step;
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

export class PresenceSession {
  private state: PresenceSnapshot = { joined: false, sid: null, colour: null, entries: [], followed: null, syncTime: false, cursors: [] };
  private readonly listeners = new Set<() => void>();
  private readonly byId = new Map<string, PresenceEntry>();
  private readonly local: Local = { cursor: null, camera: null, t: 0, playing: false };
  /** What the server last heard from us, as comparable keys. */
  private sent: { cursor?: string; camera?: string; t?: number; playing?: boolean } = {};
  private readonly sender = new Throttle<[]>(1000 / PRESENCE_SEND_HZ, () => this.flush());
  private readonly timeSender = new Throttle<[TimeSync]>(1000 / PRESENCE_SEND_HZ, (t) => this.emitTime(t));
  /** The room's latest shared clock, and when it arrived (performance.now ms). */
  private lastTime: { b: TimeBroadcast; receivedAt: number } | null = null;
  private disposed = false;

  constructor(private readonly host: PresenceHost) {}

  // ---- React store -------------------------------------------------------------------------

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  readonly getSnapshot = (): PresenceSnapshot => this.state;

  private patch(p: Partial<PresenceSnapshot>): void {
    this.state = { ...this.state, ...p };
    for (const fn of this.listeners) fn();
  }

  dispose(): void {
    this.disposed = true;
    this.sender.cancel();
    this.timeSender.cancel();
    this.listeners.clear();
  }

  get entries(): readonly PresenceEntry[] {
    return this.state.entries;
  }
  entry(sid: string): PresenceEntry | undefined {
    return this.byId.get(sid);
  }
  /** A user's name as presence knows it (any of their connections). */
  nameOf(userId: string): string | undefined {
    for (const e of this.byId.values()) if (e.userId === userId) return e.name;
    return undefined;
  }

  // ---- connection --------------------------------------------------------------------------

  /** The room was joined: everyone else as the server lists them; ours is sent whole again. */
  onJoined(snap: RoomSnapshot): void {
    this.byId.clear();
    for (const e of snap.presence ?? []) if (e.sid !== snap.sid) this.byId.set(e.sid, e);
    const followed = this.state.followed && this.byId.has(this.state.followed) ? this.state.followed : null;
    this.sent = {};
    this.patch({ joined: true, sid: snap.sid ?? null, colour: snap.colour ?? null, followed });
    this.publish();
    this.sender.call();
    if (followed) this.host.followTo(this.byId.get(followed)!, true);
  }

  onDisconnect(): void {
    this.sender.cancel();
    this.timeSender.cancel();
    this.byId.clear();
    this.lastTime = null;
    this.sent = {};
    // `followed` is kept: the same sid may still be there when we are back
    this.patch({ joined: false });
    this.publish();
  }

  readonly onPresence = (e: PresenceEntry): void => {
    if (!this.state.joined || e.sid === this.state.sid) return;
    this.byId.set(e.sid, e);
    this.publish();
    if (e.sid === this.state.followed) this.host.followTo(e, false);
  };

  readonly onLeave = (p: { sid: string }): void => {
    if (!this.byId.delete(p.sid)) return;
    if (this.state.followed === p.sid) this.patch({ followed: null });
    this.publish();
  };

  readonly onTime = (b: TimeBroadcast): void => {
    if (!this.state.joined || b.sid === this.state.sid) return;
    this.lastTime = { b, receivedAt: now() };
    if (this.state.syncTime) this.adopt();
  };

  // ---- what we send ------------------------------------------------------------------------

  /** This client's cursor (0..1 of its frame; null: off the frame), camera, t, playing. */
  update(p: Partial<Local>): void {
    if (p.cursor !== undefined) this.local.cursor = p.cursor ? { x: clamp01(p.cursor.x), y: clamp01(p.cursor.y) } : null;
    if (p.camera !== undefined) this.local.camera = p.camera;
    if (p.t !== undefined) this.local.t = clamp01(p.t);
    if (p.playing !== undefined) this.local.playing = p.playing;
    if (this.state.joined && (this.sender.waiting || this.diff())) this.sender.call();
  }

  private flush(): void {
    const socket = this.host.socket();
    if (this.disposed || !socket?.connected || !this.state.joined) return;
    const d = this.diff();
    if (!d) return;
    socket.emit('presence:set', d.msg);
    this.sent = d.keys;
  }

  /** What changed since the last `presence:set` (null: nothing). */
  private diff(): { msg: PresenceUpdate; keys: PresenceSession['sent'] } | null {
    const l = this.local;
    const msg: PresenceUpdate = {};
    const cursorKey = l.cursor ? `${round(l.cursor.x)},${round(l.cursor.y)}` : 'none';
    if (cursorKey !== this.sent.cursor) msg.cursor = l.cursor ? { x: l.cursor.x, y: l.cursor.y } : null;
    const cameraKey = l.camera ? JSON.stringify(l.camera) : this.sent.camera;
    if (l.camera && cameraKey !== this.sent.camera) msg.camera = l.camera;
    const t = round(l.t);
    if (t !== this.sent.t) msg.t = clamp01(t);
    if (l.playing !== this.sent.playing) msg.playing = l.playing;
    if (Object.keys(msg).length === 0) return null;
    return { msg, keys: { cursor: cursorKey, camera: cameraKey, t, playing: l.playing } };
  }

  // ---- follow ------------------------------------------------------------------------------

  /** Follow this sid's camera and time (null: stop). */
  follow(sid: string | null): void {
    if (sid !== null && !this.byId.has(sid)) sid = null;
    if (sid === this.state.followed) return;
    this.patch({ followed: sid });
    this.host.changed();
    if (sid) this.host.followTo(this.byId.get(sid)!, true);
  }

  /** F: follow the next person (in list order) who has a camera; after the last, stop. */
  cycleFollow(): void {
    const candidates = this.state.entries.filter((e) => e.camera);
    if (candidates.length === 0) return this.follow(null);
    const i = candidates.findIndex((e) => e.sid === this.state.followed);
    this.follow(i < 0 ? candidates[0]!.sid : i + 1 < candidates.length ? candidates[i + 1]!.sid : null);
  }

  // ---- shared time -------------------------------------------------------------------------

  setSyncTime(on: boolean): void {
    if (on === this.state.syncTime) return;
    this.patch({ syncTime: on });
    if (!on) return;
    if (this.lastTime) this.adopt();
    else this.sendTime(this.host.localTime());
  }

  /** My play / pause / seek / speed, with sync on: tell the room. */
  sendTime(t: TimeSync): void {
    if (!this.state.syncTime) return;
    this.timeSender.call({ t: clamp01(t.t), playing: t.playing, rate: Math.min(10, Math.max(0, t.rate)) });
  }

  private emitTime(t: TimeSync): void {
    const socket = this.host.socket();
    if (!socket?.connected || !this.state.joined) return;
    socket.emit('time:sync', t);
  }

  private adopt(): void {
    const last = this.lastTime;
    if (!last) return;
    const { b } = last;
    this.host.adoptTime(extrapolateTime(b.t, b.playing, b.rate, (now() - last.receivedAt) / 1000), b.playing, b.rate);
  }

  // ---- drawing -----------------------------------------------------------------------------

  /** Cursors as drawn now (the session computes them from its camera); patched only on change. */
  setCursors(cursors: CursorView[]): void {
    const a = this.state.cursors;
    if (a.length === cursors.length && a.every((c, i) => sameCursor(c, cursors[i]!))) return;
    this.patch({ cursors });
  }

  private publish(): void {
    const entries = [...this.byId.values()].sort((a, b) => a.name.localeCompare(b.name) || (a.sid < b.sid ? -1 : 1));
    this.patch({ entries });
    this.host.changed();
  }
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function sameCursor(a: CursorView, b: CursorView): boolean {
  return a.sid === b.sid && a.colour === b.colour && a.name === b.name && Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5;
}

/** t after `elapsedS` seconds of playback at `rate` (wrapping at 1, as the viewer's loop does). */
export function extrapolateTime(t: number, playing: boolean, rate: number, elapsedS: number): number {
  if (!playing || !(rate > 0) || !(elapsedS > 0)) return t;
  const v = t + rate * elapsedS;
  return v > 1 ? v - Math.floor(v) : v;
}

// ---- geometry (pure) ----------------------------------------------------------------------------

export type Vec3 = [number, number, number];

/** Pixel (u, v) and depth of a world point in an OpenCV camera (server/scene/camera.ts projectPoint). */
export function project(cam: Camera, p: readonly number[]): { u: number; v: number; z: number } {
  const m = cam.worldToCamera;
  const x = m[0]! * p[0]! + m[1]! * p[1]! + m[2]! * p[2]! + m[3]!;
  const y = m[4]! * p[0]! + m[5]! * p[1]! + m[6]! * p[2]! + m[7]!;
  const z = m[8]! * p[0]! + m[9]! * p[1]! + m[10]! * p[2]! + m[11]!;
  return { u: (cam.fx * x) / z + cam.cx, v: (cam.fy * y) / z + cam.cy, z };
}

/** World point of a camera-space point (OpenCV axes) of a rigid worldToCamera. */
export function cameraToWorld(cam: Pick<Camera, 'worldToCamera'>, c: readonly number[]): Vec3 {
  const m = cam.worldToCamera;
  const d = [c[0]! - m[3]!, c[1]! - m[7]!, c[2]! - m[11]!];
  // R^T · (c − t)
  return [m[0]! * d[0]! + m[4]! * d[1]! + m[8]! * d[2]!, m[1]! * d[0]! + m[5]! * d[1]! + m[9]! * d[2]!, m[2]! * d[0]! + m[6]! * d[1]! + m[10]! * d[2]!];
}

/**
 * A camera's frustum as line segments in world coordinates (pairs of points, xyz each): the
 * apex to the image corners at `depth`, the image rectangle, and a small triangle on its top
 * edge that shows which way is up.
 */
export function frustumSegments(cam: Camera, depth: number): Float32Array {
  const at = (u: number, v: number, z = depth): Vec3 => cameraToWorld(cam, [((u - cam.cx) / cam.fx) * z, ((v - cam.cy) / cam.fy) * z, z]);
  const apex = cameraToWorld(cam, [0, 0, 0]);
  const w = cam.width;
  const h = cam.height;
  const tl = at(0, 0);
  const tr = at(w, 0);
  const br = at(w, h);
  const bl = at(0, h);
  // "up" triangle above the top edge (OpenCV v grows downwards)
  const lift = 0.25 * Math.min(w, h);
  const t0 = at(w * 0.35, 0);
  const t1 = at(w * 0.65, 0);
  const t2 = at(w * 0.5, -lift);
  const segs: Vec3[] = [apex, tl, apex, tr, apex, br, apex, bl, tl, tr, tr, br, br, bl, bl, tl, t0, t2, t2, t1, t1, t0];
  const out = new Float32Array(segs.length * 3);
  segs.forEach((p, i) => out.set(p, i * 3));
  return out;
}

/**
 * Where others' cursors go over my frame, in CSS px of the stage area (`cssWidth` x `cssHeight`,
 * which the frame of `myCamera` fills). A cursor with a world point is projected into my camera
 * (hidden behind me or off the frame); one without (over the background) is drawn only when I
 * follow its owner, at its place in their image as my view frames it (`followRect`).
 */
export function cursorViews(
  entries: readonly PresenceEntry[],
  myCamera: Camera | null,
  cssWidth: number,
  cssHeight: number,
  followed: string | null,
  followRect: { left: number; top: number; width: number; height: number } | null,
): CursorView[] {
  const out: CursorView[] = [];
  for (const e of entries) {
    const c = e.cursor;
    if (!c) continue;
    let x: number;
    let y: number;
    if (c.world && myCamera) {
      const p = project(myCamera, c.world);
      if (!(p.z > 0)) continue;
      x = (p.u / myCamera.width) * cssWidth;
      y = (p.v / myCamera.height) * cssHeight;
    } else if (e.sid === followed && followRect) {
      x = followRect.left + c.x * followRect.width;
      y = followRect.top + c.y * followRect.height;
    } else continue;
    if (!Number.isFinite(x) || !Number.isFinite(y) || x < 0 || y < 0 || x > cssWidth || y > cssHeight) continue;
    out.push({ sid: e.sid, name: e.name, colour: e.colour, x, y });
  }
  return out;
}
