// Security headers and request size limits (server/auth/http-security.ts).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  applySecurityHeaders, contentSecurityPolicy, PayloadTooLargeError, readBodyLimited, securityHeaders, securityHeadersFor,
} from '../../server/auth/http-security';

const directives = (csp: string) => new Map(csp.split('; ').map((d) => { const [k, ...v] = d.split(' '); return [k!, v] as const; }));

describe('security headers', () => {
  test('page CSP lets the viewer work and nothing foreign in', () => {
    const d = directives(contentSecurityPolicy({ host: 'localhost:3123' }));
    assert.deepEqual(d.get('default-src'), ["'self'"]);
    assert.deepEqual(d.get('script-src'), ["'self'", "'unsafe-inline'"], 'Next.js inline bootstrap scripts; no eval, no foreign sources');
    assert.ok(d.get('style-src')!.includes("'unsafe-inline'"));
    for (const s of ['blob:', 'data:']) assert.ok(d.get('img-src')!.includes(s), `img-src ${s} (frames via blob URLs)`);
    assert.deepEqual(d.get('connect-src'), ["'self'", 'ws://localhost:3123', 'wss://localhost:3123']);
    assert.ok(d.get('worker-src')!.includes('blob:'));
    assert.deepEqual(d.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(d.get('object-src'), ["'none'"]);
    assert.deepEqual(d.get('base-uri'), ["'none'"]);
    assert.ok(!contentSecurityPolicy().includes('unsafe-eval'));
    assert.ok(contentSecurityPolicy({ dev: true }).includes("'unsafe-eval'"));
  });

  test('odd Host headers and origins cannot inject directives', () => {
    const csp = contentSecurityPolicy({ host: "evil; script-src *", serverOrigin: "https://x.example; script-src 'unsafe-eval'" });
    assert.ok(!csp.includes('evil'));
    assert.ok(!csp.includes('x.example'));
    assert.equal(directives(csp).get('script-src')!.length, 2);
  });

  test('a separate render server and Clerk mode add exactly their origins', () => {
    const d = directives(contentSecurityPolicy({ serverOrigin: 'https://render.example.org:3123/', clerk: true, clerkFrontendApi: 'https://touching-lark-42.clerk.accounts.dev' }));
    assert.ok(d.get('connect-src')!.includes('https://render.example.org:3123'));
    assert.ok(d.get('connect-src')!.includes('wss://render.example.org:3123'));
    assert.ok(d.get('script-src')!.includes('https://touching-lark-42.clerk.accounts.dev'));
    assert.ok(d.get('script-src')!.includes('https://challenges.cloudflare.com'));
    assert.ok(d.get('connect-src')!.includes('https://touching-lark-42.clerk.accounts.dev'));
    assert.ok(d.get('img-src')!.includes('https://img.clerk.com'));
    assert.ok(d.get('frame-src')!.includes('https://challenges.cloudflare.com'));
    const local = contentSecurityPolicy();
    assert.ok(!local.includes('clerk'), 'local mode allows no Clerk hosts');
  });

  test('the other headers; API responses allow nothing', () => {
    const h = securityHeaders();
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['cross-origin-opener-policy'], 'same-origin');
    assert.equal(h['strict-transport-security'], undefined);
    assert.ok(securityHeaders({ https: true })['strict-transport-security']);
    assert.equal(securityHeaders({ kind: 'api' })['content-security-policy'], "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    const fromReq = securityHeadersFor({ headers: { host: '127.0.0.1:8080' } });
    assert.ok(fromReq['content-security-policy']!.includes('ws://127.0.0.1:8080'));
    const set: Record<string, string> = {};
    applySecurityHeaders({ setHeader: (k: string, v: string) => ((set[k] = v), undefined as never) } as never, h);
    assert.deepEqual(set, h);
  });
});

describe('request size limits', () => {
  test('a body within the limit is read; a bigger one is refused however it arrives', async () => {
    assert.equal((await readBodyLimited(Readable.from([Buffer.from('abc'), Buffer.from('def')]), 6)).toString(), 'abcdef');
    await assert.rejects(readBodyLimited(Readable.from([Buffer.alloc(4), Buffer.alloc(4)]), 6), PayloadTooLargeError);
    const declared = Object.assign(Readable.from([]), { headers: { 'content-length': '1000000' } });
    await assert.rejects(readBodyLimited(declared as never, 1000), (e: unknown) => e instanceof PayloadTooLargeError && e.status === 413 && e.code === 'too_large' && /1000 bytes/.test(e.message));
  });

  test('an oversized upload to a real server gets 413 and nothing is kept', async () => {
    let stored: Buffer | null = null;
    const server = http.createServer((req, res) => {
      readBodyLimited(req, 64 * 1024).then(
        (body) => {
          stored = body;
          res.end('ok');
        },
        (err) => {
          res.writeHead(err instanceof PayloadTooLargeError ? 413 : 500, { connection: 'close', 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: (err as Error).message, code: 'too_large' }), () => req.destroy());
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      // Chunked: no Content-Length to refuse up front.
      const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/api/imports', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        const chunk = Buffer.alloc(16 * 1024, 1);
        let sent = 0;
        const pump = () => {
          while (sent < 2 * 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      assert.equal(status.status, 413);
      assert.match(status.body, /larger than 64.0 KiB/);
      assert.equal(stored, null);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
