// Share-link tokens (DESIGN.md §6): `ss1.<payload>.<signature>`, where payload is the base64url
// of the JSON `{v, scene, room, role, exp, linkId}` and signature the base64url of
// HMAC-SHA256(key, "ss1." + payload), key derived from the data dir's secret (secret.ts).
//
// Why not a JWT: a JWT HS256 library would be a new dependency for what is ~40 lines here, and a
// hand-rolled JWT parser invites the well-known JWT pitfalls (`alg: none`, algorithm confusion
// with RS256 keys) for no benefit: these tokens are only ever made and read by this server, so
// interoperability buys nothing. The format has one algorithm, fixed by the version prefix, and
// verification (a) checks the structure, (b) compares the MAC in constant time before looking at
// the payload at all, (c) only then parses and validates the JSON, (d) checks expiry.
//
// A token is a bearer credential: whoever holds it has its role. It does not replace the link
// table: the server also checks the link is still active (links.ts), so revocation is immediate.
// Tokens are deterministic (same link, same token), so the server can show a link again without
// storing the token.
import crypto from 'node:crypto';
import { z } from 'zod';
import { Role } from './roles';
import { checkScopeRoom, checkScopeScene } from './ids';
import type { SigningSecret } from './secret';
import { Id } from '../protocol/room';

export const TOKEN_PREFIX = 'ss1';
/** Longest token accepted; real ones are ~200 characters. */
export const MAX_TOKEN_CHARS = 1024;

export const LinkPayload = z
  .object({
    v: z.literal(1),
    scene: z.string().refine((s) => checkScopeScene(s).ok, 'bad scene'),
    room: z.string().refine((s) => checkScopeRoom(s).ok, 'bad room'),
    role: Role,
    /** Expiry, ms since the epoch; null = never. */
    exp: z.union([z.number().int().nonnegative(), z.null()]),
    linkId: Id,
  })
  .strict();
export type LinkPayload = z.infer<typeof LinkPayload>;

export type TokenFailureReason = 'malformed' | 'bad_signature' | 'expired';
export type TokenCheck = { ok: true; payload: LinkPayload } | { ok: false; reason: TokenFailureReason; message: string };

const MESSAGES: Record<TokenFailureReason, string> = {
  malformed: 'this share link is damaged or incomplete: copy the whole link again',
  bad_signature: 'this share link was not issued by this server (or its data dir was reset): ask the owner for a new link',
  expired: 'this share link has expired: ask the owner for a new link',
};

export function tokenFailure(reason: TokenFailureReason): { ok: false; reason: TokenFailureReason; message: string } {
  return { ok: false, reason, message: MESSAGES[reason] };
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Signs and verifies link tokens with a key derived from the data dir's secret. */
export class TokenSigner {
  readonly #key: Buffer;

  constructor(secret: SigningSecret) {
    this.#key = secret.derive('link-token-v1');
  }

  #mac(signedPart: string): Buffer {
    return crypto.createHmac('sha256', this.#key).update(signedPart).digest();
  }

  sign(payload: LinkPayload): string {
    const checked = LinkPayload.parse(payload);
    // Fixed key order, so a link always yields the same token.
    const json = JSON.stringify({ v: checked.v, scene: checked.scene, room: checked.room, role: checked.role, exp: checked.exp, linkId: checked.linkId });
    const body = Buffer.from(json, 'utf8').toString('base64url');
    const signed = `${TOKEN_PREFIX}.${body}`;
    return `${signed}.${this.#mac(signed).toString('base64url')}`;
  }

  /** Checks a token's structure, signature and expiry (not revocation: see LinkStore). */
  verify(token: unknown, now: number = Date.now()): TokenCheck {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) return tokenFailure('malformed');
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return tokenFailure('malformed');
    const [prefix, body, sig] = parts as [string, string, string];
    if (!B64URL.test(body) || !B64URL.test(sig)) return tokenFailure('malformed');
    const given = Buffer.from(sig, 'base64url');
    const expected = this.#mac(`${prefix}.${body}`);
    // Length is public (always 32 for a real MAC); timingSafeEqual needs equal lengths.
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return tokenFailure('bad_signature');
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return tokenFailure('malformed');
    }
    const parsed = LinkPayload.safeParse(json);
    if (!parsed.success) return tokenFailure('malformed');
    if (parsed.data.exp !== null && parsed.data.exp <= now) return tokenFailure('expired');
    return { ok: true, payload: parsed.data };
  }

  toJSON(): string {
    return '[TokenSigner]';
  }
}

/** Whether a string looks like one of our link tokens (as opposed to a Clerk JWT). */
export function isLinkToken(s: string): boolean {
  return s.startsWith(`${TOKEN_PREFIX}.`);
}

/**
 * Removes credentials from text before it is logged: `token=...` query parameters, `ss1.` link
 * tokens, `Bearer ...` values and anything shaped like a JWT.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/([?&#](?:token|__clerk_db_jwt|__session)=)[^&#\s"']*/gi, '$1[redacted]')
    .replace(/\bss1\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?/g, 'ss1.[redacted]')
    .replace(/\b(Bearer\s+)[^\s"',;]+/gi, '$1[redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[jwt redacted]');
}
