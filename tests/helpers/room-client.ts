// A minimal room client for protocol tests: its own copy of the op log (snapshot + ops), kept in
// version order from `op` broadcasts and `room:join` catch-ups, folded with the shared foldOps.
// Deliberately independent of the viewer's client code, so protocol tests check the server.
import type { Socket } from 'socket.io-client';
import type { Ack, Op, OpBody, PresenceEntry, RoomSnapshot } from '../../server/protocol/index';
import { deserializeState, emptyState, foldOps, type RoomState } from '../../server/rooms/state';
import { connect, join } from './server';

export type OpReply = Ack<{ version: number; note?: string }>;

export class RoomClient {
  socket!: Socket;
  base: RoomState = emptyState();
  ops: Op[] = [];
  presence = new Map<string, PresenceEntry>();
  sid = '';
  gaps = 0;
  resets = 0;
  private rejoining: Promise<void> | null = null;

  constructor(
    readonly url: string,
    readonly user: { id: string; name: string },
    readonly sceneId: string,
    readonly roomId: string,
    readonly extraAuth: Record<string, unknown> = {},
  ) {}

  get version(): number {
    return this.ops.length ? this.ops[this.ops.length - 1]!.version : this.base.version;
  }
  get state(): RoomState {
    return foldOps(this.ops, this.base);
  }
  get connected(): boolean {
    return Boolean(this.socket?.connected);
  }

  /** Connects (or reconnects), joins the scene and the room, catching up from our version. */
  async connect(): Promise<RoomSnapshot> {
    // Every simulated person shares this machine's address: stay under the server's
    // per-address handshake limit by waiting when it says so (the limit itself stays real).
    for (let attempt = 0; ; attempt++) {
      try {
        this.socket = await connect(this.url, { protocol: 1, user: this.user, ...this.extraAuth });
        break;
      } catch (err) {
        if (!/rate_limited/.test((err as Error).message) || attempt >= 100) throw err;
        await new Promise((r) => setTimeout(r, 60 + Math.random() * 120));
      }
    }
    this.socket.on('op', (op: Op) => this.onOp(op));
    this.socket.on('presence', (p: PresenceEntry) => this.presence.set(p.sid, p));
    this.socket.on('presence:leave', (p: { sid: string }) => this.presence.delete(p.sid));
    const j = await join(this.socket, this.sceneId);
    if (!j.ok) throw new Error(`scene:join failed: ${j.message}`);
    return this.joinRoom(this.ops.length || this.base.version ? this.version : undefined);
  }

  /**
   * Joins the room, catching up from `since`. The answer is applied inside the ack callback,
   * not after an `await`: the socket delivers the broadcasts that follow the answer in the same
   * tick, and they must meet the caught-up log (after an await they would arrive first and look
   * like a gap).
   */
  joinRoom(since?: number): Promise<RoomSnapshot> {
    const req = since === undefined ? { room: this.roomId } : { room: this.roomId, since };
    return new Promise((resolve, reject) => {
      this.socket.timeout(30_000).emit('room:join', req, (err: Error | null, res: Ack<RoomSnapshot>) => {
        if (err) return reject(err);
        if (!res.ok) return reject(new Error(`room:join failed: ${res.message}`));
        this.applySnapshot(res.data);
        this.sid = res.data.sid;
        this.presence = new Map(res.data.presence.map((p) => [p.sid, p]));
        resolve(res.data);
      });
    });
  }

  private applySnapshot(s: RoomSnapshot): void {
    if (s.reset) {
      this.resets++;
      this.base = s.snapshot ? deserializeState(s.snapshot) : emptyState();
      this.ops = [];
    }
    for (const op of s.ops) if (op.version === this.version + 1) this.ops.push(op);
  }

  private onOp(op: Op): void {
    if (op.version <= this.version) return;
    if (op.version === this.version + 1) {
      this.ops.push(op);
      return;
    }
    this.gaps++;
    if (!this.rejoining) this.rejoining = this.joinRoom(this.version).then(() => void 0, () => void 0).finally(() => (this.rejoining = null));
  }

  submit(opId: string, body: OpBody, timeoutMs = 30_000): Promise<OpReply> {
    return this.socket.timeout(timeoutMs).emitWithAck('op:submit', { opId, body });
  }

  disconnect(): void {
    this.socket.disconnect();
  }

  /** Waits until this client's log reaches `version` (broadcasts arrive after acks to others). */
  async waitFor(version: number, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.version < version) {
      if (Date.now() > end) throw new Error(`${this.user.name} stuck at version ${this.version} < ${version}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
