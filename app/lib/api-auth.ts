'use client';
// Client side: the API routes the browser calls itself (export downloads, reference-mask uploads,
// dataset photos) and their credentials.
//
// Decision: credentials travel in headers, never in a URL. The share-link token goes in
// `X-Splatsync-Token`; in Clerk mode the session token goes as `Authorization: Bearer`
// (auth-client.ts authHeaders). A URL with `?token=` ends up in the browser's download list,
// in proxy and server logs, and in anything the user copies the link into; a header does not. Downloads are
// therefore fetched (with progress, since the length is known) and handed to the browser as a
// blob: a mask zip of 150 views is a few MB. Only files too large to hold in memory (a .ply of
// a million Gaussians with features can pass 1 GB) fall back to a plain link, which the browser
// streams to disk (see fetchDownload).
import { authHeaders } from './auth-client';
import { apiUrl, pageToken } from './server-url';

/** Headers that authenticate this page to the API (link token and/or Clerk session). */
export async function apiHeaders(): Promise<Record<string, string>> {
  const h: Record<string, string> = { ...(await authHeaders()) };
  const token = pageToken();
  if (token) h['x-splatsync-token'] = token;
  return h;
}

/** An API error answer ({error, code} JSON) as an Error with `status` and `code`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Reads an error answer's message (JSON {error} when it is one, else the status text). */
export async function apiError(res: Response, what: string): Promise<ApiError> {
  let message = `${what}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  let code: string | undefined;
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as { error?: unknown; code?: unknown };
      if (typeof body.error === 'string') message = body.error;
      if (typeof body.code === 'string') code = body.code;
    } catch {
      if (text.trim()) message = `${message}: ${text.trim().slice(0, 300)}`;
    }
  } catch {
    // no body
  }
  return new ApiError(message, res.status, code);
}

/** What to do after an API call failed with this status / code. */
export function apiHint(status: number, code?: string): string {
  if (status === 401) return 'Your link or session is not accepted any more. Reload the page with a valid share link, or sign in again.';
  if (status === 403) return 'Your role in this room does not allow it. Ask the owner for an annotator link.';
  if (status === 404) return 'It is not there (any more). Export again; downloads are kept for an hour and not across server restarts.';
  if (status === 413 || code === 'too_large') return 'The file is too large. Upload only the frames and labels you want to evaluate.';
  if (status === 429 || code === 'rate_limited') return 'Too many requests. Wait a moment, then try again.';
  if (status === 0) return 'The server could not be reached. Check the connection (top right), then try again.';
  if (status >= 500) return 'The server failed on this request. Try again; if it keeps failing, check the server log.';
  return 'Check the file, then try again.';
}

/** The file name of a `Content-Disposition: attachment; filename="..."` header, or null. */
export function filenameFromDisposition(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return sanitizeFileName(decodeURIComponent(star[1]!.trim()));
    } catch {
      // fall through to the plain form
    }
  }
  const m = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
  const name = m ? (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1') : '';
  return name ? sanitizeFileName(name) : null;
}

/** A file name without directories or control characters (the browser sanitizes too). */
export function sanitizeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean && clean !== '.' && clean !== '..' ? clean : 'download';
}

/** Downloads above this size go to a plain link (streamed to disk by the browser), not a blob. */
export const MAX_BLOB_DOWNLOAD_BYTES = 1024 * 1024 * 1024;

export interface DownloadResult {
  name: string;
  bytes: number;
  /** 'blob': fetched and saved from memory; 'link': handed to the browser as a link (large files). */
  via: 'blob' | 'link';
}

/**
 * Fetches a site-relative download (e.g. `/api/downloads/<id>`) with the page's credentials and
 * saves it under the server's file name. `onProgress` gets the fraction received (null while
 * the length is unknown).
 */
export async function fetchDownload(path: string, opts: { fallbackName: string; onProgress?: (fraction: number | null, bytes: number) => void; signal?: AbortSignal }): Promise<DownloadResult> {
  const ctrl = new AbortController();
  const abort = () => ctrl.abort();
  opts.signal?.addEventListener('abort', abort);
  try {
    let res: Response;
    try {
      res = await fetch(apiUrl(path), { headers: await apiHeaders(), signal: ctrl.signal, cache: 'no-store' });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new ApiError(`the download could not be fetched (${(err as Error).message})`, 0);
    }
    if (!res.ok) throw await apiError(res, 'download');
    const name = filenameFromDisposition(res.headers.get('content-disposition')) ?? opts.fallbackName;
    const total = Number(res.headers.get('content-length')) || 0;
    if (total > MAX_BLOB_DOWNLOAD_BYTES) {
      ctrl.abort();
      saveLink(path, name);
      return { name, bytes: total, via: 'link' };
    }
    const chunks: Uint8Array[] = [];
    let received = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.byteLength;
        opts.onProgress?.(total ? Math.min(1, received / total) : null, received);
      }
    } else {
      const buf = new Uint8Array(await res.arrayBuffer());
      chunks.push(buf);
      received = buf.byteLength;
    }
    if (total && received !== total) throw new ApiError(`the download was cut short (${received} of ${total} bytes)`, 0);
    opts.onProgress?.(1, received);
    saveBlob(new Blob(chunks as BlobPart[], { type: res.headers.get('content-type') ?? 'application/octet-stream' }), name);
    return { name, bytes: received, via: 'blob' };
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
}

/** Hands a blob to the browser as a download named `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  clickLink(url, name);
  // revoking at once can cancel the download in some browsers; a minute is plenty
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Large files only: a link the browser streams to disk (the link token has to be in it). */
function saveLink(path: string, name: string): void {
  const token = pageToken();
  const url = new URL(apiUrl(path), window.location.href);
  if (token) url.searchParams.set('token', token);
  clickLink(url.toString(), name);
}

function clickLink(href: string, name: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * POSTs `body` to `path` with the page's credentials (XMLHttpRequest: fetch cannot report upload
 * progress). Resolves to the status and parsed JSON body (null when the body is not JSON).
 */
export async function postWithProgress(
  path: string,
  body: Blob,
  opts: { contentType: string; onUpload?: (p: UploadProgress) => void; onUploaded?: () => void; signal?: AbortSignal },
): Promise<{ status: number; json: unknown }> {
  const headers = await apiHeaders();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', apiUrl(path));
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('content-type', opts.contentType);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => opts.onUpload?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : body.size });
    xhr.upload.onload = () => opts.onUploaded?.();
    xhr.onload = () => {
      let json: unknown = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        json = null;
      }
      resolve({ status: xhr.status, json });
    };
    xhr.onerror = () => reject(new ApiError('the upload could not reach the server (connection lost, or the server closed it)', 0));
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    opts.signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(body);
  });
}
