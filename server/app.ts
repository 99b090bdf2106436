// The Splatsync server: socket.io (scenes, views, frames) and the small HTTP API, on an
// existing http.Server. Dependencies are injected so tests run the real thing on a free port.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { Server as IOServer, type Socket } from 'socket.io';
import type { z } from 'zod';
import {
  BakeRequest, describeZodError, FrameAck, Handshake, ImportRequest, JoinRequest, PROTOCOL_VERSION, ViewRequest,
  type JobStarted,
  type Ack, type ClientToServer, type ErrorCode, type SceneInfo, type ServerToClient,
} from './protocol/index';
import { FrameScheduler } from './render/scheduler';
import { SceneRuntime, type BackendName } from './render/runtime';
import { SceneNotFoundError, type SceneStore } from './scene/store';
import { VERSION } from './version';
import { JobRunner } from './jobs';
import { importModel } from './import/index';
import { bakeScene } from './import/bake';

/** Largest socket.io message accepted (bytes); bigger ones close the connection. */
export const MAX_MESSAGE_BYTES = 1_000_000;

export interface ServerDeps {
  store: SceneStore;
  backend: BackendName;
  /** Next.js request handler; absent with --no-ui. */
  ui?: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  log?: (msg: string) => void;
}

export interface SplatsyncServer {
  io: IOServer<ClientToServer, ServerToClient>;
  scheduler: FrameScheduler;
  close(): Promise<void>;
}

type ClientSocket = Socket<ClientToServer, ServerToClient, Record<string, never>, { sceneId?: string }>;

