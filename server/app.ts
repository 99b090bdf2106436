// The Splatsync server: socket.io (scenes, views, frames) and the small HTTP API, on an
// existing http.Server. Dependencies are injected so tests run the real thing on a free port.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Server as IOServer, type Socket } from 'socket.io';
import type { z } from 'zod';
import {
  BakeRequest, describeZodError, FrameAck, Handshake, HistogramRequest, ImportRequest, JoinRequest, OpRequest, PREVIEW_LABEL_INDEX,
  AccessRevoke, ExportRequest, LinkCreate, LinkList, LinkRevoke, PresenceUpdate, PreviewRequest, PROTOCOL_VERSION, RoomJoin, TimeSync,
  type AccessInfo, type LinkInfo, ViewRequest, type JobStarted,
  type Ack, type ClientToServer, type ErrorCode, type SceneInfo, type ServerToClient,
} from './protocol/index';
import { FrameScheduler, type FrameContext } from './render/scheduler';
import { SceneRuntime, type BackendName } from './render/runtime';
import { capabilities } from '../native/index';
import { SceneNotFoundError, type SceneStore } from './scene/store';
import { VERSION } from './version';
import { JobRunner } from './jobs';
import { importModel } from './import/index';
import { bakeScene } from './import/bake';
import { RoomHub, type RoomEntry } from './rooms/hub';
import { PresenceHub } from './rooms/presence';
import { RateLimiter } from './auth/rate-limit';
import { MemoryRoomStore, type RoomStore } from './rooms/store';
import { OpRejected, type CompactionPolicy } from './rooms/room';
import { countAtLeast, histogram, SelectionError, SemanticEngine } from './semantic/engine';
import type { ClipTextEncoder } from './semantic/clip/index';
import type { Db } from './db';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Downloads } from './export/downloads';
import { DirSink, exportSceneMasks, sourceImagePath } from './export/index';
import { evaluateMasks } from './eval/index';
import { unpackZip } from './eval/upload';
import { cloneState } from './rooms/state';
import {
  applySecurityHeaders, credentialsFromHandshake, credentialsFromHttp, readBodyLimited, redactSecrets, securityHeadersFor,
  sharePath, type Action, type Auth, type AuthFailure, type Link, type Principal,
} from './auth/index';

/** Largest socket.io message accepted (bytes); bigger ones close the connection. */
export const MAX_MESSAGE_BYTES = 1_000_000;
/** Ops per second one connection may submit (a θ drag sends 10), and the burst after a quiet spell. */
export const OP_RATE = { ratePerSec: 40, burst: 80 };
/** New socket connections per client address (a reload costs one; tabs and reconnects a few). */
export const HANDSHAKE_RATE = { ratePerSec: 20, burst: 60 };
/** API requests per client address (pages and static files are not limited). */
export const API_RATE = { ratePerSec: 50, burst: 100 };
/** Largest op accepted (a brush region of 8192 row spans is ~150 KB of JSON). */
export const MAX_OP_BYTES = 300_000;

export interface ServerDeps {
  store: SceneStore;
  backend: BackendName;
  /** Next.js request handler; absent with --no-ui. */
  ui?: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  log?: (msg: string) => void;
  /** Room op logs (default: in memory). */
  rooms?: RoomStore;
  /** CLIP text encoder for text queries, when configured. */
  clip?: ClipTextEncoder | null;
  /** When room logs fold into snapshots (tests use small numbers). */
  compaction?: CompactionPolicy;
  /** The data dir's database (links, grants); absent for ephemeral servers. */
  db?: Db | null;
  /** Who may do what (issue 7): every socket event and API route asks it. */
  auth: Auth;
}

export interface SplatsyncServer {
  io: IOServer<ClientToServer, ServerToClient>;
  scheduler: FrameScheduler;
  close(): Promise<void>;
}

interface SocketData {
  sceneId?: string;
  roomId?: string;
  user: { id: string; name: string };
  /** Who this connection is and on what authority (its link or sign-in). */
  principal: Principal;
  /** This client's hover preview membership, shown as label index 255 in its frames. */
  preview?: Uint8Array | null;
}
type ClientSocket = Socket<ClientToServer, ServerToClient, Record<string, never>, SocketData>;

