// The single definition of every socket.io event and payload. The server and app/ both import
// this file; nothing else crosses the wire. Event names are `domain:verb`.
import { z } from 'zod';
import { Camera } from './camera';
import { ErrorPayload, type Ack } from './errors';
import { Id, PixelQuery, Theta, type Op, type SerializedState } from './room';
import type { PresenceEntry, TimeBroadcast } from './presence';
import type { AccessInfo, LinkInfo } from './links';


export const SceneId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'scene ids are 1-64 of a-z, 0-9 and -');

/** Sent in the socket.io handshake `auth`. `user` is the local-mode identity (kept in the browser). */
export const Handshake = z.object({
  protocol: z.number().int(),
  /** A share-link token (`ss1.…`). */
  token: z.string().max(4096).optional(),
  /** A Clerk session token, in Clerk mode. */
  clerkToken: z.string().max(8192).optional(),
  user: z.object({ id: Id, name: z.string().min(1).max(60) }).optional(),
});

export const DatasetView = z.object({
  split: z.enum(['train', 'test', 'val']),
  index: z.number().int(),
  time: z.number(),
  camera: Camera,
  image: z.string().optional(),
});
export type DatasetView = z.infer<typeof DatasetView>;

export const SceneInfo = z.object({
  id: SceneId,
  name: z.string(),
  count: z.number().int(),
  shDegree: z.number().int(),
  featureDim: z.number().int(),
  dynamic: z.boolean(),
  background: z.tuple([z.number(), z.number(), z.number()]),
  /** A good first camera (orbit target and up direction for the client's controls). */
  home: z.object({ camera: Camera, target: z.tuple([z.number(), z.number(), z.number()]), up: z.tuple([z.number(), z.number(), z.number()]) }),
  views: z.array(DatasetView),
  backend: z.string(),
  /** Whether the deformation is precomputed at every dataset time (else computed on demand). */
  baked: z.boolean(),
  /** Why selection by click/text is unavailable, when it is. */
  semanticNote: z.string().optional(),
});
export type SceneInfo = z.infer<typeof SceneInfo>;

export const JoinRequest = z.object({ sceneId: SceneId }).strict();

/** The client's wish for its next frame. Latest wins: a newer one replaces a pending one. */
export const ViewRequest = z
  .object({
    /** Client sequence number, echoed in the frame (for glass-to-glass latency). */
    seq: z.number().int().min(0),
    camera: Camera,
    t: z.number().min(0).max(1),
    /** Set while the user drags: the server may render at reduced resolution. */
    moving: z.boolean().optional(),
  })
  .strict();
export type ViewRequest = z.infer<typeof ViewRequest>;

export const FrameAck = z.object({ seq: z.number().int().min(0) }).strict();

export const StageTimings = z.object({
  queueMs: z.number(),
  deformMs: z.number(),
  renderMs: z.number(),
  encodeMs: z.number(),
  totalMs: z.number(),
});
export type StageTimings = z.infer<typeof StageTimings>;

/** A rendered frame. `jpeg` is binary (Buffer on the server, ArrayBuffer in the browser). */
export interface FramePayload {
  seq: number;
  viewSeq: number;
  width: number;
  height: number;
  /** Rendered size / requested size (1 when full resolution). */
  scale: number;
  t: number;
  jpeg: ArrayBuffer | Uint8Array;
  timings: StageTimings;
  backend: string;
  /** False while a dynamic scene shows interpolated deformation; an exact frame follows. */
  exact: boolean;
  /** Label channel, [H,W] label indices run-length coded (label-rle.ts); absent without labels. */
  labels?: ArrayBuffer | Uint8Array;
  /** Label id of each label index (index 1 = labelOrder[0]); index 255 is the hover preview. */
  labelOrder?: string[];
}

export const PREVIEW_LABEL_INDEX = 255;

export const RoomJoin = z.object({ room: Id.optional(), since: z.number().int().min(0).optional() }).strict();
export interface RoomSnapshot {
  roomId: string;
  version: number;
  /**
   * Set when the client must rebuild from scratch: the room's compaction snapshot (the state at
   * its version), and `ops` are every op after it. Absent: `ops` extend the client's log from `since`.
   */
  snapshot?: SerializedState | null;
  /** True when `ops` (with `snapshot`, if any) are the whole log rather than what follows `since`. */
  reset: boolean;
  /** Ops in version order (see `reset`). */
  ops: Op[];
  userId: string;
  /** This connection's presence id and colour. */
  sid: string;
  colour: string;
  /** Everyone else in the room now. */
  presence: PresenceEntry[];
  /** What this connection may do here (the UI hides the rest; the server refuses it anyway). */
  role: 'owner' | 'annotator' | 'viewer';
}

