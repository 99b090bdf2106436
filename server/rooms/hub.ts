// Open rooms, their semantic engines and the label channel each one's frames carry.
import type { Op, OpRequest } from '../protocol/room';
import type { SemanticEngine } from '../semantic/engine';
import { DEFAULT_COMPACTION, Room, type Author, type CommitResult, type CompactionPolicy } from './room';
import type { RoomStore } from './store';
import { appearanceKey, computeAppearance, type AppearanceArrays } from '../export/appearance';

export interface LabelChannel {
  /** [N] label index per Gaussian (0 = none). */
  labels: Uint8Array;
  /** Label id of index k+1. */
  order: string[];
}

export interface RoomEntry {
  room: Room;
  engine: SemanticEngine;
  channel: LabelChannel | null;
  /** Appearance edits (tint, hide, opacity) per Gaussian for this room's frames; `key` identifies them. */
  appearance: { key: string; arrays: AppearanceArrays } | null;
  /** Room version the channel was computed at (a slower, older recompute never overwrites a newer one). */
  channelVersion: number;
}

const MEMBERSHIP_OPS = new Set(['label.create', 'label.update', 'label.delete', 'sel.add', 'sel.update', 'sel.remove', 'undo', 'redo']);

export class RoomHub {
  private rooms = new Map<string, Promise<RoomEntry>>();

  constructor(
    private readonly store: RoomStore,
    private readonly engineFor: (sceneId: string) => Promise<SemanticEngine>,
    private readonly onChannel: (sceneId: string, roomId: string, entry: RoomEntry) => void,
    private readonly compaction: CompactionPolicy = DEFAULT_COMPACTION,
  ) {}

  open(sceneId: string, roomId: string): Promise<RoomEntry> {
    const key = `${sceneId}/${roomId}`;
    let p = this.rooms.get(key);
    if (!p) {
      p = (async () => {
        const engine = await this.engineFor(sceneId);
        const room = await Room.open(sceneId, roomId, this.store, engine, this.compaction);
        const entry: RoomEntry = { room, engine, channel: null, channelVersion: -1, appearance: null };
        await this.recompute(entry);
        return entry;
      })();
      this.rooms.set(key, p);
      p.catch(() => this.rooms.delete(key));
    }
    return p;
  }

  /** Commits; `announce` gets the op in version order (before the label channel is recomputed). */
  async commit(entry: RoomEntry, author: Author, req: OpRequest, announce: (op: Op) => void): Promise<CommitResult> {
    const res = await entry.room.commit(author, req, announce);
    if (!res.op || res.duplicate) return res;
    const b = res.op.body;
    // Name, colour and visibility are drawn by the client from its palette: no new label channel.
    const paletteOnly = b.type === 'label.update' && b.patch.order === undefined && b.patch.combine === undefined;
    if (MEMBERSHIP_OPS.has(b.type) && !paletteOnly) {
      await this.recompute(entry);
      this.onChannel(entry.room.sceneId, entry.room.id, entry);
    } else if (b.type === 'edit.set') {
      this.recomputeAppearance(entry);
      this.onChannel(entry.room.sceneId, entry.room.id, entry);
    }
    return res;
  }

  private async recompute(entry: RoomEntry): Promise<void> {
    const state = entry.room.state;
    const channel = state.labels.size ? await entry.engine.labelChannel(state) : null;
    if (state.version < entry.channelVersion) return;
    entry.channel = channel;
    entry.channelVersion = state.version;
    this.recomputeAppearance(entry);
  }

  /** Edits follow the label channel: a Gaussian takes the edit of the label it is drawn as. */
  private recomputeAppearance(entry: RoomEntry): void {
    const state = entry.room.state;
    const ch = entry.channel;
    if (!ch) {
      entry.appearance = null;
      return;
    }
    const key = `${entry.room.sceneId}/${entry.room.id}@${entry.channelVersion}:${appearanceKey(state, ch.order)}`;
    if (entry.appearance?.key === key) return;
    const arrays = computeAppearance(state, ch);
    entry.appearance = arrays.any ? { key, arrays } : null;
  }
}
