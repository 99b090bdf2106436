// Security headers for every HTTP response, and a size-limited body reader.
//
// CSP decisions:
// - script-src 'self' 'unsafe-inline': Next.js (app router, `next build`) puts its bootstrap and
//   RSC payload in inline <script> tags (`self.__next_f.push(...)`), also in the prerendered
//   static pages (.next/server/app/*.html), which cannot carry a per-request nonce. Nonces would
//   need every page rendered dynamically by a middleware that sets the nonce; hashes are useless
//   for per-request payloads. So inline scripts are allowed, but nothing from other origins
//   (except Clerk's in Clerk mode) and no eval ('unsafe-eval' only with `dev`, which React's dev
//   build needs). The XSS protection this keeps: no foreign script sources, no plugins
//   (object-src 'none'), no <base> hijack, no framing, no form posts elsewhere, and connect-src
//   limits where an injected script could send data.
// - style-src 'unsafe-inline': React style={} attributes and Next/Clerk injected styles.
// - img-src blob: data:: the viewer shows frames via blob URLs / ImageBitmap; data: for icons.
// - worker-src blob:: Clerk (and three.js helpers) may start blob workers.
// - connect-src 'self' plus explicit ws(s)://<host> (older Safari does not let 'self' match
//   websockets) plus the separately deployed render server when NEXT_PUBLIC_SPLATSYNC_SERVER is set.
// - WebGL needs no CSP allowance; shaders are strings compiled by the GPU driver.
// - Clerk mode adds its Frontend API (from the publishable key), img.clerk.com, Cloudflare's bot
//   challenge and Clerk's fraud protection hosts, as Clerk documents.
// Referrer-Policy no-referrer: share tokens live in page URLs (`?token=`); no referrer means they
// never leak to another site through the Referer header.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

export interface SecurityHeaderOptions {
  /** 'page' (HTML from Next.js) or 'api' (JSON, downloads): api gets a CSP that allows nothing. */
  kind?: 'page' | 'api';
  /** The Clerk Frontend API origin when in Clerk mode (ClerkConfig.frontendApi); absent = local mode. */
  clerkFrontendApi?: string | null;
  /** Whether Clerk mode is on (adds Clerk's fixed hosts even when the Frontend API is unknown). */
  clerk?: boolean;
  /** A separately deployed render server the pages talk to (NEXT_PUBLIC_SPLATSYNC_SERVER). */
  serverOrigin?: string | null;
  /** The request's Host header (for explicit same-origin websocket sources); ignored if odd. */
  host?: string | null;
  /** Served over HTTPS: adds Strict-Transport-Security. */
  https?: boolean;
  /** `next dev`: allows eval and the HMR websocket. */
  dev?: boolean;
}

const CLERK_PROTECT = 'https://*.protect.clerk.com';
const CLOUDFLARE_CHALLENGES = 'https://challenges.cloudflare.com';

const HOST_RE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const ORIGIN_RE = /^https?:\/\/(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function wsOf(origin: string): string {
  return origin.replace(/^http/, 'ws');
}

/** The Content-Security-Policy value for `opts`. */
export function contentSecurityPolicy(opts: SecurityHeaderOptions = {}): string {
  if (opts.kind === 'api') return "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
  const d: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'", "'unsafe-inline'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'blob:', 'data:'],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'media-src': ["'self'", 'blob:'],
    'worker-src': ["'self'", 'blob:'],
    'manifest-src': ["'self'"],
    'frame-src': ["'none'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
  if (opts.host && HOST_RE.test(opts.host)) d['connect-src']!.push(`ws://${opts.host}`, `wss://${opts.host}`);
  const server = opts.serverOrigin?.replace(/\/+$/, '');
  if (server && ORIGIN_RE.test(server)) {
    d['connect-src']!.push(server, wsOf(server));
    d['img-src']!.push(server);
  }
  if (opts.clerk || opts.clerkFrontendApi) {
    const fapi = opts.clerkFrontendApi && ORIGIN_RE.test(opts.clerkFrontendApi) ? [opts.clerkFrontendApi] : [];
    d['script-src']!.push(...fapi, CLOUDFLARE_CHALLENGES, CLERK_PROTECT);
    d['connect-src']!.push(...fapi, `${CLERK_PROTECT}:*`, 'https://img.clerk.com');
    d['img-src']!.push('https://img.clerk.com');
    d['frame-src'] = [CLOUDFLARE_CHALLENGES, CLERK_PROTECT, ...fapi];
  }
  if (opts.dev) {
    d['script-src']!.push("'unsafe-eval'");
    d['connect-src']!.push('ws:', 'wss:');
  }
  if (opts.https) d['upgrade-insecure-requests'] = [];
  return Object.entries(d)
    .map(([k, v]) => (v.length ? `${k} ${[...new Set(v)].join(' ')}` : k))
    .join('; ');
}

/** Every security header for one response, as a plain header map. */
export function securityHeaders(opts: SecurityHeaderOptions = {}): Record<string, string> {
  const h: Record<string, string> = {
    'content-security-policy': contentSecurityPolicy(opts),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    // Clerk's OAuth sign-in may use popups that must be able to talk back.
    'cross-origin-opener-policy': opts.clerk || opts.clerkFrontendApi ? 'same-origin-allow-popups' : 'same-origin',
    'cross-origin-resource-policy': 'same-site',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()',
    'x-robots-tag': 'noindex, nofollow',
    'x-dns-prefetch-control': 'off',
  };
  if (opts.https) h['strict-transport-security'] = 'max-age=31536000; includeSubDomains';
  return h;
}

/** `securityHeaders` with `host` taken from the request (kind decided by the caller). */
export function securityHeadersFor(req: Pick<IncomingMessage, 'headers'>, opts: Omit<SecurityHeaderOptions, 'host'> = {}): Record<string, string> {
  const host = req.headers.host;
  return securityHeaders({ ...opts, host: typeof host === 'string' ? host : null });
}

/** Sets the headers on a response (before Next.js or a route writes it). */
export function applySecurityHeaders(res: Pick<ServerResponse, 'setHeader'>, headers: OutgoingHttpHeaders | Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) res.setHeader(k, v as string);
}

/** A request body larger than allowed: answer 413 with `connection: close`, then destroy the request. */
export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError';
  readonly status = 413;
  readonly code = 'too_large' as const;
  constructor(readonly limit: number) {
    super(`the request body is larger than ${formatBytes(limit)}`);
  }
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** Throws PayloadTooLargeError when the declared Content-Length is over `limit` (before reading). */
export function checkContentLength(req: Pick<IncomingMessage, 'headers'>, limit: number): void {
  const raw = req.headers['content-length'];
  if (raw === undefined) return;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) return; // node's parser refuses malformed lengths itself
  if (n > limit) throw new PayloadTooLargeError(limit);
}

/**
 * Reads a request body into memory, refusing (PayloadTooLargeError) as soon as it would exceed
 * `limit` bytes, whatever Content-Length claims (chunked uploads have none). Stops reading on
 * refusal; the caller answers 413 and closes the connection.
 */
export function readBodyLimited(req: IncomingMessage | NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  if ('headers' in req) {
    try {
      checkContentLength(req, limit);
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const cleanup = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      if (done) return;
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > limit) {
        done = true;
        cleanup();
        req.pause();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(b);
    };
    const onEnd = () => {
      if (done) return;
      done = true;
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      if (done) return;
      done = true;
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
