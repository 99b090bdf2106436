// Id validation for everything auth touches (DESIGN.md §6 hardening). Scene and room ids become
// file names and SQL keys, so they are checked against the protocol's own patterns before use:
// nothing with `/`, `\`, `.`, NUL or anything outside [A-Za-z0-9_-] gets through, which rules
// out path traversal by construction. `safeJoin` is the belt to those braces for code that turns
// an id into a path.
import path from 'node:path';
import { SceneId } from '../protocol/events';
import { Id } from '../protocol/room';
import { ANY } from './roles';

export type IdCheck = { ok: true; id: string } | { ok: false; message: string };

function describe(what: string, raw: unknown): string {
  const shown = typeof raw === 'string' ? JSON.stringify(raw.length > 70 ? `${raw.slice(0, 70)}…` : raw) : typeof raw;
  return `${what} ${shown} is not valid`;
}

/** A scene id as the protocol defines it (1-64 of a-z, 0-9, `-`, not starting with `-`). */
export function checkSceneId(raw: unknown): IdCheck {
  const r = SceneId.safeParse(raw);
  return r.success ? { ok: true, id: r.data } : { ok: false, message: `${describe('scene id', raw)}: scene ids are 1-64 of a-z, 0-9 and -` };
}

/** A room id as the protocol defines it (1-40 of A-Z a-z 0-9 _ -). */
export function checkRoomId(raw: unknown): IdCheck {
  const r = Id.safeParse(raw);
  return r.success ? { ok: true, id: r.data } : { ok: false, message: `${describe('room id', raw)}: room ids are 1-40 of A-Z a-z 0-9 _ -` };
}

/** A user id: the protocol's Id pattern (local-mode ids chosen by the browser, Clerk `user_...` ids). */
export function checkUserId(raw: unknown): IdCheck {
  const r = Id.safeParse(raw);
  return r.success ? { ok: true, id: r.data } : { ok: false, message: `${describe('user id', raw)}: user ids are 1-40 of A-Z a-z 0-9 _ -` };
}

/** A scope's scene: a scene id or `*`. */
export function checkScopeScene(raw: unknown): IdCheck {
  return raw === ANY ? { ok: true, id: ANY } : checkSceneId(raw);
}

/** A scope's room: a room id or `*`. */
export function checkScopeRoom(raw: unknown): IdCheck {
  return raw === ANY ? { ok: true, id: ANY } : checkRoomId(raw);
}

/**
 * `path.join(base, ...parts)`, refusing any result outside `base` (`..`, absolute parts, NUL).
 * Throws; callers validate ids first, so reaching the throw means a bug or an attack.
 */
export function safeJoin(base: string, ...parts: string[]): string {
  for (const p of parts) {
    if (p.includes('\0')) throw new Error('path part contains NUL');
  }
  const root = path.resolve(base);
  const full = path.resolve(root, ...parts);
  if (full !== root && !full.startsWith(root + path.sep)) throw new Error(`path escapes ${root}`);
  return full;
}

/**
 * A display name as people choose it (guests in local mode, or a Clerk name claim): control and
 * bidi-override characters removed, whitespace collapsed, at most 60 characters; `fallback` when
 * nothing is left.
 */
export function cleanDisplayName(raw: unknown, fallback = 'Guest'): string {
  if (typeof raw !== 'string') return fallback;
  const cleaned = raw
    .replace(/[\t\n\r\f\v]/g, ' ')
    // C0/C1 controls, bidi embedding/override/isolate marks, zero-width and BOM characters.
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  const cut = Array.from(cleaned).slice(0, 60).join('').trim();
  return cut || fallback;
}
