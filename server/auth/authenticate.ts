// The one place that decides who a caller is (authenticate) and what they may do (authorize).
// The socket handshake and every HTTP route go through here; see index.ts for how to wire it.
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import util from 'node:util';
import type { Db } from '../db';
import { clerkFromEnv, verifyClerkSession, type ClerkConfig, type ClerkFailureReason } from './clerk';
import { checkScopeRoom, checkScopeScene, checkUserId, cleanDisplayName } from './ids';
import { LinkError, LinkStore, type Grant, type Link, type LinkEvent } from './links';
import { ACTIONS, ANY, atLeast, covers, describeScope, maxRole, refusalMessage, type Action, type Role, type Scope } from './roles';
import { loadOrCreateSecret, SigningSecret } from './secret';
import { isLinkToken, MAX_TOKEN_CHARS, TokenSigner, type LinkPayload, type TokenFailureReason } from './tokens';

export type AuthMode = 'local' | 'clerk';

/** Why a request was refused. */
export type AuthReason =
  | TokenFailureReason // 'malformed' | 'bad_signature' | 'expired'
  | ClerkFailureReason // 'clerk_expired' | 'clerk_invalid' | 'clerk_unavailable'
  | 'missing' // no credential at all
  | 'revoked' // the link was revoked
  | 'unknown_link' // signed by us, but no such link (data dir's db reset)
  | 'sign_in_required' // Clerk mode: a share link needs a signed-in user
  | 'no_access' // Clerk mode: signed in, but no active grant anywhere
  | 'wrong_scope' // access exists, but not for this scene/room
  | 'role' // the role is too low for the action
  | 'bad_id' // a scene/room/user id failed validation (path traversal and such)
  | 'not_found' // link or grant to manage does not exist
  | 'bad_request'; // invalid input (link expiry, role, ...)

/** A refusal: `code` is the protocol ErrorCode to send, `status` the HTTP status, `message` for the user. */
export interface AuthFailure {
  ok: false;
  code: 'forbidden' | 'bad_request' | 'not_found' | 'unavailable';
  status: 400 | 401 | 403 | 404 | 503;
  reason: AuthReason;
  message: string;
}
export type AuthResult<T extends object> = ({ ok: true } & T) | AuthFailure;

const STATUS: Record<AuthReason, AuthFailure['status']> = {
  malformed: 401,
  bad_signature: 401,
  expired: 401,
  clerk_expired: 401,
  clerk_invalid: 401,
  clerk_unavailable: 503,
  missing: 401,
  revoked: 401,
  unknown_link: 401,
  sign_in_required: 401,
  no_access: 403,
  wrong_scope: 403,
  role: 403,
  bad_id: 400,
  not_found: 404,
  bad_request: 400,
};

function fail(reason: AuthReason, message: string): AuthFailure {
  const status = STATUS[reason];
  const code: AuthFailure['code'] = status === 400 ? 'bad_request' : status === 404 ? 'not_found' : status === 503 ? 'unavailable' : 'forbidden';
  return { ok: false, code, status, reason, message };
}

/** The link a principal presented, as verified. */
export interface LinkClaim {
  linkId: string;
  scene: string;
  room: string;
  role: Role;
  expiresAt: number | null;
}

/** Who is calling. Plain data: keep it on the socket (socket.data.principal). */
export interface Principal {
  /** Local mode: the id the browser keeps (self-chosen, attribution only). Clerk mode: the Clerk user id. */
  userId: string;
  name: string;
  via: 'link' | 'clerk';
  /**
   * Local mode: the link whose scope and role are this principal's whole authority.
   * Clerk mode: the link redeemed with this sign-in, if any (authority comes from grants).
   */
  link: LinkClaim | null;
  /** Clerk session id (`sid`); null in local mode. */
  sessionId: string | null;
  /** When this principal's authority ends by itself (its link's expiry); null = no fixed end. */
  expiresAt: number | null;
}

export interface Credentials {
  /** A share-link token (`ss1.…`). */
  linkToken?: string | null;
  /** A Clerk session token (JWT). Ignored in local mode. */
  clerkToken?: string | null;
  /** The identity the browser keeps (handshake `user`): local-mode user id and display name. */
  user?: { id?: unknown; name?: unknown } | null;
}