export function createSplatsyncServer(http: HttpServer, deps: ServerDeps): SplatsyncServer {
  const log = deps.log ?? (() => {});
  const runtimes = new Map<string, Promise<SceneRuntime>>();
  const scheduler = new FrameScheduler();
  const jobs = new JobRunner();

  const engines = new Map<string, Promise<SemanticEngine>>();
  const engineFor = (sceneId: string): Promise<SemanticEngine> => {
    let p = engines.get(sceneId);
    if (!p) {
      p = runtimeFor(sceneId).then((rt) => new SemanticEngine(rt, deps.clip ?? null));
      engines.set(sceneId, p);
      p.catch(() => engines.delete(sceneId));
    }
    return p;
  };
  const roomKey = (sceneId: string, roomId: string) => `room:${sceneId}:${roomId}`;
  const hub = new RoomHub(deps.rooms ?? new MemoryRoomStore(), engineFor, (sceneId, roomId, entry) => {
    const members = io.sockets.adapter.rooms.get(roomKey(sceneId, roomId)) ?? new Set<string>();
    scheduler.refreshAll(entry.engine.runtime, (id) => members.has(id));
  }, deps.compaction);
  const openRooms = new Map<string, RoomEntry>(); // socket.id -> its room, once joined
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const counters = { opsCommitted: 0 };
  const opLimiter = new RateLimiter(OP_RATE);
  const handshakeLimiter = new RateLimiter(HANDSHAKE_RATE);
  const apiLimiter = new RateLimiter(API_RATE);
  const downloads = new Downloads(deps.store.dataDir);
  void downloads.init().catch((err) => log(`cannot prepare the exports folder: ${(err as Error).message}`));
  const presence = new PresenceHub((key, socketId, entry) => io.to(key).except(socketId).emit('presence', entry));

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
    const url = req.url ?? '/';
    if (!url.startsWith('/socket.io/')) {
      applySecurityHeaders(res, securityHeadersFor(req, {
        kind: url.startsWith('/api/') ? 'api' : 'page', clerk: deps.auth.mode === 'clerk', clerkFrontendApi: deps.auth.clerk?.frontendApi,
      }));
    }
    void handleHttp(req, res, deps).catch((err) => {
      log(redactSecrets(`http error on ${req.method} ${url}: ${(err as Error).message}`));
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    });
  });

  const io = new IOServer<ClientToServer, ServerToClient>(http, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    serveClient: false,
  });

  io.use((socket, next) => {
    const slow = handshakeLimiter.take(socket.handshake.address || 'unknown');
    if (!slow.ok) return next(new Error(`rate_limited: too many connections from this address; try again in ${(slow.retryAfterMs / 1000).toFixed(1)} s`));
    const hs = Handshake.safeParse(socket.handshake.auth);
    if (!hs.success) return next(new Error(`bad handshake: ${describeZodError(hs.error)}`));
    if (hs.data.protocol !== PROTOCOL_VERSION) {
      return next(new Error(`protocol_mismatch: server speaks protocol ${PROTOCOL_VERSION}, client ${hs.data.protocol}; reload the page`));
    }
    deps.auth.authenticate(credentialsFromHandshake(socket.handshake.auth)).then(
      (r) => {
        if (!r.ok) {
          const e = new Error(`${r.code}: ${r.message}`) as Error & { data?: unknown };
          e.data = { code: r.code, reason: r.reason };
          return next(e);
        }
        (socket.data as SocketData).principal = r.principal;
        next();
      },
      (err) => next(new Error(`internal: could not check the credentials (${(err as Error).message})`)),
    );
  });

  /** Sockets whose authority is gone (link revoked or expired, access removed) are told and dropped. */
  const recheckSockets = () => {
    for (const raw of io.sockets.sockets.values()) {
      const s = raw as ClientSocket;
      if (!s.data.principal) continue;
      const r = deps.auth.recheck(s.data.principal, { scene: s.data.sceneId, room: s.data.roomId });
      if (!r.ok) {
        s.emit('error', { code: r.code, message: r.message });
        s.disconnect(true);
      }
    }
  };
  const unsubscribeRevoke = deps.auth.onRevoke(recheckSockets);
  const expiryTimer = setInterval(recheckSockets, 5000);
  expiryTimer.unref();

  io.on('connection', (raw) => {
    const socket = raw as ClientSocket;
    socket.data.user = { id: socket.data.principal.userId, name: socket.data.principal.name };
    const fail = (event: string, code: ErrorCode, message: string) => socket.emit('error', { code, message, event });
    /**
     * The role check of every event. Null when allowed; else the refusal, after telling the
     * client (and dropping it when its authority itself is gone, e.g. a revoked link).
     */
    const refuse = (action: Action, target: { scene?: string; room?: string }): AuthFailure | null => {
      const a = deps.auth.authorize(socket.data.principal, action, target);
      if (a.ok) return null;
      if (GONE.has(a.reason)) {
        socket.emit('error', { code: a.code, message: a.message, event: action });
        setImmediate(() => socket.disconnect(true));
      }
      return a;
    };
    const here = () => ({ scene: socket.data.sceneId, room: socket.data.roomId });

    socket.on('scene:join', async (payload, ack) => {
      const reply = typeof ack === 'function' ? ack : (_: Ack<SceneInfo>) => {};
      const parsed = JoinRequest.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: describeZodError(parsed.error) });
      const no = refuse('scene:join', { scene: parsed.data.sceneId });
      if (no) return reply({ ok: false, code: no.code, message: no.message });
      try {
        const runtime = await runtimeFor(parsed.data.sceneId);
        if (!socket.connected) return;
        if (socket.data.sceneId) void socket.leave(`scene:${socket.data.sceneId}`);
        socket.data.sceneId = runtime.id;
        void socket.join(`scene:${runtime.id}`);
        scheduler.addClient(socket.id, runtime, {
          frame: (f) => socket.emit('frame', f),
          error: (message) => fail('view:set', 'internal', message),
          context: () => frameContext(socket),
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
      const no = refuse(event as Action, here());
      if (no) {
        fail(event, no.code, no.message);
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
      const no = refuse('import:start', {});
      if (no) return reply({ ok: false, code: no.code, message: `import:start: ${no.message}` });
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
      const no = refuse('scene:bake', { scene: sceneId });
      if (no) return reply({ ok: false, code: no.code, message: `scene:bake: ${no.message}` });
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

    socket.on('room:join', async (payload, ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      const parsed = RoomJoin.safeParse(payload ?? {});
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `room:join: ${describeZodError(parsed.error)}` });
      const sceneId = socket.data.sceneId;
      if (!sceneId) return reply({ ok: false, code: 'not_joined', message: 'room:join: join a scene first (scene:join)' });
      const roomId = parsed.data.room ?? 'main';
      const no = refuse('room:join', { scene: sceneId, room: roomId });
      if (no) return reply({ ok: false, code: no.code, message: `room:join: ${no.message}` });
      const role = deps.auth.roleIn(socket.data.principal, sceneId, roomId) ?? 'viewer';
      try {
        const entry = await hub.open(sceneId, roomId);
        if (!socket.connected) return;
        leaveRoom(socket);
        socket.data.roomId = roomId;
        openRooms.set(socket.id, entry);
        const key = roomKey(sceneId, roomId);
        void socket.join(key);
        const me = presence.join(key, socket.id, socket.data.user, role);
        const since = parsed.data.since;
        const { snapshot, ops } = entry.room.catchUp(since ?? 0);
        const reset = since === undefined || snapshot !== null || since > entry.room.version;
        reply({
          ok: true,
          data: {
            roomId, version: entry.room.version, snapshot: reset ? snapshot : undefined, reset, ops,
            userId: socket.data.user.id, sid: me.sid, colour: me.colour, presence: presence.others(key, socket.id), role,
          },
        });
        socket.to(key).emit('presence', me);
        scheduler.refreshAll(entry.engine.runtime, (id) => id === socket.id);
      } catch (err) {
        reply({ ok: false, code: 'internal', message: (err as Error).message });
      }
    });

    socket.on('presence:set', (payload) => {
      const entry = openRooms.get(socket.id);
      if (!entry) return fail('presence:set', 'not_joined', 'presence:set: join a room first (room:join)');
      const no = refuse('presence:set', here());
      if (no) return fail('presence:set', no.code, `presence:set: ${no.message}`);
      const parsed = PresenceUpdate.safeParse(payload);
      if (!parsed.success) return fail('presence:set', 'bad_request', `presence:set: ${describeZodError(parsed.error)}`);
      const key = roomKey(entry.room.sceneId, entry.room.id);
      const world = parsed.data.cursor ? scheduler.worldAt(socket.id, parsed.data.cursor.x, parsed.data.cursor.y) : null;
      const updated = presence.update(key, socket.id, parsed.data, world);
      if (updated) socket.to(key).emit('presence', updated); // null: over the rate (the latest state still goes out with the next one)
    });

    socket.on('time:sync', (payload) => {
      const entry = openRooms.get(socket.id);
      if (!entry) return fail('time:sync', 'not_joined', 'time:sync: join a room first (room:join)');
      const no = refuse('time:sync', here());
      if (no) return fail('time:sync', no.code, `time:sync: ${no.message}`);
      const parsed = TimeSync.safeParse(payload);
      if (!parsed.success) return fail('time:sync', 'bad_request', `time:sync: ${describeZodError(parsed.error)}`);
      const key = roomKey(entry.room.sceneId, entry.room.id);
      if (!presence.allowTime(key, socket.id)) return;
      const me = presence.get(key, socket.id);
      socket.to(key).emit('time', { ...parsed.data, sid: me?.sid ?? '', userId: socket.data.user.id, name: socket.data.user.name, at: Date.now() });
    });

    socket.on('op:submit', async (payload, ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      const allowed = opLimiter.take(socket.id);
      if (!allowed.ok) {
        return reply({ ok: false, code: 'rate_limited', message: `op:submit: too many ops from this connection: at most ${OP_RATE.ratePerSec} per second (bursts of ${OP_RATE.burst}); try again in ${(allowed.retryAfterMs / 1000).toFixed(1)} s` });
      }
      const bytes = approxBytes(payload);
      if (bytes > MAX_OP_BYTES) return reply({ ok: false, code: 'too_large', message: `op:submit: the op is ${bytes} bytes; at most ${MAX_OP_BYTES} bytes are accepted` });
      const parsed = OpRequest.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `op:submit: ${describeZodError(parsed.error)}` });
      const entry = openRooms.get(socket.id);
      if (!entry) return reply({ ok: false, code: 'not_joined', message: 'op:submit: join a room first (room:join)' });
      const no = refuse('op:submit', here());
      if (no) return reply({ ok: false, code: no.code, message: `op:submit: ${no.message}` });
      try {
        const key = roomKey(entry.room.sceneId, entry.room.id);
        const { version, note } = await hub.commit(entry, socket.data.user, parsed.data, (op) => {
          counters.opsCommitted++;
          io.to(key).emit('op', op);
        });
        reply({ ok: true, data: { version, note } });
      } catch (err) {
        if (err instanceof OpRejected) return reply({ ok: false, code: err.code, message: err.message });
        log(`op failed: ${(err as Error).stack}`);
        reply({ ok: false, code: 'internal', message: `the op was not applied: ${(err as Error).message}` });
      }
    });

    socket.on('sel:histogram', async (payload, ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      const parsed = HistogramRequest.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `sel:histogram: ${describeZodError(parsed.error)}` });
      const entry = openRooms.get(socket.id);
      if (!entry) return reply({ ok: false, code: 'not_joined', message: 'sel:histogram: join a room first (room:join)' });
      const no = refuse('sel:histogram', here());
      if (no) return reply({ ok: false, code: no.code, message: `sel:histogram: ${no.message}` });
      const sel = entry.room.state.labels.get(parsed.data.labelId)?.selections.find((x) => x.id === parsed.data.selId);
      if (!sel) return reply({ ok: false, code: 'not_found', message: `selection ${parsed.data.selId} not found in label ${parsed.data.labelId}` });
      try {
        const scores = await entry.engine.scores(sel);
        const theta = sel.kind === 'region' ? sel.query.minWeight ?? 0.5 : sel.theta;
        reply({ ok: true, data: { bins: sel.kind === 'region' ? [] : histogram(scores), count: countAtLeast(scores, theta), theta } });
      } catch (err) {
        reply({ ok: false, code: 'internal', message: (err as Error).message });
      }
    });

    socket.on('sel:preview', async (payload, ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      const parsed = PreviewRequest.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `sel:preview: ${describeZodError(parsed.error)}` });
      const entry = openRooms.get(socket.id);
      if (!entry) return reply({ ok: false, code: 'not_joined', message: 'sel:preview: join a room first (room:join)' });
      const no = refuse('sel:preview', here());
      if (no) return reply({ ok: false, code: no.code, message: `sel:preview: ${no.message}` });
      const { query, theta } = parsed.data;
      if (!query) {
        socket.data.preview = null;
        scheduler.refreshAll(entry.engine.runtime, (id) => id === socket.id);
        return reply({ ok: true, data: null });
      }
      try {
        const { feature } = await entry.engine.clickFeature(query);
        const scores = await entry.engine.similarityTo(feature);
        const m = new Uint8Array(scores.length);
        for (let i = 0; i < m.length; i++) m[i] = scores[i]! >= theta ? 1 : 0;
        socket.data.preview = m;
        scheduler.refreshAll(entry.engine.runtime, (id) => id === socket.id);
        reply({ ok: true, data: { count: countAtLeast(scores, theta), bins: histogram(scores) } });
      } catch (err) {
        const code = err instanceof SelectionError ? err.code : 'internal';
        reply({ ok: false, code, message: (err as Error).message });
      }
    });

    socket.on('export:start', (payload, ack) => {
      const reply = ackOf(ack);
      const entry = openRooms.get(socket.id);
      if (!entry) return reply({ ok: false, code: 'not_joined', message: 'export:start: join a room first (room:join)' });
      const no = refuse('export:start', here());
      if (no) return reply({ ok: false, code: no.code, message: `export:start: ${no.message}` });
      const parsed = ExportRequest.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `export:start: ${describeZodError(parsed.error)}` });
      const key = `export:${socket.id}`;
      if (jobs.busy(key)) return reply({ ok: false, code: 'unavailable', message: 'export:start: your previous export is still running' });
      const req = parsed.data;
      const { sceneId, id: roomId } = entry.room;
      const state = cloneState(entry.room.state); // the export sees the room as it is now
      if (req.kind === 'ply' && req.labelId && !state.labels.has(req.labelId)) {
        return reply({ ok: false, code: 'not_found', message: `export:start: label ${req.labelId} does not exist (it may have been deleted)` });
      }
      const jobId = jobs.start('export', key, jobSink, async (progress) => {
        if (req.kind === 'masks') {
          const d = await downloads.masks({ scenes: deps.store, sceneId, roomId, state, split: req.split, formats: req.formats, includeHidden: req.includeHidden, backend: deps.backend, onProgress: progress });
          return { message: `exported masks of room ${roomId} (version ${state.version}): ${(d.bytes / 1e6).toFixed(1)} MB`, download: `/api/downloads/${d.id}` };
        }
        const d = await downloads.ply({ scenes: deps.store, sceneId, roomId, state, label: req.labelId, features: req.features, backend: deps.backend, onProgress: progress });
        return { message: `exported ${d.count} Gaussians as .ply (${(d.bytes / 1e6).toFixed(1)} MB)`, download: `/api/downloads/${d.id}` };
      });
      reply({ ok: true, data: { jobId } });
    });

    registerLinkEvents(socket, here);

    socket.on('disconnect', () => {
      scheduler.removeClient(socket.id);
      leaveRoom(socket);
      opLimiter.delete(socket.id);
    });
  });

  return {
    io,
    scheduler,
    async close() {
      loopDelay.disable();
      clearInterval(expiryTimer);
      unsubscribeRevoke();
      // io.close also closes the http server, which waits for keep-alive connections (browsers
      // keep them open for minutes): end those too, so a SIGTERM'd server exits promptly.
      const closed = new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      for (const p of runtimes.values()) (await p.catch(() => null))?.dispose();
      runtimes.clear();
    },
  };

  function leaveRoom(socket: ClientSocket): void {
    const entry = openRooms.get(socket.id);
    if (!entry) return;
    const key = roomKey(entry.room.sceneId, entry.room.id);
    const left = presence.leave(key, socket.id);
    if (left) io.to(key).emit('presence:leave', { sid: left.sid });
    void socket.leave(key);
    openRooms.delete(socket.id);
  }

  /** The dataset's own photo at a view (the mask/photo toggle). */
  async function sendViewImage(res: ServerResponse, principal: Principal, sceneId: string, index: number): Promise<void> {
    const a = deps.auth.authorize(principal, 'scene:join', { scene: sceneId });
    if (!a.ok) return sendJson(res, a.status, { error: a.message, code: a.code });
    let header;
    try {
      header = await deps.store.header(sceneId);
    } catch (err) {
      return sendJson(res, 404, { error: (err as Error).message });
    }
    const view = header.views[index];
    if (!view) return sendJson(res, 404, { error: `scene ${sceneId} has ${header.views.length} views; there is no view ${index}` });
    const file = sourceImagePath(header, view);
    if (!file) return sendJson(res, 404, { error: `view ${index} has no source photo (the scene was imported without its dataset images)` });
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return sendJson(res, 404, { error: `the source photo of view ${index} is no longer at ${path.basename(file)} (was the dataset moved?)` });
    const type = /\.png$/i.test(file) ? 'image/png' : /\.jpe?g$/i.test(file) ? 'image/jpeg' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': String(st.size), 'cache-control': 'private, max-age=3600' });
    createReadStream(file).pipe(res);
  }

  /**
   * Reference masks uploaded as a zip: the room's current masks are exported at every dataset
   * view and evaluated against them (the same table as `splatsync eval`). Problems with single
   * files are reported in the answer; the rest is still evaluated.
   */
  async function evalUpload(req: IncomingMessage, res: ServerResponse, principal: Principal, sceneId: string, roomId: string): Promise<void> {
    const a = deps.auth.authorize(principal, 'http:export', { scene: sceneId, room: roomId });
    if (!a.ok) return sendJson(res, a.status, { error: a.message, code: a.code });
    let body: Buffer;
    try {
      body = await readBodyLimited(req, MAX_EVAL_UPLOAD_BYTES);
    } catch (err) {
      const e = err as Error & { status?: number };
      return sendJson(res, e.status ?? 400, { error: e.message, code: 'too_large' });
    }
    const work = await mkdtemp(path.join(os.tmpdir(), 'splatsync-eval-'));
    try {
      let refRoot: string;
      try {
        refRoot = (await unpackZip(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), path.join(work, 'ref'))).root;
      } catch (err) {
        return sendJson(res, 400, { error: `${(err as Error).message} (upload a .zip of per-label PNG folders, DAVIS PNGs or a COCO JSON)` });
      }
      const entry = await hub.open(sceneId, roomId);
      const state = cloneState(entry.room.state);
      const sink = await DirSink.open(path.join(work, 'pred'));
      await exportSceneMasks({ scenes: deps.store, sceneId, backend: deps.backend, state, roomId, sink, formats: ['png'], split: 'all' });
      const report = await evaluateMasks(path.join(work, 'pred'), refRoot);
      sendJson(res, 200, report);
    } catch (err) {
      sendJson(res, 400, { error: (err as Error).message });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Owner-only link and access management for the socket's current room (or its whole scene). */
  function registerLinkEvents(socket: ClientSocket, here: () => { scene?: string; room?: string }): void {
    type Reply<T> = (res: Ack<T>) => void;
    const replyOf = <T>(ack: unknown): Reply<T> => (typeof ack === 'function' ? (ack as Reply<T>) : () => {});
    const scope = (allRooms = false) => {
      const h = here();
      return h.scene && h.room ? { scene: h.scene, room: allRooms ? '*' : h.room } : null;
    };
    const notJoined = (event: string) => ({ ok: false as const, code: 'not_joined' as const, message: `${event}: join a scene and a room first` });

    socket.on('link:create', (payload, ack) => {
      const reply = replyOf<LinkInfo>(ack);
      const parsed = LinkCreate.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `link:create: ${describeZodError(parsed.error)}` });
      const sc = scope(parsed.data.allRooms);
      if (!sc) return reply(notJoined('link:create'));
      const { role, expiresInMs, label } = parsed.data;
      const r = deps.auth.createLink(socket.data.principal, { ...sc, role, expiresAt: expiresInMs === null ? null : Date.now() + expiresInMs, label });
      if (!r.ok) return reply({ ok: false, code: r.code, message: `link:create: ${r.message}` });
      log(`link ${r.link.linkId} created: ${r.link.role} of ${sc.scene}/${sc.room} by ${socket.data.user.name}`);
      reply({ ok: true, data: linkInfo(r.link, r.path) });
    });

    socket.on('link:list', (payload, ack) => {
      const reply = replyOf<LinkInfo[]>(ack);
      const parsed = LinkList.safeParse(payload ?? {});
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `link:list: ${describeZodError(parsed.error)}` });
      const sc = scope();
      if (!sc) return reply(notJoined('link:list'));
      // The room's own links and the scene-wide ones.
      const rows: LinkInfo[] = [];
      for (const target of [sc, { scene: sc.scene, room: '*' }]) {
        const r = deps.auth.listLinks(socket.data.principal, target, { includeInactive: parsed.data.includeInactive });
        if (!r.ok) {
          if (target === sc) return reply({ ok: false, code: r.code, message: `link:list: ${r.message}` });
          continue;
        }
        for (const l of r.links) if (!rows.some((x) => x.linkId === l.linkId)) rows.push(linkInfo(l, l.token ? sharePath(l, l.token) : null));
      }
      reply({ ok: true, data: rows.sort((a, b) => b.createdAt - a.createdAt) });
    });

    socket.on('link:revoke', (payload, ack) => {
      const reply = replyOf<LinkInfo>(ack);
      const parsed = LinkRevoke.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `link:revoke: ${describeZodError(parsed.error)}` });
      const r = deps.auth.revokeLink(socket.data.principal, parsed.data.linkId);
      if (!r.ok) return reply({ ok: false, code: r.code, message: `link:revoke: ${r.message}` });
      log(`link ${r.link.linkId} revoked by ${socket.data.user.name}`);
      reply({ ok: true, data: linkInfo(r.link, null) });
    });

    socket.on('access:list', (_payload, ack) => {
      const reply = replyOf<AccessInfo[]>(ack);
      const sc = scope();
      if (!sc) return reply(notJoined('access:list'));
      const r = deps.auth.listAccess(socket.data.principal, sc);
      if (!r.ok) return reply({ ok: false, code: r.code, message: `access:list: ${r.message}` });
      reply({ ok: true, data: r.grants.map((g) => ({ userId: g.userId, name: g.userName, role: g.role, linkId: g.linkId, grantedAt: g.grantedAt })) });
    });

    socket.on('access:revoke', (payload, ack) => {
      const reply = replyOf<{ removed: number }>(ack);
      const parsed = AccessRevoke.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, code: 'bad_request', message: `access:revoke: ${describeZodError(parsed.error)}` });
      const sc = scope();
      if (!sc) return reply(notJoined('access:revoke'));
      const r = deps.auth.revokeAccess(socket.data.principal, parsed.data.userId, sc);
      if (!r.ok) return reply({ ok: false, code: r.code, message: `access:revoke: ${r.message}` });
      reply({ ok: true, data: { removed: 1 } });
    });
  }

  /** What a client's frames carry: its room's labels and edits, with its hover preview on top. */
  function frameContext(socket: ClientSocket): FrameContext | null {
    const entry = openRooms.get(socket.id);
    const channel = entry?.channel ?? null;
    const appearance = entry?.appearance ? { key: entry.appearance.key, ...entry.appearance.arrays } : null;
    const preview = socket.data.preview;
    if (!preview) return channel || appearance ? { labels: channel?.labels ?? null, order: channel?.order ?? [], appearance } : null;
    const labels = channel ? channel.labels.slice() : new Uint8Array(preview.length);
    for (let i = 0; i < labels.length; i++) if (preview[i]) labels[i] = PREVIEW_LABEL_INDEX;
    return { labels, order: channel?.order ?? [], appearance };
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse, d: ServerDeps): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname.startsWith('/socket.io/')) return; // socket.io answers these itself
    if (url.pathname === '/api/health') {
      const cuda = capabilities().cuda; // which backends this build has (DESIGN.md §4), and the one in use
      return sendJson(res, 200, { ok: true, version: VERSION, backend: d.backend, backends: { cpu: true, cuda: { compiled: cuda.compiled, devices: cuda.devices } } });
    }
    if (url.pathname.startsWith('/api/')) {
      const d = apiLimiter.take(req.socket.remoteAddress || 'unknown');
      if (!d.ok) {
        res.setHeader('retry-after', String(Math.ceil(d.retryAfterMs / 1000)));
        return sendJson(res, 429, { error: `too many requests from this address; try again in ${(d.retryAfterMs / 1000).toFixed(1)} s`, code: 'rate_limited' });
      }
    }
    if (url.pathname === '/api/config') {
      // What the browser needs before it connects (public: no secrets).
      return sendJson(res, 200, deps.auth.publicConfig());
    }
    // Every other API route needs credentials (a link token or a Clerk session).
    let principal: Principal | null = null;
    if (url.pathname.startsWith('/api/')) {
      const r = await deps.auth.authenticate(credentialsFromHttp(req));
      if (!r.ok) return sendJson(res, r.status, { error: r.message, code: r.code });
      principal = r.principal;
    }
    if (url.pathname === '/api/me') {
      // Who the credentials are and what they may do server-wide (the scene list hides the import form).
      const p = principal!;
      return sendJson(res, 200, { userId: p.userId, name: p.name, via: p.via, canImport: deps.auth.authorize(p, 'import:start', {}).ok });
    }
    if (url.pathname === '/api/metrics') {
      const a = deps.auth.authorize(principal!, 'import:start', {});
      if (!a.ok) return sendJson(res, a.status, { error: 'metrics are for the server\'s owners', code: a.code });
      // Event-loop delay since the last reset (`?reset=1` starts a new window): benches and operators.
      const ms = (ns: number) => Math.round(ns / 1e4) / 100;
      const body = {
        eventLoop: { p50Ms: ms(loopDelay.percentile(50)), p99Ms: ms(loopDelay.percentile(99)), maxMs: ms(loopDelay.max), samples: loopDelay.count },
        opsCommitted: counters.opsCommitted,
        framesSent: scheduler.stats.framesSent,
        framesDropped: scheduler.stats.framesDropped,
        sockets: io.engine.clientsCount,
        presence: presence.size,
        rssMb: Math.round(process.memoryUsage().rss / 1e6),
      };
      if (url.searchParams.get('reset') === '1') loopDelay.reset();
      return sendJson(res, 200, body);
    }
    const dl = /^\/api\/downloads\/([0-9a-f-]{36})$/.exec(url.pathname);
    if (dl) {
      const d = downloads.get(dl[1]!);
      if (!d) return sendJson(res, 404, { error: 'this export is gone (downloads are kept for an hour, and not across restarts): export again' });
      const a = deps.auth.authorize(principal!, 'http:export', { scene: d.scene, room: d.room });
      if (!a.ok) return sendJson(res, a.status, { error: a.message, code: a.code });
      return downloads.send(d, res);
    }
    const img = /^\/api\/scenes\/([^/]+)\/views\/(\d{1,6})\/image$/.exec(url.pathname);
    if (img) return sendViewImage(res, principal!, decodeURIComponent(img[1]!), Number(img[2]));
    const ev = /^\/api\/scenes\/([^/]+)\/rooms\/([^/]+)\/eval$/.exec(url.pathname);
    if (ev) {
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'POST a zip of reference masks' });
      return evalUpload(req, res, principal!, decodeURIComponent(ev[1]!), decodeURIComponent(ev[2]!));
    }
    if (url.pathname === '/api/scenes') {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' });
      const a = deps.auth.authorize(principal!, 'http:scenes', {});
      if (!a.ok) return sendJson(res, a.status, { error: a.message, code: a.code });
      const all = await d.store.list();
      const visible = new Set(deps.auth.visibleScenes(principal!, all.map((x) => x.id)));
      return sendJson(res, 200, all.filter((x) => visible.has(x.id)));
    }
    if (url.pathname.startsWith('/api/')) return sendJson(res, 404, { error: `no API route ${url.pathname}` });
    if (d.ui) return void (await d.ui(req, res));
    sendJson(res, 404, { error: 'this server runs without the UI (--no-ui); point a Splatsync UI at it' });
  }
}

/** Largest reference-mask zip accepted for evaluation in the browser. */
export const MAX_EVAL_UPLOAD_BYTES = 256 * 1024 * 1024;

/** Refusal reasons that mean a connection's authority itself is gone: it is dropped. */
const GONE = new Set<string>(['revoked', 'expired', 'unknown_link', 'no_access']);

function linkInfo(l: Link, path: string | null): LinkInfo {
  return {
    linkId: l.linkId, scene: l.scene, room: l.room, role: l.role, label: l.label, createdBy: l.createdBy, createdAt: l.createdAt,
    expiresAt: l.expiresAt, revokedAt: l.revokedAt, status: l.status, path,
  };
}

/** Size of a payload as JSON (what it costs to store and broadcast). */
function approxBytes(payload: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(payload) ?? '');
  } catch {
    return Infinity; // cyclic or otherwise unserialisable: refuse
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}
