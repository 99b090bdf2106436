'use client';
// Client side: share links and who has access, for owners (issue 7, docs/AUTH.md). No DOM: the
// LinksPanel reads its snapshot (subscribe / getSnapshot) and calls its actions. Every call goes
// over the viewer's own socket, so it is about the scene and room that socket joined; the server
// checks the owner role and scope on each (server/app.ts registerLinkEvents):
//   link:create {role, expiresInMs, label?, allRooms?} -> LinkInfo (with its site-relative path)
//   link:list {includeInactive?} -> LinkInfo[] (the room's links and the scene-wide ones)
//   link:revoke {linkId} -> LinkInfo; sockets that joined with it are dropped at once
//   access:list {} -> AccessInfo[] (Clerk mode: who redeemed a link); access:revoke {userId}
import type { Socket } from 'socket.io-client';
import type { AccessInfo, Ack, ClientToServer, LinkInfo, ServerToClient } from '../../server/protocol';
import { linkCreateRequest, sortLinks, type LinkForm } from './links-format';

type ClientSocket = Socket<ServerToClient, ClientToServer>;

const ACK_TIMEOUT_MS = 15000;

export interface LinksSnapshot {
  links: readonly LinkInfo[];
  /** Revoked and expired links are listed too. */
  showInactive: boolean;
  loading: boolean;
  /** The link just created (its URL is shown to copy). */
  created: LinkInfo | null;
  creating: boolean;
  /** Link ids being revoked. */
  revoking: readonly string[];
  /** Clerk mode: who has access through a link (null: not loaded / not Clerk mode). */
  access: readonly AccessInfo[] | null;
  /** The last failure, shown in the panel. */
  error: string | null;
}

export class LinksSession {
  private state: LinksSnapshot = { links: [], showInactive: false, loading: false, created: null, creating: false, revoking: [], access: null, error: null };
  private readonly listeners = new Set<() => void>();
  private listSeq = 0;

  constructor(private readonly socket: () => ClientSocket | null) {}

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  readonly getSnapshot = (): LinksSnapshot => this.state;

  private patch(p: Partial<LinksSnapshot>): void {
    this.state = { ...this.state, ...p };
    for (const fn of this.listeners) fn();
  }

  /** One acknowledged request; resolves to its data, or null after recording why it failed. */
  private request<T>(event: keyof ClientToServer, payload: unknown): Promise<T | null> {
    const socket = this.socket();
    if (!socket?.connected) {
      this.patch({ error: 'Not connected to the server: wait for the connection (top right), then try again.' });
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      // the event map types every ack alike enough for this generic helper
      (socket.timeout(ACK_TIMEOUT_MS) as unknown as { emit: (e: string, p: unknown, cb: (err: Error | null, res: Ack<T>) => void) => void }).emit(
        event,
        payload,
        (err, res) => {
          if (err) {
            this.patch({ error: `No answer to ${event} within ${ACK_TIMEOUT_MS / 1000} s.` });
            return resolve(null);
          }
          if (!res.ok) {
            this.patch({ error: res.message });
            return resolve(null);
          }
          resolve(res.data);
        },
      );
    });
  }

  /** Reloads the list (and, in Clerk mode, who has access). */
  async refresh(clerk = false): Promise<void> {
    const seq = ++this.listSeq;
    this.patch({ loading: true });
    const links = await this.request<LinkInfo[]>('link:list', { includeInactive: this.state.showInactive });
    if (seq !== this.listSeq) return;
    const access = clerk ? await this.request<AccessInfo[]>('access:list', {}) : null;
    if (seq !== this.listSeq) return;
    // failures stay in `error` (set by request) until the next action or dismissal
    this.patch({ loading: false, ...(links ? { links: sortLinks(links) } : {}), ...(clerk ? { access } : {}) });
  }

  setShowInactive(on: boolean, clerk = false): void {
    if (on === this.state.showInactive) return;
    this.patch({ showInactive: on });
    void this.refresh(clerk);
  }

  async create(form: LinkForm, clerk = false): Promise<LinkInfo | null> {
    if (this.state.creating) return null;
    this.patch({ creating: true, error: null });
    const link = await this.request<LinkInfo>('link:create', linkCreateRequest(form));
    this.patch({ creating: false, ...(link ? { created: link } : {}) });
    if (link) void this.refresh(clerk);
    return link;
  }

  dismissCreated(): void {
    if (this.state.created) this.patch({ created: null });
  }

  async revoke(linkId: string, clerk = false): Promise<boolean> {
    if (this.state.revoking.includes(linkId)) return false;
    this.patch({ revoking: [...this.state.revoking, linkId], error: null });
    const res = await this.request<LinkInfo>('link:revoke', { linkId });
    this.patch({
      revoking: this.state.revoking.filter((id) => id !== linkId),
      ...(res && this.state.created?.linkId === linkId ? { created: null } : {}),
    });
    await this.refresh(clerk);
    return res !== null;
  }

  async revokeAccess(userId: string): Promise<boolean> {
    this.patch({ error: null });
    const res = await this.request<{ removed: number }>('access:revoke', { userId });
    await this.refresh(true);
    return res !== null;
  }

  clearError(): void {
    if (this.state.error) this.patch({ error: null });
  }
}
