// Where a room's op log lives. The embedded default is SQLite (sqlite-store.ts); this interface
// is what a PostgreSQL implementation would provide for multi-process deployments (DESIGN.md §7).
// A log is a compaction snapshot (the folded state of every op up to its version) plus the ops
// after it, in version order.
import type { Op } from '../protocol/room';
import type { SerializedState } from './state';

export interface StoredLog {
  snapshot: SerializedState | null;
  ops: Op[];
  /** opId -> version of the most recent compacted ops, so a late re-send is still recognised. */
  compactedIds: [string, number][];
}

/** How many compacted op ids a log remembers for de-duplication. */
export const COMPACTED_ID_WINDOW = 20_000;

export interface RoomStore {
  /** The room's snapshot (if it was ever compacted) and every op after it. */
  load(sceneId: string, roomId: string): Promise<StoredLog>;
  /**
   * Durably appends one op; resolves once it is committed (then it may be acknowledged).
   * Rejects if the version or opId is already there (a second writer), leaving the log as it was.
   */
  append(sceneId: string, roomId: string, op: Op): Promise<void>;
  /**
   * Atomically replaces the snapshot and drops the ops it folds (version <= snapshot.version),
   * remembering `compactedIds` (the most recent, at most COMPACTED_ID_WINDOW) in their place.
   */
  compact(sceneId: string, roomId: string, snapshot: SerializedState, compactedIds: [string, number][]): Promise<void>;
  /** Forgets the room entirely (its scene was deleted). */
  drop(sceneId: string, roomId?: string): Promise<void>;
  close(): Promise<void>;
}

/** Keeps logs in memory only: for tests and `serve --ephemeral`. */
export class MemoryRoomStore implements RoomStore {
  private logs = new Map<string, StoredLog>();
  private key = (sceneId: string, roomId: string) => `${sceneId}/${roomId}`;
  private get(sceneId: string, roomId: string) {
    const k = this.key(sceneId, roomId);
    let log = this.logs.get(k);
    if (!log) this.logs.set(k, (log = { snapshot: null, ops: [], compactedIds: [] }));
    return log;
  }
  async load(sceneId: string, roomId: string): Promise<StoredLog> {
    const log = this.get(sceneId, roomId);
    return structuredClone(log);
  }
  async append(sceneId: string, roomId: string, op: Op): Promise<void> {
    const log = this.get(sceneId, roomId);
    const last = log.ops.length ? log.ops[log.ops.length - 1]!.version : (log.snapshot?.version ?? 0);
    if (op.version !== last + 1) throw new Error(`room ${sceneId}/${roomId}: version ${op.version} after ${last}`);
    if (log.ops.some((o) => o.opId === op.opId)) throw new Error(`room ${sceneId}/${roomId}: op ${op.opId} is already stored`);
    log.ops.push(structuredClone(op));
  }
  async compact(sceneId: string, roomId: string, snapshot: SerializedState, compactedIds: [string, number][]): Promise<void> {
    const log = this.get(sceneId, roomId);
    log.snapshot = structuredClone(snapshot);
    log.compactedIds = compactedIds.slice(-COMPACTED_ID_WINDOW);
    log.ops = log.ops.filter((o) => o.version > snapshot.version);
  }
  async drop(sceneId: string, roomId?: string): Promise<void> {
    for (const k of [...this.logs.keys()]) if (roomId === undefined ? k.startsWith(`${sceneId}/`) : k === this.key(sceneId, roomId)) this.logs.delete(k);
  }
  async close(): Promise<void> {}
}