/** What an action is aimed at. Which fields are needed depends on the action's scope (roles.ts). */
export interface Target {
  scene?: string;
  room?: string;
}

export interface AuthOptions {
  db: Db;
  /** The data dir, whose `secret.key` signs links (made on first use). */
  dataDir?: string;
  /** Or the secret itself (ephemeral servers, tests). One of dataDir / secret is required. */
  secret?: SigningSecret;
  /** Environment to read Clerk settings from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides env: a Clerk config (Clerk mode) or null (local mode). */
  clerk?: ClerkConfig | null;
  /** Clock (ms), for tests. */
  now?: () => number;
}

interface Access {
  scope: Scope;
  role: Role;
}

/** Links and grants as the owner's UI shows them. */
export interface LinkView extends Link {
  /** The link's token while it is active (the owner may copy it again). */
  token: string | null;
}

export class Auth {
  readonly mode: AuthMode;
  readonly links: LinkStore;
  /** Clerk settings in Clerk mode (holds the secret key: never send it; use publicConfig()). */
  readonly clerk: ClerkConfig | null;
  /** A note for the server log (e.g. only one Clerk key set); null when none. */
  readonly warning: string | null;
  readonly #signer: TokenSigner;
  readonly #now: () => number;

  constructor(opts: AuthOptions) {
    const secret = opts.secret ?? (opts.dataDir ? loadOrCreateSecret(opts.dataDir) : null);
    if (!secret) throw new Error('createAuth needs dataDir or secret');
    this.#now = opts.now ?? Date.now;
    this.#signer = new TokenSigner(secret);
    this.links = new LinkStore(opts.db, this.#signer, this.#now);
    let warning: string | null = null;
    if (opts.clerk !== undefined) {
      this.clerk = opts.clerk;
    } else {
      const env = clerkFromEnv(opts.env ?? process.env);
      this.clerk = env.mode === 'clerk' ? env.config : null;
      if (env.mode === 'local' && env.warning) warning = env.warning;
    }
    this.mode = this.clerk ? 'clerk' : 'local';
    this.warning = warning;
  }

  /** What the UI may know: the mode and, in Clerk mode, the (public) publishable key. */
  publicConfig(): { mode: AuthMode; clerkPublishableKey: string | null } {
    return { mode: this.mode, clerkPublishableKey: this.clerk?.publishableKey ?? null };
  }

  // ---- authentication -------------------------------------------------------------------

  /**
   * Who is calling. Local mode: a valid, active link token is required; the user id and name are
   * the browser's (display only). Clerk mode: a valid Clerk session is required; with a link token
   * as well, the link's role is granted to that user (recorded). Never throws.
   */
  async authenticate(creds: Credentials): Promise<AuthResult<{ principal: Principal }>> {
    const linkToken = nonEmpty(creds.linkToken);
    const clerkToken = nonEmpty(creds.clerkToken);
    if (this.mode === 'local') {
      if (!linkToken) {
        return fail('missing', 'this server needs a share link: open the link its owner gave you (`splatsync serve` prints the owner link)');
      }
      const link = this.#checkLink(linkToken);
      if (!link.ok) return link;
      const uid = checkUserId(creds.user?.id);
      const userId = uid.ok ? uid.id : `guest-${crypto.randomBytes(6).toString('base64url')}`;
      const principal: Principal = {
        userId,
        name: cleanDisplayName(creds.user?.name, 'Guest'),
        via: 'link',
        link: link.claim,
        sessionId: null,
        expiresAt: link.claim.expiresAt,
      };
      return { ok: true, principal };
    }

    if (!clerkToken) {
      return linkToken
        ? fail('sign_in_required', 'sign in to use this share link')
        : fail('missing', 'sign in to use this server');
    }
    const verified = await verifyClerkSession(clerkToken, this.clerk!);
    if (!verified.ok) return fail(verified.reason, verified.message);
    const { session } = verified;
    const name = session.name ?? cleanDisplayName(creds.user?.name, 'user');
    let redeemed: LinkClaim | null = null;
    if (linkToken) {
      const link = this.#checkLink(linkToken);
      if (!link.ok) return link;
      try {
        this.links.grant(session.userId, name, link.claim.linkId);
      } catch (err) {
        if (err instanceof LinkError) return fail('revoked', 'this share link is no longer active: ask the owner for a new link');
        throw err;
      }
      redeemed = link.claim;
    } else if (this.links.activeGrantsOf(session.userId).length === 0) {
      return fail('no_access', 'you are signed in but have no access here yet: open a share link from the owner');
    }
    const principal: Principal = { userId: session.userId, name, via: 'clerk', link: redeemed, sessionId: session.sessionId, expiresAt: null };
    return { ok: true, principal };
  }

  /** Signature, expiry, then the link table (revoked? unknown?), then that the row matches the token. */
  #checkLink(token: string): AuthResult<{ claim: LinkClaim }> {
    const v = this.#signer.verify(token, this.#now());
    if (!v.ok) return fail(v.reason, v.message);
    const p: LinkPayload = v.payload;
    const row = this.links.get(p.linkId);
    if (!row) return fail('unknown_link', 'this share link is not known to this server (its data was reset?): ask the owner for a new link');
    if (row.status === 'revoked') return fail('revoked', 'this share link was revoked by its owner');
    if (row.status === 'expired') return fail('expired', 'this share link has expired: ask the owner for a new link');
    if (row.scene !== p.scene || row.room !== p.room || row.role !== p.role || row.expiresAt !== p.exp) {
      return fail('malformed', 'this share link does not match its record: ask the owner for a new link');
    }
    return { ok: true, claim: { linkId: p.linkId, scene: p.scene, room: p.room, role: p.role, expiresAt: p.exp } };
  }

