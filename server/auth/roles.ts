// Roles and the permission matrix (DESIGN.md §6). Pure: only zod, no node: imports, so app/ may
// import it too (to hide what a role cannot do; the server still refuses it).
//
// Roles are ordered viewer < annotator < owner; each has everything the one below has.
//   viewer     sees the scene, moves its own camera, shows its presence (cursor, camera).
//   annotator  + room ops (labels, selections, edits, undo), hover previews, histograms, shared
//              playback time, mask exports.
//   owner      + share links and who has access, import, bake, delete, eval.
//
// Every action also has a scope: what the caller's access must cover (a link or grant is for
// one scene and room, or `*` for all rooms of a scene, or `*`/`*` for the whole server):
//   'room'   the target scene and room            (room events, exports, links of that room)
//   'view'   some room of the target scene         (opening the scene, camera, frames)
//   'scene'  the whole target scene (room `*`)    (bake, delete: they affect every room)
//   'server' everything (scene `*`, room `*`)     (import, eval: they create scenes or read server paths)
//   'any'    anything at all                       (the scene list, which the caller then filters)
import { z } from 'zod';

export const Role = z.enum(['viewer', 'annotator', 'owner']);
export type Role = z.infer<typeof Role>;

export const ROLES: readonly Role[] = ['viewer', 'annotator', 'owner'];
const RANK: Record<Role, number> = { viewer: 0, annotator: 1, owner: 2 };

/** The scope wildcard: scene `*` = every scene, room `*` = every room of the scene. */
export const ANY = '*';

export type ActionScope = 'room' | 'view' | 'scene' | 'server' | 'any';

interface ActionRule {
  role: Role;
  scope: ActionScope;
  /** What refusing it says: "viewers cannot <what>". */
  what: string;
}

/** Every socket event and HTTP route, with the least role and the scope it needs. */
export const ACTIONS = {
  // Socket events (server/protocol/events.ts).
  'scene:join': { role: 'viewer', scope: 'view', what: 'open this scene' },
  'view:set': { role: 'viewer', scope: 'view', what: 'move the camera' },
  'frame:ack': { role: 'viewer', scope: 'view', what: 'receive frames' },
  'room:join': { role: 'viewer', scope: 'room', what: 'join this room' },
  'presence:set': { role: 'viewer', scope: 'room', what: 'show their cursor and camera' },
  // Shared playback moves everyone's time who follows it: a change to others' view, not one's own.
  'time:sync': { role: 'annotator', scope: 'room', what: 'drive the shared playback time' },
  'op:submit': { role: 'annotator', scope: 'room', what: 'change labels, selections or edits' },
  'sel:histogram': { role: 'annotator', scope: 'room', what: 'inspect selection histograms' },
  'sel:preview': { role: 'annotator', scope: 'room', what: 'preview selections' },
  'export:start': { role: 'annotator', scope: 'room', what: 'export masks' },
  'link:create': { role: 'owner', scope: 'room', what: 'create share links' },
  'link:revoke': { role: 'owner', scope: 'room', what: 'revoke share links' },
  'link:list': { role: 'owner', scope: 'room', what: 'list share links' },
  'access:list': { role: 'owner', scope: 'room', what: 'see who has access' },
  'access:revoke': { role: 'owner', scope: 'room', what: "remove someone's access" },
  'scene:bake': { role: 'owner', scope: 'scene', what: 'bake the deformation' },
  'import:start': { role: 'owner', scope: 'server', what: 'import scenes' },
  // Reads directories on the server's disk, as import does.
  eval: { role: 'owner', scope: 'server', what: 'run evaluations' },
  // HTTP routes.
  /** GET /api/scenes: allowed to anyone with access; the list is filtered (Auth.visibleScenes). */
  'http:scenes': { role: 'viewer', scope: 'any', what: 'list scenes' },
  /** GET /api/scenes/:id/... exports of a room's masks. */
  'http:export': { role: 'annotator', scope: 'room', what: 'download exports' },
  /** POST /api/imports (uploads). */
  'http:import': { role: 'owner', scope: 'server', what: 'upload imports' },
  /** DELETE /api/scenes/:id. */
  'http:delete': { role: 'owner', scope: 'scene', what: 'delete scenes' },
} as const satisfies Record<string, ActionRule>;

export type Action = keyof typeof ACTIONS;
export const ALL_ACTIONS = Object.keys(ACTIONS) as Action[];

/** True when `role` is `min` or above it. */
export function atLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

/** The higher of two roles (null counts as no role). */
export function maxRole(a: Role | null, b: Role | null): Role | null {
  if (a === null) return b;
  if (b === null) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

/** Whether `role` may perform `action` (the role half of authorization; Auth.authorize adds scope and revocation). */
export function can(role: Role | null | undefined, action: Action): boolean {
  if (!role) return false;
  const rule = ACTIONS[action] as ActionRule | undefined;
  return !!rule && atLeast(role, rule.role);
}

export function requiredRole(action: Action): Role {
  return ACTIONS[action].role;
}

export function actionScope(action: Action): ActionScope {
  return ACTIONS[action].scope;
}

/** "viewers cannot change labels, selections or edits (it needs annotator)". */
export function refusalMessage(role: Role, action: Action): string {
  const rule: ActionRule = ACTIONS[action];
  return `${role}s cannot ${rule.what} (${action} needs the ${rule.role} role)`;
}

/** A scene/room pair; either may be `*` (ANY). */
export interface Scope {
  scene: string;
  room: string;
}

/**
 * Whether access granted for `held` reaches `target`. A `*` in `held` matches anything; a `*`
 * in `target` (a request for the whole scene or server) is only matched by a `*` in `held`.
 */
export function covers(held: Scope, target: Scope): boolean {
  const part = (h: string, t: string) => h === ANY || h === t;
  return part(held.scene, target.scene) && part(held.room, target.room);
}

/** "room main of scene lego", "every room of scene lego", "every scene". */
export function describeScope(s: Scope): string {
  if (s.scene === ANY) return 'every scene';
  if (s.room === ANY) return `every room of scene ${s.scene}`;
  return `room ${s.room} of scene ${s.scene}`;
}

/** The expiry choices the owner's link dialog offers (ms from now; null = never). */
export const LINK_EXPIRY_CHOICES: readonly { id: string; label: string; ms: number | null }[] = [
  { id: '1h', label: '1 hour', ms: 3_600_000 },
  { id: '1d', label: '1 day', ms: 86_400_000 },
  { id: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: '30 days', ms: 30 * 86_400_000 },
  { id: 'never', label: 'never', ms: null },
];
