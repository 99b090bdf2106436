// The embedded room store: one SQLite file in the data dir (server/db.ts). Each append is its own
// transaction, committed (fsync'd) before the promise resolves, so an acknowledged op survives a
// killed process; a crash mid-append leaves the row absent, never half-written.
import type { Db } from '../db';
import type { Op } from '../protocol/room';
import type { SerializedState } from './state';
import { COMPACTED_ID_WINDOW, type RoomStore, type StoredLog } from './store';

export class SqliteRoomStore implements RoomStore {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      snapshot: db.prepare<[string, string], { state: string; op_ids: string }>('SELECT state, op_ids FROM room_snapshots WHERE scene_id = ? AND room_id = ?'),
      ops: db.prepare<[string, string], { op: string }>('SELECT op FROM room_ops WHERE scene_id = ? AND room_id = ? ORDER BY version'),
      append: db.prepare('INSERT INTO room_ops (scene_id, room_id, version, op_id, op) VALUES (?, ?, ?, ?, ?)'),
      putSnapshot: db.prepare('INSERT INTO room_snapshots (scene_id, room_id, version, state, op_ids) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scene_id, room_id) DO UPDATE SET version = excluded.version, state = excluded.state, op_ids = excluded.op_ids'),
      dropOps: db.prepare('DELETE FROM room_ops WHERE scene_id = ? AND room_id = ? AND version <= ?'),
    };
  }

  async load(sceneId: string, roomId: string): Promise<StoredLog> {
    const snap = this.q.snapshot.get(sceneId, roomId);
    const ops = this.q.ops.all(sceneId, roomId).map((r) => JSON.parse(r.op) as Op);
    return {
      snapshot: snap ? (JSON.parse(snap.state) as SerializedState) : null,
      ops,
      compactedIds: snap ? (JSON.parse(snap.op_ids) as [string, number][]) : [],
    };
  }

  async append(sceneId: string, roomId: string, op: Op): Promise<void> {
    this.q.append.run(sceneId, roomId, op.version, op.opId, JSON.stringify(op));
  }

  async compact(sceneId: string, roomId: string, snapshot: SerializedState, compactedIds: [string, number][]): Promise<void> {
    this.db.transaction(() => {
      this.q.putSnapshot.run(sceneId, roomId, snapshot.version, JSON.stringify(snapshot), JSON.stringify(compactedIds.slice(-COMPACTED_ID_WINDOW)));
      this.q.dropOps.run(sceneId, roomId, snapshot.version);
    })();
  }

  async drop(sceneId: string, roomId?: string): Promise<void> {
    this.db.transaction(() => {
      if (roomId === undefined) {
        this.db.prepare('DELETE FROM room_ops WHERE scene_id = ?').run(sceneId);
        this.db.prepare('DELETE FROM room_snapshots WHERE scene_id = ?').run(sceneId);
      } else {
        this.db.prepare('DELETE FROM room_ops WHERE scene_id = ? AND room_id = ?').run(sceneId, roomId);
        this.db.prepare('DELETE FROM room_snapshots WHERE scene_id = ? AND room_id = ?').run(sceneId, roomId);
      }
    })();
  }

  async close(): Promise<void> {
    // The Db is owned by whoever opened it (it also holds links and grants).
  }
}