  // ---- authorization --------------------------------------------------------------------

  /** Everything the principal can reach now, with roles; or why nothing. Reads the db (one indexed query). */
  #access(p: Principal): AuthResult<{ access: Access[] }> {
    if (p.via === 'link') {
      if (!p.link) return fail('missing', 'no share link');
      const status = this.links.status(p.link.linkId);
      if (status === 'revoked') return fail('revoked', 'the share link you joined with was revoked by its owner');
      if (status === 'expired') return fail('expired', 'the share link you joined with has expired: ask the owner for a new link');
      if (status === 'unknown') return fail('unknown_link', 'the share link you joined with no longer exists');
      return { ok: true, access: [{ scope: { scene: p.link.scene, room: p.link.room }, role: p.link.role }] };
    }
    const grants = this.links.activeGrantsOf(p.userId);
    if (grants.length === 0) return fail('no_access', 'your access was removed (its share link was revoked or has expired)');
    return { ok: true, access: grants.map((g) => ({ scope: { scene: g.scene, room: g.room }, role: g.role })) };
  }

  /**
   * Whether `principal` may do `action` on `target` now: its link/grants are still active, its
   * access covers the target (per the action's scope) and its role is high enough. Call it for
   * every socket event and HTTP route; it is cheap (one SQLite lookup). The role that applied is
   * returned. Targets may use `*` (e.g. links for every room) which only `*` access covers.
   */
  authorize(p: Principal, action: Action, target: Target = {}): AuthResult<{ role: Role }> {
    const rule = ACTIONS[action];
    if (!rule) return fail('bad_request', `unknown action ${String(action)}`);
    let needed: Scope | null = null; // null: any room of `sceneOnly`, or anything
    let sceneOnly: string | null = null;
    if (rule.scope === 'server') needed = { scene: ANY, room: ANY };
    else if (rule.scope !== 'any') {
      const s = checkScopeScene(target.scene);
      if (!s.ok) return fail('bad_id', s.message);
      if (rule.scope === 'scene') needed = { scene: s.id, room: ANY };
      else if (rule.scope === 'view') sceneOnly = s.id;
      else {
        const r = checkScopeRoom(target.room);
        if (!r.ok) return fail('bad_id', r.message);
        if (s.id === ANY && r.id !== ANY) return fail('bad_id', 'scene "*" needs room "*"');
        needed = { scene: s.id, room: r.id };
      }
    }
    const acc = this.#access(p);
    if (!acc.ok) return acc;
    let role: Role | null = null;
    for (const a of acc.access) {
      const reaches = needed ? covers(a.scope, needed) : sceneOnly !== null ? a.scope.scene === ANY || a.scope.scene === sceneOnly : true;
      if (reaches) role = maxRole(role, a.role);
    }
    if (!role) {
      const where = needed ? describeScope(needed) : `scene ${sceneOnly}`;
      const held = p.via === 'link' && p.link ? `this link is for ${describeScope(p.link)}, not for ${where}` : `you have no access to ${where}`;
      return fail('wrong_scope', held);
    }
    if (!atLeast(role, rule.role)) return fail('role', refusalMessage(role, action));
    return { ok: true, role };
  }

  /** The principal's role for a room (or, without `room`, its best role in any room of the scene); null = none. */
  roleIn(p: Principal, scene: string, room?: string): Role | null {
    const acc = this.#access(p);
    if (!acc.ok) return null;
    let role: Role | null = null;
    for (const a of acc.access) {
      const ok = room === undefined ? a.scope.scene === ANY || a.scope.scene === scene : covers(a.scope, { scene, room });
      if (ok) role = maxRole(role, a.role);
    }
    return role;
  }

  /** The scene ids (of `all`) the principal can open: GET /api/scenes filters its list with this. */
  visibleScenes(p: Principal, all: readonly string[]): string[] {
    const acc = this.#access(p);
    if (!acc.ok) return [];
    if (acc.access.some((a) => a.scope.scene === ANY)) return [...all];
    const scenes = new Set(acc.access.map((a) => a.scope.scene));
    return all.filter((id) => scenes.has(id));
  }

  /**
   * Re-checks a connected principal where it is (after a revocation event, or periodically for
   * expiry): viewer access to its room, or to its scene when it has no room yet.
   */
  recheck(p: Principal, where: Target): AuthResult<{ role: Role }> {
    if (where.scene && where.room) return this.authorize(p, 'room:join', where);
    if (where.scene) return this.authorize(p, 'scene:join', where);
    return this.authorize(p, 'http:scenes');
  }

  // ---- links and access (owner actions) -------------------------------------------------

  /** Creates a share link for `spec`'s scope (an owner there); returns it, its token and its URL path. */
  createLink(
    p: Principal,
    spec: { scene: string; room: string; role: Role; expiresAt: number | null; label?: string },
  ): AuthResult<{ link: Link; token: string; path: string }> {
    const ok = this.authorize(p, 'link:create', spec);
    if (!ok.ok) return ok;
    try {
      const { link, token } = this.links.create({ ...spec, createdBy: p.userId });
      return { ok: true, link, token, path: sharePath(link, token) };
    } catch (err) {
      if (err instanceof LinkError) return fail('bad_request', err.message);
      throw err;
    }
  }

  /**
   * Links giving access to `target` that the principal may manage (owner of their scope), active
   * ones with their token; revoked and expired ones too with `includeInactive`.
   */
  listLinks(p: Principal, target: Scope, opts: { includeInactive?: boolean } = {}): AuthResult<{ links: LinkView[] }> {
    const ok = this.authorize(p, 'link:list', target);
    if (!ok.ok) return ok;
    const links = this.links
      .list(target, opts)
      .filter((l) => this.authorize(p, 'link:revoke', l).ok)
      .map((l) => ({ ...l, token: l.status === 'active' ? this.links.token(l) : null }));
    return { ok: true, links };
  }

  /** Revokes a link the principal owns the scope of; its grants go with it, listeners hear at once. */
  revokeLink(p: Principal, linkId: string): AuthResult<{ link: Link; removedGrants: Grant[] }> {
    const link = typeof linkId === 'string' ? this.links.get(linkId) : null;
    if (!link) return fail('not_found', `no share link ${String(linkId).slice(0, 40)}`);
    const ok = this.authorize(p, 'link:revoke', link);
    if (!ok.ok) return ok;
    const r = this.links.revoke(link.linkId);
    return { ok: true, link: r.link!, removedGrants: r.removedGrants };
  }

  /** Who has access to `target` through grants (Clerk mode; empty in local mode), as the owner may see. */
  listAccess(p: Principal, target: Scope): AuthResult<{ grants: Grant[] }> {
    const ok = this.authorize(p, 'access:list', target);
    if (!ok.ok) return ok;
    const grants = this.links.grants(target).filter((g) => this.authorize(p, 'access:revoke', g).ok);
    return { ok: true, grants };
  }

  /** Removes one user's grant for exactly `scope`. */
  revokeAccess(p: Principal, userId: string, scope: Scope): AuthResult<{ removed: true }> {
    const ok = this.authorize(p, 'access:revoke', scope);
    if (!ok.ok) return ok;
    if (!this.links.revokeGrant(userId, scope)) return fail('not_found', `${String(userId).slice(0, 40)} has no access to ${describeScope(scope)}`);
    return { ok: true, removed: true };
  }

  /** The owner link `splatsync serve` prints (created once, reused on restarts). */
  serveOwnerLink(scope: Scope = { scene: ANY, room: ANY }): { link: Link; token: string; path: string; created: boolean } {
    const r = this.links.ownerLink(scope);
    return { ...r, path: sharePath(r.link, r.token) };
  }

  /** Revocation events (link revoked, grant removed): drop or re-check the affected sockets. */
  onRevoke(listener: (e: LinkEvent) => void): () => void {
    return this.links.onChange(listener);
  }

  toJSON(): object {
    return { mode: this.mode };
  }
  [util.inspect.custom](): string {
    return `Auth { mode: '${this.mode}' }`;
  }
}

