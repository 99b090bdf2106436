// Client side (pure, no DOM): this client's copy of a room's op log (DESIGN.md §5) and its own
// ops that the server has not confirmed yet.
//
// - Confirmed: a base state (the server's compaction snapshot, or empty) plus the committed ops
//   after it, in version order (duplicates dropped, gaps reported so the caller re-joins with
//   `since`). Folded with the server's own pure function (server/rooms/state.ts `foldOps`).
// - Pending: this client's ops in the order it made them, sent (or to be sent) with their
//   opIds. The state shown is the confirmed state with the pending bodies applied on top, as
//   tentative ops by this user; an undo/redo's tentative target is what the server will resolve
//   (`resolveUndoTarget` over confirmed + pending, by author).
// - Rebase: ops of others that the server committed before ours are simply appended to the
//   confirmed log; the pending ops are re-applied on top (a refold). When one of our ops comes
//   back (broadcast, or in a catch-up) it leaves the pending queue; a rejected one is dropped.
//   Once every pending op is acknowledged the shown state is exactly the server's fold.
import type { Op, OpBody, RoomSnapshot } from '../../server/protocol';
import {
  applyOp, cloneState, deserializeState, emptyState, foldOps, resolveUndoTarget,
  type LabelState, type RoomState,
} from '../../server/rooms/state';

export type ApplyResult = 'applied' | 'duplicate' | 'gap';

export interface PendingOp {
  opId: string;
  body: OpBody;
  /** The version the server acknowledged it with (null until then). */
  acked: number | null;
}

export interface LogUser {
  id: string;
  name: string;
}

export class RoomLog {
  private base: RoomState = emptyState();
  private ops: Op[] = [];
  private readonly opIds = new Set<string>();
  /** foldOps(ops, base), kept up to date incrementally. */
  private confirmedState: RoomState = emptyState();
  private queue: PendingOp[] = [];
  /** Confirmed + pending, computed when asked for. */
  private shown: RoomState | null = null;
  private tentative: Op[] | null = null;
  /** author id -> the display name of their latest op. */
  private readonly names = new Map<string, string>();
  private synced = false;

  constructor(private user: LogUser = { id: 'me', name: 'me' }) {}

  /** Who the pending ops are by (the server's `userId` for this connection). */
  setUser(user: LogUser): void {
    if (user.id === this.user.id && user.name === this.user.name) return;
    this.user = { ...user };
    this.invalidate();
  }

  get userId(): string {
    return this.user.id;
  }

  /** Version of the last confirmed op (the snapshot's when no op follows it). */
  get version(): number {
    return this.ops.length ? this.ops[this.ops.length - 1]!.version : this.base.version;
  }
  /** True once a `room:join` answer was applied: `version` is then worth sending as `since`. */
  get hasJoined(): boolean {
    return this.synced;
  }
  /** Confirmed ops held (after the base snapshot). */
  get length(): number {
    return this.ops.length;
  }
  /** The state shown: confirmed, then the pending ops applied tentatively. */
  get state(): RoomState {
    if (!this.shown) this.shown = this.queue.length ? this.computeShown() : this.confirmedState;
    return this.shown;
  }
  /** The server's state as far as this client knows (no pending ops). */
  get confirmed(): RoomState {
    return this.confirmedState;
  }
  get pending(): readonly PendingOp[] {
    return this.queue;
  }
  /** Pending ops not acknowledged yet, in order: what to (re-)send after a (re)join. */
  unacked(): PendingOp[] {
    return this.queue.filter((p) => p.acked === null);
  }

  /**
   * Applies a `room:join` answer. `reset`: the answer is the whole log (a compaction snapshot, or
   * none, and every op after it) and replaces ours; else its ops extend our log from `since`.
   * Pending ops that the answer contains leave the queue.
   */
  applySnapshot(snap: RoomSnapshot, since: number | undefined): void {
    // Servers that predate `reset` answered with the whole log unless asked with `since`.
    const reset = typeof snap.reset === 'boolean' ? snap.reset : since === undefined || snap.version < this.version || (snap.ops.length > 0 && snap.ops[0]!.version === 1 && since > 0);
    if (reset) {
      this.base = snap.snapshot ? deserializeState(snap.snapshot) : emptyState();
      this.ops = [];
      this.opIds.clear();
      this.confirmedState = cloneState(this.base);
    }
    let undo = false;
    for (const op of snap.ops) {
      if (op.version !== this.version + 1) continue; // already held (or not contiguous: a later join fills it)
      this.push(op);
      if (op.body.type === 'undo' || op.body.type === 'redo') undo = true;
      else applyOp(this.confirmedState, op);
    }
    if (undo) this.confirmedState = foldOps(this.ops, this.base);
    this.confirmedState.version = this.version;
    this.synced = true;
    this.settle();
    this.invalidate();
  }

