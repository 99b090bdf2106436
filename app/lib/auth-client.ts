'use client';
// Client side: how this browser proves who it is to the Splatsync server (DESIGN.md §6,
// docs/AUTH.md). Local mode: the share link's `?token=` only. Clerk mode: a Clerk session token
// as well, fresh at every (re)connect and request, while the link token still travels as
// `token` so the server can grant its role to whoever signs in with it.
//
// Decision: the mode and Clerk's publishable key come from the server at run time
// (GET /api/config), not from NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY in the bundle. Next inlines
// NEXT_PUBLIC_* when `next build` runs, and `splatsync serve` builds the UI once (it does not
// rebuild when the environment changes), so a key set later would never reach the browser;
// a dynamic server component reading process.env would instead make every page render per
// request, and it would read the UI process's environment, which with a separately deployed UI
// (NEXT_PUBLIC_SPLATSYNC_SERVER, `serve --no-ui`) is not the render server that verifies the
// tokens. /api/config is answered by exactly that server, so the UI and the server cannot
// disagree about the mode. In local mode nothing of Clerk is loaded (its code is a separate
// chunk, imported only when the config says 'clerk').
//
// The Clerk half (app/lib/clerk-bridge.tsx) registers a token source here once someone is
// signed in; sockets and fetches wait for it in Clerk mode.
import { useEffect, useState } from 'react';
import { apiUrl } from './server-url';

export type AuthMode = 'local' | 'clerk';

export interface AuthConfig {
  mode: AuthMode;
  /** Clerk's publishable key (public), in Clerk mode. */
  clerkPublishableKey: string | null;
}

const LOCAL: AuthConfig = { mode: 'local', clerkPublishableKey: null };

/** What GET /api/config answered, checked; anything unexpected means local mode. */
export function parseAuthConfig(body: unknown): AuthConfig {
  const o = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const key = typeof o.clerkPublishableKey === 'string' && /^pk_(test|live)_[A-Za-z0-9+/=_-]+$/.test(o.clerkPublishableKey) ? o.clerkPublishableKey : null;
  if (o.mode === 'clerk' && key) return { mode: 'clerk', clerkPublishableKey: key };
  return LOCAL;
}

let configPromise: Promise<AuthConfig> | null = null;
let configValue: AuthConfig | null = null;

/** The server's auth config (fetched once per page; local mode when it cannot be read). */
export function authConfig(): Promise<AuthConfig> {
  if (typeof window === 'undefined') return Promise.resolve(LOCAL);
  configPromise ??= fetch(apiUrl('/api/config'), { headers: { accept: 'application/json' }, cache: 'no-store' })
    .then((res) => (res.ok ? res.json() : null))
    .then(parseAuthConfig, () => LOCAL)
    .then((c) => {
      configValue = c;
      return c;
    });
  return configPromise;
}

/** The auth config once known (null while it loads). */
export function useAuthConfig(): AuthConfig | null {
  const [cfg, setCfg] = useState<AuthConfig | null>(configValue);
  useEffect(() => {
    let live = true;
    void authConfig().then((c) => live && setCfg(c));
    return () => {
      live = false;
    };
  }, []);
  return cfg;
}

// ---- the Clerk session token ----------------------------------------------------------------

type TokenSource = () => Promise<string | null>;
let source: TokenSource | null = null;
let waiters: ((s: TokenSource) => void)[] = [];

/** Clerk mode: the signed-in session's token getter (null: signed out). Returns the undo. */
export function setClerkTokenSource(s: TokenSource | null): () => void {
  source = s;
  if (s) {
    const w = waiters;
    waiters = [];
    for (const fn of w) fn(s);
  }
  return () => {
    if (source === s) source = null;
  };
}

/** A fresh Clerk session token; waits until someone is signed in. */
export async function clerkToken(): Promise<string | null> {
  const s = source ?? (await new Promise<TokenSource>((resolve) => waiters.push(resolve)));
  try {
    return await s();
  } catch {
    return null; // the server then says what is missing
  }
}

/**
 * The credentials to add to a socket.io handshake: `clerkToken` in Clerk mode (waits for a
 * sign-in), nothing more in local mode.
 */
export async function clerkHandshake(): Promise<{ clerkToken?: string }> {
  const cfg = await authConfig();
  if (cfg.mode !== 'clerk') return {};
  const t = await clerkToken();
  return t ? { clerkToken: t } : {};
}

/** Headers for API requests: `Authorization: Bearer <Clerk token>` in Clerk mode. */
export async function authHeaders(): Promise<Record<string, string>> {
  const h = await clerkHandshake();
  return h.clerkToken ? { authorization: `Bearer ${h.clerkToken}` } : {};
}
