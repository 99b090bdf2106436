// Client side: where the Splatsync server is. Same origin by default (one process serves the
// UI and socket.io); NEXT_PUBLIC_SPLATSYNC_SERVER (inlined at build time) points a separately
// deployed UI at a render server, e.g. "https://render.example.org:3123".

/** Server origin without a trailing slash; '' = this page's origin. */
export const SERVER_URL: string = (process.env.NEXT_PUBLIC_SPLATSYNC_SERVER ?? '').replace(/\/+$/, '');

export function apiUrl(path: string): string {
  return `${SERVER_URL}${path}`;
}

/** The share-link token of this page (`?token=`), if any. Browser only. */
export function pageToken(): string | undefined {
  if (typeof window === 'undefined') return undefined;
  return new URLSearchParams(window.location.search).get('token') ?? undefined;
}

/** `?token=...` to append to in-app links so the share token survives navigation; '' when none. */
export function tokenQuery(token: string | undefined): string {
  return token ? `?token=${encodeURIComponent(token)}` : '';
}

/** The room of this page's share link (`?room=`), if any. Browser only. */
export function pageRoom(): string | undefined {
  if (typeof window === 'undefined') return undefined;
  const room = new URLSearchParams(window.location.search).get('room');
  return room && /^[A-Za-z0-9_-]{1,40}$/.test(room) ? room : undefined;
}

/**
 * `?room=...&token=...` for in-app links, so a share link's token and room survive navigation
 * (a link for one room opens only that room); '' when there is neither.
 */
export function shareQuery(token: string | undefined, room: string | undefined): string {
  const q = new URLSearchParams();
  if (room) q.set('room', room);
  if (token) q.set('token', token);
  const s = q.toString();
  return s ? `?${s}` : '';
}