export function createSplatsyncServer(http: HttpServer, deps: ServerDeps): SplatsyncServer {
  const log = deps.log ?? (() => {});
  const runtimes = new Map<string, Promise<SceneRuntime>>();
  const scheduler = new FrameScheduler();
  const jobs = new JobRunner();

  const runtimeFor = (id: string): Promise<SceneRuntime> => {
    let p = runtimes.get(id);
    if (!p) {
      p = SceneRuntime.load(deps.store, id, deps.backend).then((rt) => {
        rt.deform?.onExact((t) => scheduler.refresh(rt, t));
        return rt;
      });
      runtimes.set(id, p);
      p.catch(() => runtimes.delete(id)); // let a later join retry
    }
    return p;
  };

  http.on('request', (req, res) => {
    void handleHttp(req, res, deps).catch((err) => {
      log(`http error: ${(err as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    });
  });

  const io = new IOServer<ClientToServer, ServerToClient>(http, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    serveClient: false,
  });

  io.use((socket, next) => {
    const hs = Handshake.safeParse(socket.handshake.auth);
    if (!hs.success) return next(new Error(`bad handshake: ${describeZodError(hs.error)}`));
    if (hs.data.protocol !== PROTOCOL_VERSION) {
      return next(new Error(`protocol_mismatch: server speaks protocol ${PROTOCOL_VERSION}, client ${hs.data.protocol}; reload the page`));
    }
    next();
  });

  io.on('connection', (raw) => {
    const socket = raw as ClientSocket;
    const fail = (event: string, code: ErrorCode, message: string) => socket.emit('error', { code, message, event });

    socket.on('scene:join', async (payload, ack) => {
      const reply = typeof ack === 'function' ? ack : (_: Ack<SceneInfo>) => {};
      const parsed = JoinRequest.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: describeZodError(parsed.error) });
      try {
        const runtime = await runtimeFor(parsed.data.sceneId);
        if (!socket.connected) return;
        if (socket.data.sceneId) void socket.leave(`scene:${socket.data.sceneId}`);
        socket.data.sceneId = runtime.id;
        void socket.join(`scene:${runtime.id}`);
        scheduler.addClient(socket.id, runtime, {
          frame: (f) => socket.emit('frame', f),
          error: (message) => fail('view:set', 'internal', message),
        });
        reply({ ok: true, data: runtime.info() });
      } catch (err) {
        const notFound = err instanceof SceneNotFoundError;
        reply({ ok: false, code: notFound ? 'not_found' : 'internal', message: (err as Error).message });
      }
    });

    const validated = <S extends z.ZodType>(event: string, schema: S, payload: unknown): z.infer<S> | null => {
      const parsed = schema.safeParse(payload);
      if (!parsed.success) {
        fail(event, 'bad_request', `${event}: ${describeZodError(parsed.error)}`);
        return null;
      }
      if (!scheduler.has(socket.id)) {
        fail(event, 'not_joined', `${event}: join a scene first (scene:join)`);
        return null;
      }
      return parsed.data;
    };

    socket.on('view:set', (payload) => {
      const req = validated('view:set', ViewRequest, payload);
      if (req) scheduler.request(socket.id, req);
    });

    socket.on('frame:ack', (payload) => {
      const req = validated('frame:ack', FrameAck, payload);
      if (req) scheduler.ack(socket.id, req.seq);
    });

    const jobSink = {
      progress: (p: Parameters<ServerToClient['job:progress']>[0]) => socket.emit('job:progress', p),
      done: (d: Parameters<ServerToClient['job:done']>[0]) => socket.emit('job:done', d),
    };
    type JobAck = (res: Ack<JobStarted>) => void;
    const ackOf = (ack: unknown): JobAck => (typeof ack === 'function' ? (ack as JobAck) : () => {});

    socket.on('import:start', (payload, ack) => {
      const reply = ackOf(ack);
      const parsed = ImportRequest.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `import:start: ${describeZodError(parsed.error)}` });
      const req = parsed.data;
      const jobId = jobs.start('import', `import:${req.modelDir}`, jobSink, async (progress) => {
        const res = await importModel(deps.store, req, (p) => progress(p.fraction, p.message));
        return { sceneId: res.sceneId, message: `imported ${res.name}: ${res.count} Gaussians, ${res.views} views`, warnings: res.warnings };
      });
      reply({ ok: true, data: { jobId } });
    });

    socket.on('scene:bake', async (payload, ack) => {
      const reply = ackOf(ack);
      const parsed = BakeRequest.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `scene:bake: ${describeZodError(parsed.error)}` });
      const { sceneId } = parsed.data;
      let header;
      try {
        header = await deps.store.header(sceneId);
      } catch (err) {
        return reply({ ok: false, code: 'not_found', message: (err as Error).message });
      }
      if (!header.deformNet) return reply({ ok: false, code: 'unavailable', message: `scene ${sceneId} has no deformation network: nothing to bake` });
      if (jobs.busy(`bake:${sceneId}`)) return reply({ ok: false, code: 'unavailable', message: `scene ${sceneId} is already being baked` });
      const live = runtimes.get(sceneId);
      const jobId = jobs.start('bake', `bake:${sceneId}`, jobSink, async (progress) => {
        const rt = live ? await live.catch(() => null) : null;
        const n = await bakeScene(deps.store, sceneId, (p) => progress(p.fraction, p.message), (t, sample) => rt?.deform?.pin(t, sample));
        return { sceneId, message: `baked the deformation at ${n} dataset times` };
      });
      reply({ ok: true, data: { jobId } });
    });

    socket.on('disconnect', () => scheduler.removeClient(socket.id));
  });

  return {
    io,
    scheduler,
    async close() {
      await new Promise<void>((resolve) => io.close(() => resolve()));
      for (const p of runtimes.values()) (await p.catch(() => null))?.dispose();
      runtimes.clear();
    },
  };

  async function handleHttp(req: IncomingMessage, res: ServerResponse, d: ServerDeps): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname.startsWith('/socket.io/')) return; // socket.io answers these itself
    if (url.pathname === '/api/health') {
      return sendJson(res, 200, { ok: true, version: VERSION, backend: d.backend });
    }
    if (url.pathname === '/api/scenes') {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' });
      return sendJson(res, 200, await d.store.list());
    }
    if (url.pathname.startsWith('/api/')) return sendJson(res, 404, { error: `no API route ${url.pathname}` });
    if (d.ui) return void (await d.ui(req, res));
    sendJson(res, 404, { error: 'this server runs without the UI (--no-ui); point a Splatsync UI at it' });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}
