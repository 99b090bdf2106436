// Client side: the local-mode identity (DESIGN.md §6): a random user id and an editable display
// name, kept in localStorage and sent in the socket.io handshake as `auth.user`. A first visit
// gets a default name ("Guest 42") marked as not chosen; the viewer then asks for a name
// without blocking anything (NamePrompt.tsx), and keeping the default counts as choosing it.
import { Id } from '../../server/protocol';

export interface UserIdentity {
  id: string;
  name: string;
}

const KEY = 'splatsync.user';
const MAX_NAME = 60;

function randomId(prefix: string, n = 16): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  let s = prefix;
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

/** A fresh id for a label, selection or op (protocol `Id`: 1-40 of A-Z a-z 0-9 _ -). */
export function newId(prefix: string): string {
  return randomId(prefix, 14);
}

/** Trimmed, at most 60 characters; null when nothing is left. */
export function cleanName(name: string): string | null {
  const s = name.replace(/\s+/g, ' ').trim().slice(0, MAX_NAME);
  return s.length ? s : null;
}

function storage(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.localStorage : null;
  } catch {
    return null; // storage disabled (privacy settings): the identity lasts for this page only
  }
}

/** The identity kept in this browser, created on first use. */
export function loadIdentity(): UserIdentity {
  const store = storage();
  try {
    const saved = JSON.parse(store?.getItem(KEY) ?? 'null') as Partial<UserIdentity> | null;
    const name = typeof saved?.name === 'string' ? cleanName(saved.name) : null;
    if (saved && typeof saved.id === 'string' && Id.safeParse(saved.id).success && name) return { id: saved.id, name };
  } catch {
    // unreadable: make a new one
  }
  const fresh = { id: randomId('u'), name: `Guest ${1 + Math.floor(Math.random() * 99)}` };
  write({ ...fresh, chosen: false }); // a default name: the viewer asks for a real one (NamePrompt)
  return fresh;
}

function write(value: UserIdentity & { chosen?: boolean }): void {
  try {
    storage()?.setItem(KEY, JSON.stringify(value));
  } catch {
    // quota or disabled storage: keep it for this page
  }
}

/** Saves the identity; its name counts as chosen by the user from then on. */
export function saveIdentity(user: UserIdentity): void {
  write({ id: user.id, name: user.name });
}

/**
 * Whether this browser still has the default name it was given on first use (the guest has not
 * chosen one). Identities saved before this flag existed count as chosen.
 */
export function nameIsDefault(): boolean {
  try {
    const saved = JSON.parse(storage()?.getItem(KEY) ?? 'null') as { chosen?: unknown } | null;
    return saved?.chosen === false;
  } catch {
    return false;
  }
}
