// Room state records and the ops that change them (DESIGN.md §5). Ops are the only way state
// changes; the server validates each, gives it the next room version, stores it, then
// broadcasts it. Every client folds the same ordered log with the same pure function
// (server/rooms/state.ts), so all converge.
import { z } from 'zod';
import { Camera } from './camera';

export const Id = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'ids are 1-40 of A-Z a-z 0-9 _ -');
export const Colour = z.string().regex(/^#[0-9a-f]{6}$/, 'colours are #rrggbb (lowercase hex)');
export const Theta = z.number().min(-1).max(1);
/** The granularity a new click or text selection starts with (the UI slider's default). */
export const DEFAULT_THETA = 0.6;
/** Side of the pixel patch whose mean feature a click queries (as DGD's render script does). */
export const DEFAULT_PATCH = 5;

/** A pixel in a view: the camera and time the user saw when they clicked. */
export const PixelQuery = z
  .object({
    camera: Camera,
    t: z.number().min(0).max(1),
    x: z.number().int().min(0),
    y: z.number().int().min(0),
    /** Side of the square patch whose mean feature is the query (odd, default 5). */
    patch: z.number().int().min(1).max(31).optional(),
  })
  .strict()
  .refine((q) => q.x < q.camera.width && q.y < q.camera.height, { message: 'the pixel lies outside the image' });

export const MAX_PROMPT_CHARS = 1000;
export const TextQuery = z
  .object({
    text: z.string().refine((s) => s.trim().length > 0, 'the text query is empty').refine((s) => s.length <= MAX_PROMPT_CHARS, `the text query is longer than ${MAX_PROMPT_CHARS} characters`),
  })
  .strict();

/** Brushed or boxed pixels as run-length spans per row: [y, x0, x1) triples. */
export const RegionQuery = z
  .object({
    camera: Camera,
    t: z.number().min(0).max(1),
    spans: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(0)])).max(8192),
    /** Minimum accumulated weight Σ T·α over the region for a Gaussian to count. */
    minWeight: z.number().min(0).max(1e6).optional(),
  })
  .strict();

export const SelectionKind = z.enum(['click', 'text', 'region']);
export const SelectionMode = z.enum(['add', 'subtract']);

export const Selection = z.discriminatedUnion('kind', [
  z.object({ id: Id, kind: z.literal('click'), mode: SelectionMode, theta: Theta, query: PixelQuery, feature: z.array(z.number()).max(4096).optional() }).strict(),
  z.object({ id: Id, kind: z.literal('text'), mode: SelectionMode, theta: Theta, query: TextQuery, feature: z.array(z.number()).max(4096).optional() }).strict(),
  z.object({ id: Id, kind: z.literal('region'), mode: SelectionMode, theta: Theta, query: RegionQuery }).strict(),
]);
export type Selection = z.infer<typeof Selection>;

export const LabelPatch = z
  .object({
    name: z.string().min(1).max(80).optional(),
    colour: Colour.optional(),
    visible: z.boolean().optional(),
    order: z.number().finite().optional(),
    combine: z.enum(['union', 'mean']).optional(),
  })
  .strict();

export const EditPatch = z
  .object({
    tint: z.union([Colour, z.null()]).optional(),
    hidden: z.boolean().optional(),
    opacity: z.number().min(0).max(1).optional(),
  })
  .strict();

/** What a client proposes; the server adds version, author and time. */
export const OpBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('label.create'), labelId: Id, name: z.string().min(1).max(80), colour: Colour }).strict(),
  z.object({ type: z.literal('label.update'), labelId: Id, patch: LabelPatch }).strict(),
  z.object({ type: z.literal('label.delete'), labelId: Id }).strict(),
  z.object({ type: z.literal('sel.add'), labelId: Id, sel: Selection }).strict(),
  z.object({ type: z.literal('sel.update'), labelId: Id, selId: Id, theta: Theta.optional(), mode: SelectionMode.optional() }).strict(),
  z.object({ type: z.literal('sel.remove'), labelId: Id, selId: Id }).strict(),
  z.object({ type: z.literal('edit.set'), labelId: Id, patch: EditPatch }).strict(),
  z.object({ type: z.literal('undo') }).strict(),
  z.object({ type: z.literal('redo') }).strict(),
]);
export type OpBody = z.infer<typeof OpBody>;

export const OpRequest = z.object({ opId: Id, body: OpBody }).strict();
export type OpRequest = z.infer<typeof OpRequest>;

/** A committed op, as stored and broadcast. */
export interface Op {
  version: number;
  opId: string;
  author: string;
  authorName: string;
  at: number;
  body: OpBody;
  /** For undo/redo: the opId they toggle (resolved by the server at commit). */
  target?: string;
}

export interface LabelEdit {
  tint: string | null;
  hidden: boolean;
  opacity: number;
}

export interface LabelState {
  id: string;
  name: string;
  colour: string;
  visible: boolean;
  order: number;
  combine: 'union' | 'mean';
  createdBy: string;
  /** In the order they were added (membership applies them in this order). */
  selections: (Selection & { author: string })[];
  edit: LabelEdit;
}

/** A snapshot as stored and sent: plain JSON, labels in the Map's (creation) order. */
export interface SerializedState {
  version: number;
  labels: LabelState[];
}

