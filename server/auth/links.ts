// Share links and (Clerk mode) the grants they made, over the data dir's SQLite (server/db.ts:
// tables `links` and `grants`). The table is the authority: a token is only honoured while its
// row is active (not revoked, not expired), checked on every use, so revoking is immediate.
//
// Scopes: a link is for one room of one scene, for every room of a scene (room `*`), or for the
// whole server (scene `*`, room `*`). `splatsync serve` prints a server-wide owner link
// (`ownerLink()`): created once per data dir and reused on every start (its token is re-signed
// from the row, tokens being deterministic), so a restart prints the same working link. If the
// owner revokes it, the next start makes a new one.
//
// Grants (Clerk mode): a signed-in user who opens a link gets its role, recorded as a grant
// (user, scene, room) -> role, link. A grant lasts as long as the link that made it: when the link
// is revoked its grants are deleted, and while it is expired they do not count. One grant per
// user and scope; a second link for the same scope only ever raises the role (the grant then
// points at that link, so revoking it removes the user's access to that scope; they can reopen
// another link they hold).
import crypto from 'node:crypto';
import type { Db } from '../db';
import { checkScopeRoom, checkScopeScene, checkUserId, cleanDisplayName } from './ids';
import { ANY, atLeast, covers, Role, type Scope } from './roles';
import type { TokenSigner } from './tokens';

export type LinkStatus = 'active' | 'revoked' | 'expired';

export interface Link {
  linkId: string;
  scene: string;
  room: string;
  role: Role;
  label: string;
  createdBy: string;
  createdAt: number;
  /** ms since the epoch; null = never. */
  expiresAt: number | null;
  revokedAt: number | null;
  status: LinkStatus;
}

export interface NewLink {
  scene: string;
  room: string;
  role: Role;
  /** ms since the epoch; null = never. */
  expiresAt: number | null;
  label?: string;
  /** The user id of whoever created it (`SERVE_CREATOR` for the printed owner link). */
  createdBy: string;
}

export interface Grant {
  userId: string;
  userName: string;
  scene: string;
  room: string;
  role: Role;
  linkId: string;
  grantedAt: number;
}

export type LinkEvent =
  | { type: 'link-revoked'; link: Link; /** Users whose grants it removed. */ userIds: string[] }
  | { type: 'grant-revoked'; grant: Grant };

/** `created_by` of the owner link `splatsync serve` prints. */
export const SERVE_CREATOR = 'splatsync-serve';
/** Longest link label. */
export const MAX_LABEL_CHARS = 80;
/** Links further in the future than this are refused (use `never` instead). */
const MAX_EXPIRY_MS = 10 * 365 * 86_400_000;

/** Invalid input to the store (bad id, role, expiry); `message` is for the user. */
export class LinkError extends Error {
  override name = 'LinkError';
}

