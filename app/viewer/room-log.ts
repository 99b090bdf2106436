// Client side (pure): this client's copy of a room's op log (DESIGN.md §5). The server commits
// ops in version order and broadcasts each one; the client keeps them in order (duplicates
// dropped, gaps detected so the caller can re-join with `since`) and folds the log with the
// server's own pure function (server/rooms/state.ts `foldOps`), so both see the same labels.
import type { Op, RoomSnapshot } from '../../server/protocol';
import { foldOps, type LabelState, type RoomState } from '../../server/rooms/state';

export type ApplyResult = 'applied' | 'duplicate' | 'gap';

export class RoomLog {
  private ops: Op[] = [];
  private folded: RoomState = foldOps([]);
  /** author id -> the display name of their latest op. */
  private names = new Map<string, string>();

  get version(): number {
    return this.ops.length ? this.ops[this.ops.length - 1]!.version : 0;
  }
  get state(): RoomState {
    return this.folded;
  }
  get length(): number {
    return this.ops.length;
  }

  /**
   * Applies a `room:join` answer. With `since` = the version asked from, the ops extend the
   * log; a server that lost the room (its version is behind ours) answers with its whole log,
   * which replaces ours.
   */
  applySnapshot(snap: RoomSnapshot, since: number | undefined): void {
    const restart = since === undefined || snap.version < this.version || (snap.ops.length > 0 && snap.ops[0]!.version === 1 && since > 0);
    if (restart) {
      this.ops = [];
      this.names.clear();
    }
    let changed = restart;
    for (const op of snap.ops) {
      if (op.version <= this.version) continue;
      this.ops.push(op);
      this.names.set(op.author, op.authorName);
      changed = true;
    }
    if (changed) this.refold();
  }

  /** A broadcast op: appended when it is the next version; a later one means ops were missed. */
  apply(op: Op): ApplyResult {
    if (op.version <= this.version) return 'duplicate';
    if (op.version !== this.version + 1) return 'gap';
    this.ops.push(op);
    this.names.set(op.author, op.authorName);
    this.refold();
    return 'applied';
  }

  /** Labels in display order (`order`, then id, as the server orders the label channel). */
  labels(): LabelState[] {
    return [...this.folded.labels.values()].sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : 1));
  }

  authorName(id: string): string {
    return this.names.get(id) ?? id;
  }

  /** The op with this opId, if it is in the log. */
  find(opId: string): Op | undefined {
    for (let i = this.ops.length - 1; i >= 0; i--) if (this.ops[i]!.opId === opId) return this.ops[i];
    return undefined;
  }

  private refold(): void {
    this.folded = foldOps(this.ops);
  }
}
