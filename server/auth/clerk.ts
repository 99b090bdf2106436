// Clerk mode (DESIGN.md §6). On when both NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY
// are set; people then sign in with Clerk in the app, and the socket handshake / HTTP requests
// carry the Clerk session token (a short-lived RS256 JWT), verified here with Clerk's backend SDK.
//
// With CLERK_JWT_KEY (the instance's PEM public key, Clerk Dashboard -> API keys -> JWT public
// key) verification is networkless; without it the SDK fetches (and caches) the instance's JWKS
// from Clerk's Backend API using CLERK_SECRET_KEY. Optional CLERK_AUTHORIZED_PARTIES (comma
// separated origins, e.g. "https://splats.example.org") makes the SDK refuse tokens minted for
// other sites (the `azp` claim) — recommended in production.
//
// A default Clerk session token has no name claim; to show names, add one in Clerk's session
// token customization, e.g. {"name": "{{user.full_name}}"}. Otherwise the name the client sends
// (display only) or "user" is shown.
import crypto from 'node:crypto';
import { verifyToken } from '@clerk/backend';
import { checkUserId, cleanDisplayName } from './ids';

/**
 * Clerk settings. From clerkFromEnv, `secretKey` is a non-enumerable property (kept out of logs
 * and JSON), so `{...config}` drops it: pass the object itself, or copy it explicitly.
 */
export interface ClerkConfig {
  publishableKey: string;
  secretKey: string;
  /** PEM public key: networkless verification. */
  jwtKey: string | null;
  authorizedParties: string[];
  /** The instance's Frontend API origin (from the publishable key), for the CSP. */
  frontendApi: string | null;
}

export type ClerkEnv = { mode: 'local'; warning?: string } | { mode: 'clerk'; config: ClerkConfig; networkless: boolean };

type Env = Record<string, string | undefined>;

/** Thrown for Clerk settings that cannot work (e.g. an unreadable CLERK_JWT_KEY); serve should stop. */
export class ClerkConfigError extends Error {
  override name = 'ClerkConfigError';
}

const val = (env: Env, k: string): string | undefined => {
  const v = env[k]?.trim();
  return v ? v : undefined;
};

/**
 * `https://<frontend api host>` from a publishable key (`pk_test_` / `pk_live_` + base64 of
 * "<host>$"); null when it does not decode so.
 */
export function frontendApiFromPublishableKey(key: string): string | null {
  const m = /^pk_(?:test|live)_([A-Za-z0-9+/=_-]+)$/.exec(key);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  if (!decoded.endsWith('$')) return null;
  const host = decoded.slice(0, -1);
  return /^[a-z0-9.-]+(?::\d+)?$/i.test(host) ? `https://${host}` : null;
}