interface LinkRow {
  link_id: string;
  scene_id: string;
  room_id: string;
  role: string;
  label: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

interface GrantRow {
  user_id: string;
  user_name: string;
  scene_id: string;
  room_id: string;
  role: string;
  link_id: string;
  granted_at: number;
}

export function newLinkId(): string {
  return crypto.randomBytes(12).toString('base64url'); // 16 of [A-Za-z0-9_-]: a valid Id
}

function checkScope(scene: unknown, room: unknown): Scope {
  const s = checkScopeScene(scene);
  if (!s.ok) throw new LinkError(s.message);
  const r = checkScopeRoom(room);
  if (!r.ok) throw new LinkError(r.message);
  if (s.id === ANY && r.id !== ANY) throw new LinkError('a link for every scene must also be for every room (room "*")');
  return { scene: s.id, room: r.id };
}

export class LinkStore {
  private readonly listeners = new Set<(e: LinkEvent) => void>();
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly signer: TokenSigner,
    private readonly now: () => number = Date.now,
  ) {
    this.q = {
      insert: db.prepare(
        `INSERT INTO links (link_id, scene_id, room_id, role, label, created_by, created_at, expires_at, revoked_at)
         VALUES (@link_id, @scene_id, @room_id, @role, @label, @created_by, @created_at, @expires_at, NULL)`,
      ),
      get: db.prepare<[string], LinkRow>('SELECT * FROM links WHERE link_id = ?'),
      state: db.prepare<[string], Pick<LinkRow, 'expires_at' | 'revoked_at'>>('SELECT expires_at, revoked_at FROM links WHERE link_id = ?'),
      covering: db.prepare<[string, string], LinkRow>(
        `SELECT * FROM links WHERE scene_id IN (?, '*') AND room_id IN (?, '*') ORDER BY created_at, rowid`,
      ),
      all: db.prepare<[], LinkRow>('SELECT * FROM links ORDER BY created_at, rowid'),
      revoke: db.prepare<[number, string]>('UPDATE links SET revoked_at = ? WHERE link_id = ? AND revoked_at IS NULL'),
      serveLink: db.prepare<[string, string, string], LinkRow>(
        `SELECT * FROM links WHERE created_by = ? AND scene_id = ? AND room_id = ? AND role = 'owner'
           AND revoked_at IS NULL AND expires_at IS NULL ORDER BY created_at, rowid LIMIT 1`,
      ),
      grantGet: db.prepare<[string, string, string], GrantRow>('SELECT * FROM grants WHERE user_id = ? AND scene_id = ? AND room_id = ?'),
      grantPut: db.prepare(
        `INSERT INTO grants (user_id, user_name, scene_id, room_id, role, link_id, granted_at)
         VALUES (@user_id, @user_name, @scene_id, @room_id, @role, @link_id, @granted_at)
         ON CONFLICT (user_id, scene_id, room_id) DO UPDATE SET
           user_name = excluded.user_name, role = excluded.role, link_id = excluded.link_id, granted_at = excluded.granted_at`,
      ),
      grantRename: db.prepare<[string, string, string, string]>('UPDATE grants SET user_name = ? WHERE user_id = ? AND scene_id = ? AND room_id = ?'),
      grantsOfLink: db.prepare<[string], GrantRow>('SELECT * FROM grants WHERE link_id = ?'),
      grantsDeleteOfLink: db.prepare<[string]>('DELETE FROM grants WHERE link_id = ?'),
      grantDelete: db.prepare<[string, string, string]>('DELETE FROM grants WHERE user_id = ? AND scene_id = ? AND room_id = ?'),
      activeGrantsOfUser: db.prepare<[string, number], GrantRow>(
        `SELECT g.* FROM grants g JOIN links l ON l.link_id = g.link_id
         WHERE g.user_id = ? AND l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > ?)`,
      ),
      activeGrantsCovering: db.prepare<[string, string, number], GrantRow>(
        `SELECT g.* FROM grants g JOIN links l ON l.link_id = g.link_id
         WHERE g.scene_id IN (?, '*') AND g.room_id IN (?, '*')
           AND l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > ?)
         ORDER BY g.granted_at, g.user_id`,
      ),
    };
  }

  private toLink(row: LinkRow): Link {
    const now = this.now();
    const status: LinkStatus = row.revoked_at !== null ? 'revoked' : row.expires_at !== null && row.expires_at <= now ? 'expired' : 'active';
    return {
      linkId: row.link_id,
      scene: row.scene_id,
      room: row.room_id,
      role: Role.parse(row.role),
      label: row.label,
      createdBy: row.created_by,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      status,
    };
  }

  private toGrant(row: GrantRow): Grant {
    return {
      userId: row.user_id,
      userName: row.user_name,
      scene: row.scene_id,
      room: row.room_id,
      role: Role.parse(row.role),
      linkId: row.link_id,
      grantedAt: row.granted_at,
    };
  }

