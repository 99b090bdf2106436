// Identity and access (DESIGN.md §6; docs/AUTH.md has the model and the threat notes).
//
// ─── Wiring it in ────────────────────────────────────────────────────────────────────────────
//
// Startup (server/cli.ts `serve`):
//     const auth = createAuth({ db, dataDir });            // secret.key made on first use; mode from env
//     //   ephemeral / no data dir: createAuth({ db: openDb(':memory:'), secret: SigningSecret.random() })
//     if (auth.warning) log(auth.warning);
//     const owner = auth.serveOwnerLink();                  // same link every start until revoked
//     console.log(`owner link: ${publicOrigin}${owner.path}`);   // print it; never log other tokens
//
// Socket handshake (io.use):
//     const r = await auth.authenticate(credentialsFromHandshake(socket.handshake.auth));
//     if (!r.ok) { const e = new Error(r.message); (e as any).data = { code: r.code, reason: r.reason }; return next(e); }
//     socket.data.principal = r.principal;
//     socket.data.user = { id: r.principal.userId, name: r.principal.name };
//   The handshake `auth` object: { protocol, token?: <link token>, clerkToken?: <Clerk session JWT>, user?: {id, name} }
//   (Handshake in server/protocol/events.ts needs `clerkToken: z.string().max(8192).optional()`).
//
// Every socket event, before doing anything (after payload validation, so ids are known):
//     const a = auth.authorize(socket.data.principal, 'op:submit', { scene: socket.data.sceneId, room: socket.data.roomId });
//     if (!a.ok) return reply({ ok: false, code: a.code, message: a.message });   // nothing changed
//   scene:join / view:set / frame:ack pass { scene }; room:join passes { scene, room } (the room it
//   asks for, default 'main'); scene:bake passes { scene: req.sceneId }; import:start / eval pass {}.
//   Refusals with reason 'revoked' | 'expired' | 'unknown_link' | 'no_access' mean the socket's
//   authority is gone: emit the error and disconnect it.
//   Role to show the UI (room:join reply): auth.roleIn(principal, scene, room).
//
// Revocation reaches live sockets at once:
//     auth.onRevoke(() => { for (const s of io.sockets.sockets.values()) {
//       const r = auth.recheck(s.data.principal, { scene: s.data.sceneId, room: s.data.roomId });
//       if (!r.ok) { s.emit('error', { code: r.code, message: r.message }); s.disconnect(true); } } });
//   Expiry needs no event: authorize refuses from the expiry on; for sockets that send nothing,
//   run the same loop every ~10 s, or set a timer at principal.expiresAt.
//
// HTTP routes (GET /api/health stays open):
//     const r = await auth.authenticate(credentialsFromHttp(req));          // 401/503 on failure
//     const a = auth.authorize(r.principal, 'http:export', { scene, room });  // 403/400 on failure
//     if (!a.ok) return sendJson(res, a.status, { error: a.message, code: a.code });
//   GET /api/scenes: authorize 'http:scenes', then list only auth.visibleScenes(principal, ids).
//   Every response: applySecurityHeaders(res, securityHeadersFor(req, { kind: isApi ? 'api' : 'page',
//     clerk: auth.mode === 'clerk', clerkFrontendApi: auth.clerk?.frontendApi, serverOrigin }));
//   Bodies: readBodyLimited(req, LIMIT) -> PayloadTooLargeError (status 413, code 'too_large').
//   Logging: pass every URL / header / error text through redactSecrets() first.
//
// Owner actions (socket events link:create / link:list / link:revoke / access:list / access:revoke):
//     auth.createLink(principal, { scene, room, role, expiresAt, label })  -> { link, token, path }
//     auth.listLinks(principal, { scene, room })                            -> { links: LinkView[] } (active, with tokens)
//     auth.revokeLink(principal, linkId)                                    -> { link, removedGrants }
//     auth.listAccess(principal, { scene, room })                           -> { grants } (Clerk mode)
//     auth.revokeAccess(principal, userId, { scene, room })                 -> { removed }
//   Each checks the role and scope itself and returns AuthFailure like authorize.
//
// Rate limits: new RateLimiter({ ratePerSec: 30, burst: 60 }).take(socket.id) for op:submit
// (refusal -> code 'rate_limited', message rateLimitMessage('op:submit', d)); delete(socket.id) on
// disconnect. Per-IP limiters for HTTP and handshakes likewise.
//
// roles.ts is pure (zod only): app/ may import `can`, `Role`, `LINK_EXPIRY_CHOICES` to hide what a
// role cannot do. Nothing here exposes the signing secret; do not add a route that would.
export { Auth, createAuth, credentialsFromHandshake, credentialsFromHttp, sharePath } from './authenticate';
export type { AuthFailure, AuthMode, AuthOptions, AuthReason, AuthResult, Credentials, LinkClaim, LinkView, Principal, Target } from './authenticate';
export { clerkFromEnv, ClerkConfigError, frontendApiFromPublishableKey, verifyClerkSession } from './clerk';
export type { ClerkCheck, ClerkConfig, ClerkEnv, ClerkSession } from './clerk';
export { checkRoomId, checkSceneId, checkUserId, cleanDisplayName, safeJoin } from './ids';
export { LinkError, LinkStore, SERVE_CREATOR } from './links';
export type { Grant, Link, LinkEvent, LinkStatus, NewLink } from './links';
export { ACTIONS, ALL_ACTIONS, ANY, atLeast, can, covers, LINK_EXPIRY_CHOICES, Role, ROLES, refusalMessage, requiredRole } from './roles';
export type { Action, ActionScope, Scope } from './roles';
export { RateLimiter, rateLimitMessage } from './rate-limit';
export type { RateDecision, RateLimitOptions } from './rate-limit';
export { loadOrCreateSecret, SECRET_FILE, SigningSecret } from './secret';
export { isLinkToken, redactSecrets, TokenSigner } from './tokens';
export type { LinkPayload, TokenCheck, TokenFailureReason } from './tokens';
export {
  applySecurityHeaders, checkContentLength, contentSecurityPolicy, PayloadTooLargeError, readBodyLimited, securityHeaders, securityHeadersFor,
} from './http-security';
export type { SecurityHeaderOptions } from './http-security';
