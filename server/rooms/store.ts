// Where a room's op log lives. The embedded default is SQLite (issue 6); this interface is what a
// PostgreSQL implementation would provide for multi-process deployments (DESIGN.md §7).
import type { Op } from '../protocol/room';

export interface RoomStore {
  /** Every committed op of the room, in version order. */
  load(sceneId: string, roomId: string): Promise<Op[]>;
  /** Durably appends one op; resolves once it is committed (then it may be acknowledged). */
  append(sceneId: string, roomId: string, op: Op): Promise<void>;
  close(): Promise<void>;
}

/** Keeps ops in memory only: for tests and `--ephemeral` servers. */
export class MemoryRoomStore implements RoomStore {
  private logs = new Map<string, Op[]>();
  async load(sceneId: string, roomId: string): Promise<Op[]> {
    return [...(this.logs.get(`${sceneId}/${roomId}`) ?? [])];
  }
  async append(sceneId: string, roomId: string, op: Op): Promise<void> {
    const key = `${sceneId}/${roomId}`;
    const log = this.logs.get(key) ?? [];
    log.push(op);
    this.logs.set(key, log);
  }
  async close(): Promise<void> {}
}