  /** Creates a link; returns it with its token. Throws LinkError on invalid input. */
  create(spec: NewLink): { link: Link; token: string } {
    const scope = checkScope(spec.scene, spec.room);
    const role = Role.safeParse(spec.role);
    if (!role.success) throw new LinkError(`role must be one of viewer, annotator, owner (got ${JSON.stringify(spec.role)})`);
    const now = this.now();
    const exp = spec.expiresAt;
    if (exp !== null) {
      if (!Number.isSafeInteger(exp)) throw new LinkError('the expiry must be a time in ms since the epoch, or null for never');
      if (exp <= now) throw new LinkError('the expiry lies in the past');
      if (exp - now > MAX_EXPIRY_MS) throw new LinkError('the expiry is more than 10 years away: choose "never" instead');
    }
    if (typeof spec.createdBy !== 'string' || spec.createdBy.length === 0 || spec.createdBy.length > 200) throw new LinkError('createdBy is required');
    const label = cleanDisplayName(spec.label ?? '', '').slice(0, MAX_LABEL_CHARS);
    const linkId = newLinkId();
    this.q.insert.run({
      link_id: linkId,
      scene_id: scope.scene,
      room_id: scope.room,
      role: role.data,
      label,
      created_by: spec.createdBy,
      created_at: now,
      expires_at: exp,
    });
    const link = this.get(linkId)!;
    return { link, token: this.token(link) };
  }

  get(linkId: string): Link | null {
    const row = this.q.get.get(linkId);
    return row ? this.toLink(row) : null;
  }

  /** The link's token (the same every time: the row's fields, signed). */
  token(link: Pick<Link, 'linkId' | 'scene' | 'room' | 'role' | 'expiresAt'>): string {
    return this.signer.sign({ v: 1, scene: link.scene, room: link.room, role: link.role, exp: link.expiresAt, linkId: link.linkId });
  }

  /** The token of an active link; null when the link is unknown, revoked or expired. */
  tokenFor(linkId: string): string | null {
    const link = this.get(linkId);
    return link && link.status === 'active' ? this.token(link) : null;
  }

  /** 'active' | 'revoked' | 'expired', or 'unknown' for no such link. One indexed lookup. */
  status(linkId: string): LinkStatus | 'unknown' {
    const row = this.q.state.get(linkId);
    if (!row) return 'unknown';
    if (row.revoked_at !== null) return 'revoked';
    if (row.expires_at !== null && row.expires_at <= this.now()) return 'expired';
    return 'active';
  }

  isActive(linkId: string): boolean {
    return this.status(linkId) === 'active';
  }

  /**
   * Links that give access to `target`: its own (scene, room) links, the scene's `*` links and
   * server-wide ones; with `target.room = '*'` also every room's links of that scene ('within'),
   * and with scene `*` every link. Oldest first; inactive ones only with `includeInactive`.
   */
  list(target: Scope, opts: { includeInactive?: boolean } = {}): Link[] {
    const scope = checkScope(target.scene, target.room);
    let rows: LinkRow[];
    if (scope.scene === ANY) rows = this.q.all.all();
    else if (scope.room === ANY) rows = this.q.all.all().filter((r) => r.scene_id === scope.scene || r.scene_id === ANY);
    else rows = this.q.covering.all(scope.scene, scope.room);
    return rows.map((r) => this.toLink(r)).filter((l) => opts.includeInactive || l.status === 'active');
  }

  /**
   * Revokes a link (idempotent) and deletes the grants it made. Listeners hear of it at once so
   * sockets connected with it can be dropped. Returns false when there is no such link.
   */
  revoke(linkId: string): { found: boolean; link: Link | null; removedGrants: Grant[] } {
    const before = this.get(linkId);
    if (!before) return { found: false, link: null, removedGrants: [] };
    const removed = this.db.transaction(() => {
      this.q.revoke.run(this.now(), linkId);
      const grants = this.q.grantsOfLink.all(linkId).map((g) => this.toGrant(g));
      this.q.grantsDeleteOfLink.run(linkId);
      return grants;
    })();
    const link = this.get(linkId)!;
    if (before.revokedAt === null) this.emit({ type: 'link-revoked', link, userIds: [...new Set(removed.map((g) => g.userId))] });
    return { found: true, link, removedGrants: removed };
  }

