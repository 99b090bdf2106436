// One room of one scene: the server-authoritative op log. An op is validated, prepared (query
// features computed), given the next version, committed to the store, then applied and
// broadcast; nothing is half-applied: any failure before the commit leaves the room as it was.
import type { Op, OpRequest } from '../protocol/room';
import type { SemanticEngine } from '../semantic/engine';
import { COMPACTED_ID_WINDOW, type RoomStore } from './store';
import {
  applyOp, compactionCut, deserializeState, emptyState, foldOps, resolveUndoTarget, serializeState, stateDigest,
  type RoomState, type SerializedState,
} from './state';

/** When the log holds `compactAt` ops, all but the last `keep` fold into the snapshot. */
export interface CompactionPolicy {
  compactAt: number;
  keep: number;
}
/** Undo reaches back at least `keep` ops; reconnecting clients older than the snapshot get the snapshot. */
export const DEFAULT_COMPACTION: CompactionPolicy = { compactAt: 4000, keep: 1000 };

export class OpRejected extends Error {
  constructor(readonly code: 'bad_request' | 'not_found' | 'unavailable' | 'forbidden', message: string) {
    super(message);
  }
}

export interface Author {
  id: string;
  name: string;
}

export interface CommitResult {
  /** The committed op (null when `duplicate` and it was compacted away). */
  op: Op | null;
  version: number;
  /** The opId was committed before (a re-send after a reconnect): acknowledged again, not applied. */
  duplicate?: boolean;
  /** Set when the op was accepted but changed nothing a user can see (e.g. undo of a deleted label's edit). */
  note?: string;
}

export class Room {
  /** The compaction snapshot: every op up to its version, folded. */
  private base: RoomState = emptyState();
  /** Ops after the snapshot, in version order. */
  private ops: Op[] = [];
  private _state: RoomState = emptyState();
  private queue: Promise<unknown> = Promise.resolve();
  private seenOpIds = new Map<string, Op>();
  /** opId -> version of compacted ops (bounded, see COMPACTED_ID_WINDOW). */
  private compactedIds = new Map<string, number>();

  private constructor(
    readonly sceneId: string,
    readonly id: string,
    private readonly store: RoomStore,
    private readonly engine: SemanticEngine,
    private readonly policy: CompactionPolicy,
  ) {}

  static async open(sceneId: string, id: string, store: RoomStore, engine: SemanticEngine, policy: CompactionPolicy = DEFAULT_COMPACTION): Promise<Room> {
    const r = new Room(sceneId, id, store, engine, policy);
    const log = await store.load(sceneId, id);
    if (log.snapshot) r.base = deserializeState(log.snapshot);
    r.ops = log.ops;
    for (const op of r.ops) r.seenOpIds.set(op.opId, op);
    r.compactedIds = new Map(log.compactedIds);
    r._state = foldOps(r.ops, r.base);
    return r;
  }

  get state(): RoomState {
    return this._state;
  }
  get version(): number {
    return this.ops.length ? this.ops[this.ops.length - 1]!.version : this.base.version;
  }
  /** Version of the compaction snapshot (0 when never compacted). */
  get snapshotVersion(): number {
    return this.base.version;
  }
  /**
   * What a client at `version` is missing: the ops after it, or, when some of those were
   * compacted away (or the client is ahead of this log, e.g. it lost a race with a restore), the
   * snapshot plus every op after it.
   */
  catchUp(version: number): { snapshot: SerializedState | null; ops: Op[] } {
    if (version >= this.base.version && version <= this.version) return { snapshot: null, ops: this.ops.filter((o) => o.version > version) };
    return { snapshot: this.base.version > 0 ? serializeState(this.base) : null, ops: [...this.ops] };
  }
  /** Every op after the snapshot (tests and replays). */
  get log(): readonly Op[] {
    return this.ops;
  }

  /**
   * Commits ops one at a time, in arrival order (the version order). `announce` runs right
   * after the commit, inside the serialized section, so broadcasts leave in version order.
   */
  commit(author: Author, req: OpRequest, announce: (op: Op) => void = () => {}): Promise<CommitResult> {
    const next = this.queue.then(async () => {
      const res = await this.commitNow(author, req);
      if (res.op && !res.duplicate) announce(res.op);
      return res;
    });
    this.queue = next.catch(() => {});
    return next;
  }