function nonEmpty(s: unknown): string | null {
  return typeof s === 'string' && s.length > 0 ? s : null;
}

/** Makes the data dir's Auth (reads or creates its secret, reads Clerk settings from env). */
export function createAuth(opts: AuthOptions): Auth {
  return new Auth(opts);
}

/**
 * The path (and query) a share link opens: `/s/<scene>?room=<room>&token=<token>`; for a
 * whole-scene link no room; for a server-wide link the scene list `/?token=<token>`.
 * Prefix it with the server's public origin.
 */
export function sharePath(scope: Scope, token: string): string {
  const t = `token=${encodeURIComponent(token)}`;
  if (scope.scene === ANY) return `/?${t}`;
  const room = scope.room === ANY ? '' : `room=${encodeURIComponent(scope.room)}&`;
  return `/s/${encodeURIComponent(scope.scene)}?${room}${t}`;
}

/**
 * Credentials from a socket.io handshake `auth` object: `token` (link), `clerkToken`, `user`.
 * Accepts anything; wrong types are dropped.
 */
export function credentialsFromHandshake(auth: unknown): Credentials {
  const a = (auth && typeof auth === 'object' ? auth : {}) as Record<string, unknown>;
  const str = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : null);
  const user = a.user && typeof a.user === 'object' ? (a.user as { id?: unknown; name?: unknown }) : null;
  return { linkToken: str(a.token, MAX_TOKEN_CHARS), clerkToken: str(a.clerkToken, 8192), user };
}