/** CLERK_JWT_KEY as people paste it: real newlines, `\n` escapes, or the bare base64 body. */
export function normalisePem(raw: string): string {
  let pem = raw.trim().replace(/^["']|["']$/g, '').replace(/\\n/g, '\n');
  if (!pem.includes('-----BEGIN')) {
    const body = pem.replace(/\s+/g, '');
    pem = `-----BEGIN PUBLIC KEY-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END PUBLIC KEY-----`;
  }
  return pem;
}

/** Reads the Clerk settings from the environment. Throws ClerkConfigError on a bad CLERK_JWT_KEY. */
export function clerkFromEnv(env: Env = process.env): ClerkEnv {
  const publishableKey = val(env, 'NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY');
  const secretKey = val(env, 'CLERK_SECRET_KEY');
  if (!publishableKey || !secretKey) {
    if (publishableKey || secretKey) {
      const missing = publishableKey ? 'CLERK_SECRET_KEY' : 'NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY';
      return { mode: 'local', warning: `Clerk is off: ${missing} is not set (both Clerk keys are needed); using local share links` };
    }
    return { mode: 'local' };
  }
  const rawJwtKey = val(env, 'CLERK_JWT_KEY');
  let jwtKey: string | null = null;
  if (rawJwtKey) {
    jwtKey = normalisePem(rawJwtKey);
    let key: crypto.KeyObject;
    try {
      key = crypto.createPublicKey(jwtKey);
    } catch (err) {
      throw new ClerkConfigError(`CLERK_JWT_KEY is not a PEM public key (${(err as Error).message}); copy it from Clerk Dashboard -> API keys -> JWT public key`);
    }
    if (key.asymmetricKeyType !== 'rsa') throw new ClerkConfigError(`CLERK_JWT_KEY must be an RSA public key (got ${key.asymmetricKeyType})`);
  }
  const authorizedParties = (val(env, 'CLERK_AUTHORIZED_PARTIES') ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  const config = { publishableKey, jwtKey, authorizedParties, frontendApi: frontendApiFromPublishableKey(publishableKey) } as ClerkConfig;
  // Not enumerable: a logged or serialised config does not show the secret key.
  Object.defineProperty(config, 'secretKey', { value: secretKey, enumerable: false });
  return { mode: 'clerk', networkless: jwtKey !== null, config };
}

export interface ClerkSession {
  userId: string;
  sessionId: string | null;
  /** From a name-like claim, when the instance's session token has one. */
  name: string | null;
  /** Token expiry, ms since the epoch. */
  expiresAt: number;
}

export type ClerkFailureReason = 'clerk_expired' | 'clerk_invalid' | 'clerk_unavailable';
export type ClerkCheck = { ok: true; session: ClerkSession } | { ok: false; reason: ClerkFailureReason; message: string; detail: string };

/** Most characters of a Clerk token accepted (real ones are ~600-1500). */
const MAX_CLERK_TOKEN_CHARS = 8192;

function nameFrom(claims: Record<string, unknown>): string | null {
  for (const k of ['name', 'full_name', 'fullName', 'username', 'email', 'primary_email']) {
    const v = claims[k];
    if (typeof v === 'string' && v.trim()) return cleanDisplayName(v, 'user');
  }
  return null;
}

/**
 * Verifies a Clerk session token with @clerk/backend's verifyToken: signature (with CLERK_JWT_KEY
 * when set: no network), exp/nbf/iat (5 s skew), azp against CLERK_AUTHORIZED_PARTIES. Never
 * throws. `detail` is the SDK's reason, for server logs (it holds no token).
 */
export async function verifyClerkSession(token: unknown, config: ClerkConfig): Promise<ClerkCheck> {
  const invalid = (detail: string): ClerkCheck => ({ ok: false, reason: 'clerk_invalid', message: 'your sign-in could not be verified: sign in again', detail });
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_CLERK_TOKEN_CHARS) return invalid('no token or an oversized one');
  let claims: Record<string, unknown>;
  try {
    const opts: Parameters<typeof verifyToken>[1] = config.jwtKey ? { jwtKey: config.jwtKey } : { secretKey: config.secretKey };
    if (config.authorizedParties.length) opts.authorizedParties = config.authorizedParties;
    claims = (await verifyToken(token, opts)) as unknown as Record<string, unknown>;
  } catch (err) {
    const reason = String((err as { reason?: unknown }).reason ?? '');
    const detail = `${reason || 'error'}: ${(err as Error).message ?? String(err)}`;
    if (reason === 'token-expired') return { ok: false, reason: 'clerk_expired', message: 'your sign-in has expired: reload the page', detail };
    // No reason: not a verdict on the token but a failure to check it (fetching the JWKS failed).
    if (!reason || reason.startsWith('jwk-remote') || reason === 'jwk-failed-to-resolve' || reason === 'secret-key-invalid') {
      return { ok: false, reason: 'clerk_unavailable', message: 'sign-in cannot be checked right now (the server cannot reach Clerk): try again shortly', detail };
    }
    return invalid(detail);
  }
  const uid = checkUserId(claims.sub);
  if (!uid.ok) return invalid(`unexpected subject claim: ${uid.message}`);
  // Session tokens v2 carry the session status; a pending session (unfinished sign-in task) is not signed in.
  if (typeof claims.sts === 'string' && claims.sts !== 'active') return invalid(`session status ${claims.sts}`);
  const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
  return {
    ok: true,
    session: { userId: uid.id, sessionId: typeof claims.sid === 'string' ? claims.sid : null, name: nameFrom(claims), expiresAt: exp },
  };
}
