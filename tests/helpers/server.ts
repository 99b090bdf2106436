// Starts real Splatsync servers for tests: in-process on a free port, or the CLI as a child
// process (for what only a separate process shows: stdout, exit codes, SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { createSplatsyncServer, type ServerDeps, type SplatsyncServer } from '../../server/app';
import { PROTOCOL_VERSION, type Ack, type FramePayload, type SceneInfo } from '../../server/protocol/index';
import { SceneStore } from '../../server/scene/store';
import { createAuth, SigningSecret, type Auth } from '../../server/auth/index';
import { openDb } from '../../server/db';
import { ROOT } from './data';

/** Owner tokens of the servers tests started, by origin: `connect` presents them unless told not to. */
const ownerTokens = new Map<string, string>();
export const ownerToken = (url: string): string | undefined => ownerTokens.get(new URL(url).origin);

export interface InProcessServer {
  url: string;
  auth: Auth;
  /** A server-wide owner link token. */
  token: string;
  server: SplatsyncServer;
  close(): Promise<void>;
}

export async function startInProcess(dataDir: string, extra: Partial<ServerDeps> = {}): Promise<InProcessServer> {
  const http: Server = createServer();
  const auth = extra.auth ?? createAuth({ db: openDb(':memory:'), secret: SigningSecret.random() });
  const server = createSplatsyncServer(http, { store: new SceneStore(dataDir), backend: 'cpu', ...extra, auth });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const token = auth.serveOwnerLink().token;
  ownerTokens.set(url, token);
  return {
    url,
    auth,
    token,
    server,
    async close() {
      await server.close();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

export interface ChildServer {
  url: string;
  sceneUrl: string;
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startCli(args: string[], env: Record<string, string> = {}): Promise<ChildServer> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/splatsync.mjs'), 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const sceneUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 180 s:\n${out}`)), 180_000);
    const check = () => {
      const m = out.match(/(?:Open|Render server \(no UI\)): (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const token = new URL(sceneUrl).searchParams.get('token');
  if (token) {
    ownerTokens.set(new URL(sceneUrl).origin, token);
    ownerTokens.set(new URL(sceneUrl).origin.replace('localhost', '127.0.0.1'), token);
  }
  return {
    url: new URL(sceneUrl).origin,
    sceneUrl,
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

/**
 * Connects with `auth` as the handshake; the server's owner token is added when `auth` has no
 * `token` key (pass `token: undefined` explicitly to connect without one).
 */
export function connect(url: string, auth: Record<string, unknown> = { protocol: PROTOCOL_VERSION }): Promise<Socket> {
  if (!('token' in auth) && ownerToken(url)) auth = { ...auth, token: ownerToken(url) };
  else if ('token' in auth && auth.token === undefined) {
    auth = { ...auth };
    delete auth.token;
  }
  return new Promise((resolve, reject) => {
    const s = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => {
      s.close();
      reject(e);
    });
  });
}

export async function join(s: Socket, sceneId: string): Promise<Ack<SceneInfo>> {
  return s.timeout(60_000).emitWithAck('scene:join', { sceneId });
}

export function nextEvent<T>(s: Socket, event: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.off(event, on);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    };
    s.once(event, on);
  });
}

export const nextFrame = (s: Socket, timeoutMs?: number) => nextEvent<FramePayload>(s, 'frame', timeoutMs);