  /** A broadcast op: appended when it is the next version; a later one means ops were missed. */
  apply(op: Op): ApplyResult {
    if (op.version <= this.version) return 'duplicate';
    if (op.version !== this.version + 1) return 'gap';
    this.push(op);
    if (op.body.type === 'undo' || op.body.type === 'redo') this.confirmedState = foldOps(this.ops, this.base);
    else applyOp(this.confirmedState, op);
    this.settle();
    this.invalidate();
    return 'applied';
  }

  /** A new local op: shown at once, kept until the server confirms or refuses it. */
  enqueue(opId: string, body: OpBody): void {
    this.queue.push({ opId, body, acked: null });
    this.invalidate();
  }

  /** The server acknowledged `opId` at `version` (its broadcast may have come already, or not yet). */
  ack(opId: string, version: number): void {
    const p = this.queue.find((q) => q.opId === opId);
    if (!p) return;
    p.acked = version;
    if (this.settle()) this.invalidate();
  }

  /** The server refused `opId` (or it was given up): it leaves the queue. Returns it, if it was there. */
  drop(opId: string): PendingOp | undefined {
    const i = this.queue.findIndex((q) => q.opId === opId);
    if (i < 0) return undefined;
    const [p] = this.queue.splice(i, 1);
    this.invalidate();
    return p;
  }

  isPending(opId: string): boolean {
    return this.queue.some((q) => q.opId === opId);
  }

  /** What an undo (redo) made now would toggle, pending ops included; null: nothing. */
  undoTarget(kind: 'undo' | 'redo'): string | null {
    return resolveUndoTarget([...this.ops, ...this.tentativeOps()], this.user.id, kind);
  }

  /** Labels in display order (`order`, then id, as the server orders the label channel). */
  labels(): LabelState[] {
    return [...this.state.labels.values()].sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : 1));
  }

  /** Display name of an author (their latest op's), or undefined when no op of theirs is held. */
  authorName(id: string): string | undefined {
    if (id === this.user.id) return this.user.name;
    return this.names.get(id);
  }

  /** The op with this opId, confirmed or tentative. */
  find(opId: string): Op | undefined {
    for (let i = this.ops.length - 1; i >= 0; i--) if (this.ops[i]!.opId === opId) return this.ops[i];
    return this.tentativeOps().find((o) => o.opId === opId);
  }

  // ---- internals ----------------------------------------------------------------------------

  private push(op: Op): void {
    this.ops.push(op);
    this.opIds.add(op.opId);
    this.names.set(op.author, op.authorName);
  }

  /**
   * Pending ops the confirmed log now holds leave the queue, as do acknowledged ones that a
   * compaction snapshot folded in. An acknowledged op whose version the log holds as another op
   * (the server lost it, e.g. restored from an older copy) is due to be sent again.
   */
  private settle(): boolean {
    if (!this.queue.length) return false;
    const before = this.queue.length;
    this.queue = this.queue.filter((p) => {
      if (this.opIds.has(p.opId)) return false;
      if (p.acked === null || p.acked > this.version) return true;
      if (p.acked <= this.base.version) return false;
      p.acked = null;
      return true;
    });
    return this.queue.length !== before;
  }

  private invalidate(): void {
    this.shown = null;
    this.tentative = null;
  }

  /** The pending ops as this user's ops after the confirmed log (versions, undo targets resolved). */
  private tentativeOps(): Op[] {
    if (this.tentative) return this.tentative;
    const out: Op[] = [];
    let v = this.version;
    for (const p of this.queue) {
      const op: Op = { version: ++v, opId: p.opId, author: this.user.id, authorName: this.user.name, at: 0, body: p.body };
      if (p.body.type === 'undo' || p.body.type === 'redo') {
        const target = resolveUndoTarget([...this.ops, ...out], this.user.id, p.body.type);
        if (target) op.target = target;
      }
      out.push(op);
    }
    this.tentative = out;
    return out;
  }

  private computeShown(): RoomState {
    const tentative = this.tentativeOps();
    if (tentative.some((o) => o.body.type === 'undo' || o.body.type === 'redo')) return foldOps([...this.ops, ...tentative], this.base);
    const s = cloneState(this.confirmedState);
    for (const op of tentative) applyOp(s, op);
    return s;
  }
}
