// One room of one scene: the server-authoritative op log. An op is validated, prepared (query
// features computed), given the next version, committed to the store, then applied and
// broadcast; nothing is half-applied: any failure before the commit leaves the room as it was.
import type { Op, OpRequest } from '../protocol/room';
import type { SemanticEngine } from '../semantic/engine';
import type { RoomStore } from './store';
import { foldOps, resolveUndoTarget, stateDigest, type RoomState } from './state';

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
  op: Op;
  /** Set when the op was accepted but changed nothing a user can see (e.g. undo of a deleted label's edit). */
  note?: string;
}

export class Room {
  private ops: Op[] = [];
  private _state: RoomState = foldOps([]);
  private queue: Promise<unknown> = Promise.resolve();
  private seenOpIds = new Set<string>();

  private constructor(
    readonly sceneId: string,
    readonly id: string,
    private readonly store: RoomStore,
    private readonly engine: SemanticEngine,
  ) {}

  static async open(sceneId: string, id: string, store: RoomStore, engine: SemanticEngine): Promise<Room> {
    const r = new Room(sceneId, id, store, engine);
    r.ops = await store.load(sceneId, id);
    for (const op of r.ops) r.seenOpIds.add(op.opId);
    r._state = foldOps(r.ops);
    return r;
  }

  get state(): RoomState {
    return this._state;
  }
  get version(): number {
    return this.ops.length ? this.ops[this.ops.length - 1]!.version : 0;
  }
  opsSince(version: number): Op[] {
    return this.ops.filter((o) => o.version > version);
  }

  /** Commits ops one at a time, in arrival order (the version order). */
  commit(author: Author, req: OpRequest): Promise<CommitResult> {
    const next = this.queue.then(() => this.commitNow(author, req));
    this.queue = next.catch(() => {});
    return next;
  }

  private async commitNow(author: Author, req: OpRequest): Promise<CommitResult> {
    if (this.seenOpIds.has(req.opId)) {
      // A client resending after a reconnect: acknowledge the op already committed.
      const op = this.ops.find((o) => o.opId === req.opId);
      if (op) return { op };
    }
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
    const nextOps = [...this.ops, op];
    const nextState = foldOps(nextOps);
    if (target && stateDigest(nextState) === stateDigest(s)) {
      const t = this.ops.find((o) => o.opId === target)!;
      note = `${body.type} of your ${t.body.type} did nothing: its label no longer exists`;
    }
    await this.store.append(this.sceneId, this.id, op); // durable before anyone hears of it
    this.ops = nextOps;
    this._state = nextState;
    this.seenOpIds.add(op.opId);
    if (op.body.type === 'sel.remove') this.engine.forget(op.body.selId);
    return { op, note };
  }
}
