// Presence (DESIGN.md §5): who is in a room, where they look and point, and the shared clock.
// Ephemeral: relayed by the server, never stored, dropped when the socket disconnects.
//
// Flow: client -> `presence:set` (a partial update; the server keeps at most 20 per second per
// socket and drops the rest) -> every other member of the room receives `presence` with the
// sender's whole entry. `room:join`'s answer lists who is there; `presence:leave` says who went.
// A cursor is sent as a pixel of the sender's own frame (normalised 0..1); the server adds the
// world point under it from the depth of the frame it last rendered for that sender, so other
// viewers can draw it in their own view (null over the background).
//
// Shared playback: `time:sync` {t, playing, rate} from anyone with "sync time" on is relayed as
// `time` to the room; clients with sync on follow the latest one.
import { z } from 'zod';
import { Camera } from './camera';

/** Most presence updates per second per socket the server relays. */
export const PRESENCE_HZ = 20;

export const PresenceUpdate = z
  .object({
    cursor: z.union([z.object({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) }).strict(), z.null()]).optional(),
    camera: Camera.optional(),
    t: z.number().min(0).max(1).optional(),
    playing: z.boolean().optional(),
  })
  .strict();
export type PresenceUpdate = z.infer<typeof PresenceUpdate>;

export interface PresenceCursor {
  x: number;
  y: number;
  /** World point under the cursor, when the sender's last frame had depth there. */
  world: [number, number, number] | null;
}

export interface PresenceEntry {
  /** Per connection (one user may have two tabs open). */
  sid: string;
  userId: string;
  name: string;
  /** #rrggbb, derived from the user id (the same on every screen). */
  colour: string;
  role: string;
  cursor: PresenceCursor | null;
  camera: Camera | null;
  t: number;
  playing: boolean;
  /** Server time of the last update (ms). */
  at: number;
}

export const TimeSync = z
  .object({
    t: z.number().min(0).max(1),
    playing: z.boolean(),
    /** Scene time units per second of playback. */
    rate: z.number().min(0).max(10),
  })
  .strict();
export type TimeSync = z.infer<typeof TimeSync>;

export interface TimeBroadcast extends TimeSync {
  sid: string;
  userId: string;
  name: string;
  /** Server time the update was relayed (ms); receivers extrapolate t from it while playing. */
  at: number;
}

/** A stable, readable colour per user id (golden-angle hues), the same for every viewer. */
export function presenceColour(userId: string): string {
  let h = 2166136261;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const hue = ((h >>> 0) % 360) / 360;
  return hslToHex(hue, 0.75, 0.55);
}

function hslToHex(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h * 12) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}
