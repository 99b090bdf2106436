// Room state as a pure fold of the committed op log (DESIGN.md §5). The server and every client
// run this same function over the same ordered ops, so they converge by construction:
// - property updates are last-writer-wins in version order;
// - an op whose label no longer exists does nothing (deleting a label others edit resolves the
//   same way everywhere);
// - undo/redo ops carry the opId they toggle (resolved by the server at commit); the state is the
//   fold of every op that is not currently undone.
import type { LabelState, Op, OpBody, SerializedState } from '../protocol/room';

export type { LabelEdit, LabelState, SerializedState } from '../protocol/room';

export interface RoomState {
  version: number;
  labels: Map<string, LabelState>;
}

export const emptyState = (): RoomState => ({ version: 0, labels: new Map() });

/** opIds undone at the end of the log (undo/redo toggles, in order). */
export function undoneSet(ops: readonly Op[]): Set<string> {
  const undone = new Set<string>();
  for (const op of ops) {
    if (!op.target) continue;
    if (op.body.type === 'undo') undone.add(op.target);
    else if (op.body.type === 'redo') undone.delete(op.target);
  }
  return undone;
}

/**
 * The state after `ops`, starting from `base` (a compaction snapshot; empty by default). The
 * base is not modified. Undo/redo ops in `ops` only ever target ops in `ops` (the compaction
 * cut guarantees it, see `compactionCut`).
 */
export function foldOps(ops: readonly Op[], base?: RoomState): RoomState {
  const undone = undoneSet(ops);
  const state = base ? cloneState(base) : emptyState();
  for (const op of ops) {
    state.version = op.version;
    if (undone.has(op.opId)) continue;
    applyBody(state, op.body, op.author);
  }
  return state;
}

/**
 * Applies one op that is not an undo/redo in place (what `foldOps` would do with it appended):
 * the server's per-commit fast path, so a commit costs O(1), not O(log length).
 */
export function applyOp(state: RoomState, op: Op): void {
  if (op.body.type === 'undo' || op.body.type === 'redo') throw new Error('applyOp: undo/redo needs a refold');
  state.version = op.version;
  applyBody(state, op.body, op.author);
}

export function cloneState(s: RoomState): RoomState {
  return deserializeState(serializeState(s));
}

export function serializeState(s: RoomState): SerializedState {
  return JSON.parse(JSON.stringify({ version: s.version, labels: [...s.labels.values()] })) as SerializedState;
}

export function deserializeState(s: SerializedState): RoomState {
  const copy = JSON.parse(JSON.stringify(s)) as SerializedState;
  return { version: copy.version, labels: new Map(copy.labels.map((l) => [l.id, l])) };
}

/**
 * Where to cut a log of which only the last `keep` ops stay individually (older ones fold into a
 * snapshot): the version of the last op that goes into the snapshot, or 0 for no compaction. The
 * cut moves back past any op whose undo/redo comes after it, so that no kept op toggles a
 * compacted one.
 */
export function compactionCut(ops: readonly Op[], keep: number): number {
  if (ops.length <= keep) return 0;
  const versionOf = new Map<string, number>();
  for (const op of ops) versionOf.set(op.opId, op.version);
  let cut = ops[ops.length - keep - 1]!.version;
  for (;;) {
    let lowered = cut;
    for (const op of ops) {
      if (op.version <= cut || !op.target) continue;
      const tv = versionOf.get(op.target);
      if (tv !== undefined && tv <= lowered) lowered = tv - 1;
    }
    if (lowered === cut) return cut;
    cut = lowered;
  }
}

function applyBody(state: RoomState, body: OpBody, author: string): void {
  switch (body.type) {
    case 'label.create': {
      if (state.labels.has(body.labelId)) return;
      state.labels.set(body.labelId, {
        id: body.labelId, name: body.name, colour: body.colour, visible: true, order: state.labels.size,
        combine: 'union', createdBy: author, selections: [], edit: { tint: null, hidden: false, opacity: 1 },
      });
      return;
    }
    case 'label.update': {
      const l = state.labels.get(body.labelId);
      if (!l) return;
      const p = body.patch;
      if (p.name !== undefined) l.name = p.name;
      if (p.colour !== undefined) l.colour = p.colour;
      if (p.visible !== undefined) l.visible = p.visible;
      if (p.order !== undefined) l.order = p.order;
      if (p.combine !== undefined) l.combine = p.combine;
      return;
    }
    case 'label.delete':
      state.labels.delete(body.labelId);
      return;
    case 'sel.add': {
      const l = state.labels.get(body.labelId);
      if (!l || l.selections.some((s) => s.id === body.sel.id)) return;
      l.selections.push({ ...body.sel, author });
      return;
    }
    case 'sel.update': {
      const s = state.labels.get(body.labelId)?.selections.find((x) => x.id === body.selId);
      if (!s) return;
      if (body.theta !== undefined) s.theta = body.theta;
      if (body.mode !== undefined) s.mode = body.mode;
      return;
    }
    case 'sel.remove': {
      const l = state.labels.get(body.labelId);
      if (l) l.selections = l.selections.filter((x) => x.id !== body.selId);
      return;
    }
    case 'edit.set': {
      const l = state.labels.get(body.labelId);
      if (!l) return;
      const p = body.patch;
      if (p.tint !== undefined) l.edit.tint = p.tint;
      if (p.hidden !== undefined) l.edit.hidden = p.hidden;
      if (p.opacity !== undefined) l.edit.opacity = p.opacity;
      return;
    }
    case 'undo':
    case 'redo':
      return;
    default: {
      const never: never = body;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Which op an undo (or redo) by `author` toggles, given the log so far: undo takes the author's
 * latest op that is in effect; redo takes the op the author undid most recently, as long as they
 * made no new op since. Null when there is nothing to undo or redo.
 */
export function resolveUndoTarget(ops: readonly Op[], author: string, kind: 'undo' | 'redo'): string | null {
  const undone = undoneSet(ops);
  if (kind === 'undo') {
    for (let i = ops.length - 1; i >= 0; i--) {
      const op = ops[i]!;
      if (op.author !== author || op.body.type === 'undo' || op.body.type === 'redo') continue;
      if (!undone.has(op.opId)) return op.opId;
    }
    return null;
  }
  // The redo stack: the author's undos since their last ordinary op, minus those already redone.
  const stack: string[] = [];
  for (const op of ops) {
    if (op.author !== author) continue;
    if (op.body.type === 'undo' && op.target) stack.push(op.target);
    else if (op.body.type === 'redo' && op.target) {
      const i = stack.lastIndexOf(op.target);
      if (i >= 0) stack.splice(i, 1);
    } else if (op.body.type !== 'undo' && op.body.type !== 'redo') stack.length = 0;
  }
  for (let i = stack.length - 1; i >= 0; i--) if (undone.has(stack[i]!)) return stack[i]!;
  return null;
}

/** A stable serialization for comparing states (tests, convergence checks). */
export function stateDigest(s: RoomState): string {
  const labels = [...s.labels.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  return JSON.stringify(labels);
}
