// Share links and access (issue 7, DESIGN.md §6): owner-only socket events. The server answers
// with links as the owner may see them (active ones with their token, to copy again).
import { z } from 'zod';
import { Id } from './room';

export const LinkRole = z.enum(['owner', 'annotator', 'viewer']);
export type LinkRole = z.infer<typeof LinkRole>;

/** Longest expiry a link may be given (a year); null = never. */
export const MAX_LINK_EXPIRY_MS = 366 * 86_400_000;

export const LinkCreate = z
  .object({
    role: LinkRole,
    /** Milliseconds from now; null = never expires. */
    expiresInMs: z.union([z.number().int().min(60_000).max(MAX_LINK_EXPIRY_MS), z.null()]),
    label: z.string().max(80).optional(),
    /** Scope: this room (default) or every room of the scene. */
    allRooms: z.boolean().optional(),
  })
  .strict();

export const LinkRevoke = z.object({ linkId: z.string().min(1).max(80) }).strict();
export const AccessRevoke = z.object({ userId: z.string().min(1).max(200) }).strict();
export const LinkList = z.object({ includeInactive: z.boolean().optional() }).strict();

export interface LinkInfo {
  linkId: string;
  scene: string;
  room: string;
  role: LinkRole;
  label: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  status: string;
  /** Site-relative URL that opens the link (active links only). */
  path: string | null;
}

export interface AccessInfo {
  userId: string;
  name: string;
  role: LinkRole;
  linkId: string;
  grantedAt: number;
}

export const RoomIdParam = Id;