export const HistogramRequest = z.object({ labelId: Id, selId: Id }).strict();
export interface HistogramResult {
  bins: number[];
  /** Gaussians at or above θ. */
  count: number;
  theta: number;
}

/** Hover preview of what a click would select; `null` query clears it. */
export const PreviewRequest = z.object({ query: z.union([PixelQuery, z.null()]), theta: Theta }).strict();
export interface PreviewResult {
  count: number;
  bins: number[];
}

/** Import a training output that lies on the server's disk (DESIGN.md §4 `splatsync import`). */
export const ImportRequest = z
  .object({
    modelDir: z.string().min(1).max(4096),
    dataset: z.string().min(1).max(4096).optional(),
    iteration: z.number().int().min(0).optional(),
    name: z.string().min(1).max(200).optional(),
    bake: z.boolean().optional(),
  })
  .strict();
export type ImportRequest = z.infer<typeof ImportRequest>;

/** Precompute the deformation at every dataset time into the scene's bundle. */
export const BakeRequest = z.object({ sceneId: SceneId }).strict();

export const JobStarted = z.object({ jobId: z.string() });
export type JobStarted = z.infer<typeof JobStarted>;

export interface JobProgress {
  jobId: string;
  kind: JobKind;
  fraction: number;
  message: string;
}

export interface JobDone {
  jobId: string;
  kind: JobKind;
  ok: boolean;
  /** On success: the scene id (import) or the number of keyframes baked. */
  sceneId?: string;
  message: string;
  warnings: string[];
  /** Export jobs: the site-relative URL of the finished zip (needs the same credentials). */
  download?: string;
}

export type JobKind = 'import' | 'bake' | 'export';

/** Export the room's masks at the dataset views, or an object / the edited scene as .ply (issue 8). */
export const ExportRequest = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('masks'),
      split: z.enum(['all', 'train', 'test']).default('all'),
      formats: z.array(z.enum(['png', 'davis', 'coco'])).min(1).max(3).default(['png', 'davis', 'coco']),
      includeHidden: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('ply'),
      /** A label id: export its Gaussians; absent: the whole scene with the room's edits. */
      labelId: Id.optional(),
      features: z.boolean().default(false),
    })
    .strict(),
]);
export type ExportRequest = z.infer<typeof ExportRequest>;

export interface ClientToServer {
  'scene:join': (req: unknown, ack: (res: Ack<SceneInfo>) => void) => void;
  'view:set': (req: unknown) => void;
  'frame:ack': (req: unknown) => void;
  'import:start': (req: unknown, ack: (res: Ack<JobStarted>) => void) => void;
  'scene:bake': (req: unknown, ack: (res: Ack<JobStarted>) => void) => void;
  'room:join': (req: unknown, ack: (res: Ack<RoomSnapshot>) => void) => void;
  'op:submit': (req: unknown, ack: (res: Ack<{ version: number; note?: string }>) => void) => void;
  'sel:histogram': (req: unknown, ack: (res: Ack<HistogramResult>) => void) => void;
  'sel:preview': (req: unknown, ack: (res: Ack<PreviewResult | null>) => void) => void;
  'presence:set': (req: unknown) => void;
  'time:sync': (req: unknown) => void;
  'export:start': (req: unknown, ack: (res: Ack<JobStarted>) => void) => void;
  'link:create': (req: unknown, ack: (res: Ack<LinkInfo>) => void) => void;
  'link:list': (req: unknown, ack: (res: Ack<LinkInfo[]>) => void) => void;
  'link:revoke': (req: unknown, ack: (res: Ack<LinkInfo>) => void) => void;
  'access:list': (req: unknown, ack: (res: Ack<AccessInfo[]>) => void) => void;
  'access:revoke': (req: unknown, ack: (res: Ack<{ removed: number }>) => void) => void;
}

export interface ServerToClient {
  frame: (f: FramePayload) => void;
  error: (e: ErrorPayload) => void;
  'job:progress': (p: JobProgress) => void;
  'job:done': (d: JobDone) => void;
  op: (op: Op) => void;
  presence: (p: PresenceEntry) => void;
  'presence:leave': (p: { sid: string }) => void;
  time: (t: TimeBroadcast) => void;
}