/**
 * Credentials from an HTTP request. Link token: `X-Splatsync-Token` header, `Authorization:
 * Bearer ss1.…`, or `?token=` (links opened in a browser, downloads). Clerk token: `Authorization:
 * Bearer <jwt>`, or the `__session` cookie for GET/HEAD only (a cookie rides along on cross-site
 * requests, so state-changing routes must get the token in a header, which a foreign page cannot
 * set: no CSRF).
 */
export function credentialsFromHttp(req: Pick<IncomingMessage, 'headers' | 'url' | 'method'>): Credentials {
  const h = req.headers;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? null;
  let linkToken = one(h['x-splatsync-token']);
  let clerkToken: string | null = null;
  const authz = one(h.authorization);
  const bearer = authz && /^Bearer\s+(\S+)$/i.exec(authz)?.[1];
  if (bearer) {
    if (isLinkToken(bearer)) linkToken ??= bearer;
    else clerkToken = bearer;
  }
  if (!linkToken) {
    try {
      linkToken = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    } catch {
      linkToken = null;
    }
  }
  const method = (req.method ?? 'GET').toUpperCase();
  if (!clerkToken && (method === 'GET' || method === 'HEAD')) {
    const cookie = one(h.cookie);
    const m = cookie && /(?:^|;\s*)__session=([^;]+)/.exec(cookie);
    if (m) clerkToken = decodeURIComponent(m[1]!);
  }
  return { linkToken: linkToken || null, clerkToken };
}
