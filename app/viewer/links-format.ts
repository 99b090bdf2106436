// Client side (pure): what the share-links panel and the access screens show. No DOM, no React;
// unit-tested in tests/unit/client-links.test.ts.
import { LINK_EXPIRY_CHOICES } from '../../server/auth/roles';
import type { LinkInfo, LinkRole } from '../../server/protocol';

/** The full URL of a link's site-relative path, on this page's origin. */
export function shareUrl(origin: string, path: string): string {
  return `${origin.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}

/**
 * The link id inside a share token (`ss1.<base64url JSON payload>.<mac>`), to mark "your link" in
 * the list. Display only: nothing here is verified (the server does that).
 */
export function tokenLinkId(token: string | undefined | null): string | null {
  if (!token) return null;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== 'ss1' || !parts[1]) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    const p = JSON.parse(json) as { linkId?: unknown };
    return typeof p.linkId === 'string' ? p.linkId : null;
  } catch {
    return null;
  }
}

function span(ms: number): string {
  const m = Math.round(ms / 60_000);
  if (m < 1) return 'less than a minute';
  if (m < 60) return `${m} min`;
  const h = Math.round(ms / 3_600_000);
  if (h < 48) return `${h} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

/** "never", "in 7 d", "expired 2 h ago". */
export function expiryText(expiresAt: number | null, now: number): string {
  if (expiresAt === null) return 'never expires';
  const d = expiresAt - now;
  return d > 0 ? `expires in ${span(d)}` : `expired ${span(-d)} ago`;
}

/** "just now", "5 min ago", "3 d ago". */
export function agoText(at: number, now: number): string {
  const d = Math.max(0, now - at);
  return d < 60_000 ? 'just now' : `${span(d)} ago`;
}

/** Who made a link: a name when one is known, "splatsync serve" for the printed owner link, else the id. */
export function creatorText(createdBy: string, nameOf: (userId: string) => string | undefined): string {
  if (createdBy === 'splatsync-serve') return 'splatsync serve'; // SERVE_CREATOR (server/auth/links.ts)
  return nameOf(createdBy) ?? createdBy;
}

/** What a link opens: "room main", "every room", "every scene". */
export function scopeText(link: Pick<LinkInfo, 'scene' | 'room'>): string {
  if (link.scene === '*') return 'every scene';
  if (link.room === '*') return 'every room';
  return `room ${link.room}`;
}

export const ROLE_TEXT: Record<LinkRole, string> = {
  viewer: 'sees the scene and moves their own camera; changes nothing',
  annotator: 'also makes and edits labels, selections and edits; drives shared time; exports masks',
  owner: 'also manages share links and who has access',
};

export interface LinkForm {
  role: LinkRole;
  /** An id of LINK_EXPIRY_CHOICES. */
  expiry: string;
  label: string;
  allRooms: boolean;
}

export const DEFAULT_LINK_FORM: LinkForm = { role: 'viewer', expiry: '7d', label: '', allRooms: false };

/** The `link:create` payload of the form. */
export function linkCreateRequest(f: LinkForm): { role: LinkRole; expiresInMs: number | null; label?: string; allRooms?: boolean } {
  const choice = LINK_EXPIRY_CHOICES.find((c) => c.id === f.expiry) ?? LINK_EXPIRY_CHOICES[0]!;
  const label = f.label.replace(/\s+/g, ' ').trim().slice(0, 80);
  return { role: f.role, expiresInMs: choice.ms, ...(label ? { label } : {}), ...(f.allRooms ? { allRooms: true } : {}) };
}

/** Links in list order: active first (newest first), then the rest (newest first). */
export function sortLinks(links: readonly LinkInfo[]): LinkInfo[] {
  return [...links].sort((a, b) => Number(b.status === 'active') - Number(a.status === 'active') || b.createdAt - a.createdAt);
}

export interface AccessLoss {
  title: string;
  hint: string;
}

/**
 * The blocking screen for a connection whose authority is gone or was refused (link revoked or
 * expired, access removed, sign-in needed), from the server's message and, when known, its reason.
 */
export function accessLoss(message: string, reason?: string): AccessLoss {
  const m = message.toLowerCase();
  const ask = 'Ask the person who shared it with you for a new link. Reloading this page will not help: this link no longer opens the scene.';
  if (reason === 'revoked' || /revoked|no longer active/.test(m)) return { title: 'This share link was revoked', hint: ask };
  if (reason === 'expired' || /expired/.test(m)) return { title: 'This share link has expired', hint: ask };
  if (reason === 'no_access' || /access was removed|no access/.test(m)) {
    return { title: 'Your access was removed', hint: 'The owner removed your access to this scene. Ask them for a new share link if you still need it.' };
  }
  if (reason === 'unknown_link' || /not known|no longer exists/.test(m)) {
    return { title: 'This share link no longer exists', hint: 'The server does not know this link any more (its data may have been reset). Ask the owner for a new link.' };
  }
  if (reason === 'sign_in_required' || reason === 'clerk_expired' || reason === 'clerk_invalid' || /sign in/.test(m)) {
    return { title: 'Sign in needed', hint: 'Sign in, then reload this page: the share link in its address gives you access.' };
  }
  if (reason === 'missing' || /needs a share link/.test(m)) {
    return { title: 'A share link is needed', hint: 'Open the link the owner gave you (`splatsync serve` prints the owner link in its terminal).' };
  }
  if (reason === 'malformed' || reason === 'bad_signature' || /does not match|not issued|damaged|incomplete/.test(m)) {
    return { title: 'This share link is not valid', hint: 'Check that the whole link was copied, or ask the owner for a new one.' };
  }
  return { title: 'Access denied', hint: 'Your link does not give access to this. Ask the scene owner for a new share link.' };
}