  private async commitNow(author: Author, req: OpRequest): Promise<CommitResult> {
    const seen = this.seenOpIds.get(req.opId);
    if (seen) {
      // A client resending after a reconnect: acknowledge the op already committed.
      if (sameRequest(seen.body, req.body)) return { op: seen, version: seen.version, duplicate: true };
      throw new OpRejected('bad_request', `op id ${req.opId} was already used for a different op`);
    }
    const compacted = this.compactedIds.get(req.opId);
    if (compacted !== undefined) return { op: null, version: compacted, duplicate: true };
    const b = req.body;
    let body = b;
    const s = this._state;
    let target: string | undefined;
    let note: string | undefined;
    switch (b.type) {
      case 'label.create':
        if (s.labels.has(b.labelId)) throw new OpRejected('bad_request', `label ${b.labelId} already exists`);
        if (s.labels.size >= 254) throw new OpRejected('unavailable', 'a room holds at most 254 labels');
        break;
      case 'label.update':
      case 'label.delete':
      case 'edit.set':
        if (!s.labels.has(b.labelId)) throw new OpRejected('not_found', `label ${b.labelId} does not exist (it may have been deleted by someone else)`);
        break;
      case 'sel.add': {
        const l = s.labels.get(b.labelId);
        if (!l) throw new OpRejected('not_found', `label ${b.labelId} does not exist (it may have been deleted by someone else)`);
        if (l.selections.some((x) => x.id === b.sel.id)) throw new OpRejected('bad_request', `selection ${b.sel.id} already exists`);
        try {
          body = { ...b, sel: await this.engine.prepare(b.sel) };
        } catch (err) {
          throw new OpRejected((err as { code?: string }).code === 'unavailable' ? 'unavailable' : 'bad_request', (err as Error).message);
        }
        break;
      }
      case 'sel.update':
      case 'sel.remove': {
        const l = s.labels.get(b.labelId);
        if (!l) throw new OpRejected('not_found', `label ${b.labelId} does not exist (it may have been deleted by someone else)`);
        if (!l.selections.some((x) => x.id === b.selId)) throw new OpRejected('not_found', `selection ${b.selId} does not exist in label ${l.name}`);
        break;
      }
      case 'undo':
      case 'redo': {
        const t = resolveUndoTarget(this.ops, author.id, b.type);
        if (!t) throw new OpRejected('bad_request', b.type === 'undo' ? 'nothing of yours to undo' : 'nothing of yours to redo');
        target = t;
        break;
      }
    }
    const op: Op = { version: this.version + 1, opId: req.opId, author: author.id, authorName: author.name, at: Date.now(), body, target };
    let nextState: RoomState | null = null;
    if (target) {
      nextState = foldOps([...this.ops, op], this.base);
      if (stateDigest(nextState) === stateDigest(s)) {
        const t = this.seenOpIds.get(target)!;
        note = `${body.type} of your ${t.body.type} did nothing: its label no longer exists`;
      }
    }
    await this.store.append(this.sceneId, this.id, op); // durable before anyone hears of it
    this.ops.push(op);
    if (nextState) this._state = nextState;
    else applyOp(this._state, op);
    this.seenOpIds.set(op.opId, op);
    if (op.body.type === 'sel.remove') this.engine.forget(op.body.selId);
    if (this.ops.length >= this.policy.compactAt) await this.compact();
    return { op, version: op.version, note };
  }

  /** Folds all but the last `keep` ops into the snapshot (in the store first, then here). */
  private async compact(): Promise<void> {
    const cut = compactionCut(this.ops, this.policy.keep);
    if (cut <= this.base.version) return;
    const folded = this.ops.filter((o) => o.version <= cut);
    const nextBase = foldOps(folded, this.base);
    const ids = [...this.compactedIds, ...folded.map((o): [string, number] => [o.opId, o.version])].slice(-COMPACTED_ID_WINDOW);
    try {
      await this.store.compact(this.sceneId, this.id, serializeState(nextBase), ids);
    } catch {
      return; // the op is committed either way; compaction retries on the next commit
    }
    this.base = nextBase;
    this.ops = this.ops.filter((o) => o.version > cut);
    for (const o of folded) this.seenOpIds.delete(o.opId);
    this.compactedIds = new Map(ids);
  }
}

/** A resent request is the committed op (sel.add bodies gain their query feature at commit). */
function sameRequest(committed: Op['body'], sent: OpRequest['body']): boolean {
  if (committed.type === 'sel.add' && sent.type === 'sel.add') return committed.labelId === sent.labelId && committed.sel.id === sent.sel.id;
  return JSON.stringify(committed) === JSON.stringify(sent);
}
