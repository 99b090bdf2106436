'use client';
// Client side: wraps every page (app/layout.tsx). Local mode (no Clerk keys on the server, what
// tests run): renders the page as is and loads nothing else. Clerk mode (GET /api/config says so):
// loads Clerk's code lazily and wraps the page in its provider (app/lib/clerk-bridge.tsx). The page
// mounts again at that moment; viewers do not connect before the config is known (their
// handshake waits for it, auth-client.ts), so nothing is connected twice.
import { lazy, Suspense, type ReactNode } from 'react';
import { useAuthConfig } from './auth-client';

const ClerkRoot = lazy(() => import('./clerk-bridge'));
const ClerkUserButton = lazy(() => import('./clerk-bridge').then((m) => ({ default: m.ClerkUserButton })));

export function AuthProvider({ children }: { children: ReactNode }) {
  const cfg = useAuthConfig();
  if (cfg?.mode === 'clerk' && cfg.clerkPublishableKey) {
    return (
      <Suspense fallback={null}>
        <ClerkRoot publishableKey={cfg.clerkPublishableKey}>{children}</ClerkRoot>
      </Suspense>
    );
  }
  return <>{children}</>;
}

/** The signed-in account's menu in a top bar (Clerk mode); nothing in local mode. */
export function AuthSlot() {
  const cfg = useAuthConfig();
  if (cfg?.mode !== 'clerk') return null;
  return (
    <span className="auth-slot">
      <Suspense fallback={null}>
        <ClerkUserButton />
      </Suspense>
    </span>
  );
}