  /**
   * The long-lived owner link `splatsync serve` prints, for `scope` (default: the whole server):
   * the existing active one if there is one, else a new one. `created` says which.
   */
  ownerLink(scope: Scope = { scene: ANY, room: ANY }): { link: Link; token: string; created: boolean } {
    const s = checkScope(scope.scene, scope.room);
    return this.db.transaction(() => {
      const row = this.q.serveLink.get(SERVE_CREATOR, s.scene, s.room);
      if (row) {
        const link = this.toLink(row);
        return { link, token: this.token(link), created: false };
      }
      const made = this.create({ ...s, role: 'owner', expiresAt: null, label: 'owner link (splatsync serve)', createdBy: SERVE_CREATOR });
      return { ...made, created: true };
    }).immediate();
  }

  /**
   * Records that `userId` got `role` for the link's scope by opening link `linkId` (Clerk mode).
   * Never lowers an existing active grant; always refreshes the display name. Returns the grant
   * now in force. Throws LinkError if the link is not active.
   */
  grant(userId: string, userName: string, linkId: string): Grant {
    const uid = checkUserId(userId);
    if (!uid.ok) throw new LinkError(uid.message);
    const name = cleanDisplayName(userName, 'user');
    return this.db.transaction(() => {
      const link = this.get(linkId);
      if (!link || link.status !== 'active') throw new LinkError(`link ${linkId} is not active`);
      const existing = this.q.grantGet.get(uid.id, link.scene, link.room);
      if (existing && this.isActive(existing.link_id) && atLeast(Role.parse(existing.role), link.role)) {
        this.q.grantRename.run(name, uid.id, link.scene, link.room);
      } else {
        this.q.grantPut.run({
          user_id: uid.id,
          user_name: name,
          scene_id: link.scene,
          room_id: link.room,
          role: link.role,
          link_id: link.linkId,
          granted_at: this.now(),
        });
      }
      return this.toGrant(this.q.grantGet.get(uid.id, link.scene, link.room)!);
    })();
  }

  /** A user's grants whose links are active (any scope). */
  activeGrantsOf(userId: string): Grant[] {
    return this.q.activeGrantsOfUser.all(userId, this.now()).map((g) => this.toGrant(g));
  }

  /** Who has access to `target` through an active grant (Clerk mode), oldest first. */
  grants(target: Scope): Grant[] {
    const scope = checkScope(target.scene, target.room);
    if (scope.scene === ANY || scope.room === ANY) {
      // Everything at or below the scope: filter in JS (grant tables are small).
      const rows = this.db
        .prepare<[number], GrantRow>(
          `SELECT g.* FROM grants g JOIN links l ON l.link_id = g.link_id
           WHERE l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > ?) ORDER BY g.granted_at, g.user_id`,
        )
        .all(this.now());
      return rows.map((g) => this.toGrant(g)).filter((g) => covers(scope, g) || covers(g, scope));
    }
    return this.q.activeGrantsCovering.all(scope.scene, scope.room, this.now()).map((g) => this.toGrant(g));
  }

  /** Removes one user's grant for exactly `scope`. False when there was none. */
  revokeGrant(userId: string, scope: Scope): boolean {
    const row = this.q.grantGet.get(userId, scope.scene, scope.room);
    if (!row) return false;
    this.q.grantDelete.run(userId, scope.scene, scope.room);
    this.emit({ type: 'grant-revoked', grant: this.toGrant(row) });
    return true;
  }

  /** Hears revocations (to drop sockets at once). Returns the unsubscribe function. */
  onChange(listener: (e: LinkEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: LinkEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener's failure must not undo or hide the revocation.
      }
    }
  }
}
