'use client';
// Client side, Clerk mode only: this module (and @clerk/nextjs with it) is imported lazily by
// AuthProvider / AuthSlot when GET /api/config says mode 'clerk', so local mode never loads it.
//
// ClerkRoot: Clerk's provider with the publishable key known at run time (auth-client.ts says why
// it is not taken from the build's environment), a bridge that hands the signed-in session's
// token getter to auth-client (sockets and fetches ask it for a fresh token at each connect),
// and, while nobody is signed in, a full-page sign-in (a share link grants its role to whoever
// signs in with it; the link stays in the page URL, so it is redeemed at the next connect), or
// a screen saying that Clerk's script could not load.
import { ClerkFailed, ClerkProvider, SignIn, UserButton, useAuth } from '@clerk/nextjs';
import { useEffect, useState, type ReactNode } from 'react';
import { setClerkTokenSource } from './auth-client';
import './auth.css';

function TokenBridge() {
  const { isLoaded, isSignedIn, getToken } = useAuth();
  useEffect(() => {
    if (!isLoaded || !isSignedIn) return;
    // skipCache: a socket (re)connecting wants a token valid for the whole handshake
    return setClerkTokenSource(() => getToken({ skipCache: true }));
  }, [isLoaded, isSignedIn, getToken]);
  return null;
}

function SignInGate() {
  const { isLoaded, isSignedIn } = useAuth();
  const [here, setHere] = useState<string | null>(null);
  useEffect(() => setHere(window.location.href), []);
  if (!isLoaded || isSignedIn || !here) return null;
  const withLink = new URL(here).searchParams.has('token');
  return (
    <div className="auth-gate" role="dialog" aria-modal="true" aria-label="sign in" data-testid="sign-in-gate">
      <div className="auth-gate-card">
        <div className="auth-gate-title">Sign in to Splatsync</div>
        <div className="muted small auth-gate-text">
          {withLink
            ? 'This share link gives its role to whoever signs in with it. Sign in to open the scene; later visits need only the sign-in.'
            : 'This server needs a signed-in account with access. If you were sent a share link, open it, then sign in.'}
        </div>
        <SignIn routing="hash" forceRedirectUrl={here} signUpForceRedirectUrl={here} />
      </div>
    </div>
  );
}

export default function ClerkRoot({ publishableKey, children }: { publishableKey: string; children: ReactNode }) {
  return (
    <ClerkProvider publishableKey={publishableKey}>
      <TokenBridge />
      {children}
      <SignInGate />
      <ClerkFailed>
        <div className="auth-gate" role="alert" data-testid="sign-in-failed">
          <div className="auth-gate-card">
            <div className="auth-gate-title">Sign-in could not load</div>
            <div className="muted small auth-gate-text">
              This server uses Clerk for sign-in, and Clerk&apos;s script did not load (no network, a blocker, or a wrong publishable key). Check the
              connection and reload the page.
            </div>
            <button className="btn" onClick={() => window.location.reload()}>
              Reload
            </button>
          </div>
        </div>
      </ClerkFailed>
    </ClerkProvider>
  );
}

/** The account menu (sign out, profile) for the top bar. */
export function ClerkUserButton() {
  const { isSignedIn } = useAuth();
  return isSignedIn ? <UserButton /> : null;
}
