// Presence entries per room (ephemeral, DESIGN.md §5): kept in memory only, one per socket,
// removed on disconnect. Updates are rate limited per socket to PRESENCE_HZ: an update that
// comes too soon is merged into the entry but not relayed; a trailing timer relays the latest
// state once the interval has passed, so the last cursor position is never lost.
import { PRESENCE_HZ, presenceColour, type PresenceEntry, type PresenceUpdate } from '../protocol/presence';

const MIN_INTERVAL_MS = 1000 / PRESENCE_HZ;

interface Slot {
  entry: PresenceEntry;
  lastSentAt: number;
  lastTimeAt: number;
  trailing: NodeJS.Timeout | null;
}

export class PresenceHub {
  private rooms = new Map<string, Map<string, Slot>>();
  private seq = 0;

  constructor(private readonly relay: (roomKey: string, socketId: string, entry: PresenceEntry) => void = () => {}) {}

  join(roomKey: string, socketId: string, user: { id: string; name: string }, role: string): PresenceEntry {
    let room = this.rooms.get(roomKey);
    if (!room) this.rooms.set(roomKey, (room = new Map()));
    const entry: PresenceEntry = {
      sid: `p${(++this.seq).toString(36)}`, userId: user.id, name: user.name, colour: presenceColour(user.id), role,
      cursor: null, camera: null, t: 0, playing: false, at: Date.now(),
    };
    room.set(socketId, { entry, lastSentAt: 0, lastTimeAt: 0, trailing: null });
    return entry;
  }

  get(roomKey: string, socketId: string): PresenceEntry | undefined {
    return this.rooms.get(roomKey)?.get(socketId)?.entry;
  }

  others(roomKey: string, socketId: string): PresenceEntry[] {
    const room = this.rooms.get(roomKey);
    return room ? [...room].filter(([id]) => id !== socketId).map(([, s]) => s.entry) : [];
  }

  /**
   * Merges an update; returns the entry to relay now, or null when this socket relayed one less
   * than 1/PRESENCE_HZ ago (then the trailing relay sends the merged state when the interval ends).
   */
  update(roomKey: string, socketId: string, u: PresenceUpdate, world: [number, number, number] | null): PresenceEntry | null {
    const slot = this.rooms.get(roomKey)?.get(socketId);
    if (!slot) return null;
    const e = slot.entry;
    if (u.cursor !== undefined) e.cursor = u.cursor ? { x: u.cursor.x, y: u.cursor.y, world } : null;
    if (u.camera !== undefined) e.camera = u.camera;
    if (u.t !== undefined) e.t = u.t;
    if (u.playing !== undefined) e.playing = u.playing;
    const now = Date.now();
    e.at = now;
    const wait = slot.lastSentAt + MIN_INTERVAL_MS - now;
    if (wait <= 0) {
      // This relay carries the latest state: a trailing relay still pending would repeat it.
      if (slot.trailing) clearTimeout(slot.trailing);
      slot.trailing = null;
      slot.lastSentAt = now;
      return e;
    }
    if (!slot.trailing) {
      slot.trailing = setTimeout(() => {
        slot.trailing = null;
        if (this.rooms.get(roomKey)?.get(socketId) !== slot) return;
        slot.lastSentAt = Date.now();
        this.relay(roomKey, socketId, slot.entry);
      }, wait);
    }
    return null;
  }

  /** Shared-clock updates: at most 2 x PRESENCE_HZ (clients send ≤ PRESENCE_HZ; jitter is tolerated). */
  allowTime(roomKey: string, socketId: string): boolean {
    const slot = this.rooms.get(roomKey)?.get(socketId);
    if (!slot) return false;
    const now = Date.now();
    if (now - slot.lastTimeAt < MIN_INTERVAL_MS / 2) return false;
    slot.lastTimeAt = now;
    return true;
  }

  leave(roomKey: string, socketId: string): PresenceEntry | null {
    const room = this.rooms.get(roomKey);
    const slot = room?.get(socketId);
    if (!room || !slot) return null;
    if (slot.trailing) clearTimeout(slot.trailing);
    room.delete(socketId);
    if (room.size === 0) this.rooms.delete(roomKey);
    return slot.entry;
  }

  /** Entries held (tests: presence is cleaned up on disconnect). */
  get size(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.size;
    return n;
  }
}
