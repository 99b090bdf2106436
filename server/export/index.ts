// Ground-truth export (issue #8): masks at the dataset views (masks.ts), appearance edits as
// per-Gaussian arrays (appearance.ts), objects and scenes as .ply (ply-export.ts). This file holds
// what the CLI and the server share: reading a room's state from the store, running an export on
// a runtime of its own, and who may export. See docs/EXPORT.md.
import path from 'node:path';
import type { DatasetView } from '../protocol/events';
import type { BundleHeader, SceneBundle } from '../scene/bundle';
import type { RoomStore } from '../rooms/store';
import { deserializeState, foldOps, type RoomState } from '../rooms/state';
import { SceneRuntime, type BackendName } from '../render/runtime';
import type { SceneStore } from '../scene/store';
import { SemanticEngine } from '../semantic/engine';
import { computeAppearance } from './appearance';
import { exportMasks, type ExportMasksOptions, type ExportResult } from './masks';
import { exportPly, type PlyExportResult } from './ply-export';

export * from './appearance';
export * from './masks';
export * from './names';
export * from './sinks';
export { exportPly, scaleOpacityLogit, type PlyExportInput, type PlyExportResult } from './ply-export';

/**
 * The dataset's own photo of a view (for comparing a mask with it), or null when the scene has
 * no dataset dir or the view no image. Never resolves outside the dataset dir.
 */
export function sourceImagePath(header: Pick<BundleHeader, 'datasetDir'>, view: Pick<DatasetView, 'image'>): string | null {
  if (!header.datasetDir || !view.image) return null;
  const root = path.resolve(header.datasetDir);
  const file = path.resolve(root, view.image);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  return file;
}

/** Roles that may export masks and objects (a viewer may not). */
export const EXPORT_ROLES: readonly string[] = ['owner', 'annotator'];

export function canExport(role: string): boolean {
  return EXPORT_ROLES.includes(role);
}

/** A room's current state from its store (snapshot + ops folded), as the server would hold it. */
export async function loadRoomState(store: RoomStore, sceneId: string, roomId: string): Promise<RoomState> {
  const log = await store.load(sceneId, roomId);
  return foldOps(log.ops, log.snapshot ? deserializeState(log.snapshot) : undefined);
}

export interface SceneExportOptions extends Omit<ExportMasksOptions, 'runtime' | 'engine'> {
  scenes: SceneStore;
  sceneId: string;
  backend?: BackendName;
}

/**
 * Loads a runtime of its own for the scene (so live viewers' label channels and appearance
 * edits never touch the export's renders, and vice versa), exports, and frees it.
 */
export async function exportSceneMasks(opts: SceneExportOptions): Promise<ExportResult> {
  const runtime = await SceneRuntime.load(opts.scenes, opts.sceneId, opts.backend);
  try {
    const engine = new SemanticEngine(runtime, null);
    return await exportMasks({ ...opts, runtime, engine });
  } finally {
    runtime.dispose();
  }
}

export interface ScenePlyOptions {
  scenes: SceneStore;
  sceneId: string;
  roomId: string;
  state: RoomState;
  /** Export this label's Gaussians (its id or name); default: the whole scene. */
  label?: string;
  features?: boolean;
  /** Apply the room's appearance edits (default true). */
  edits?: boolean;
  out: string;
  backend?: BackendName;
  onProgress?: (fraction: number, message: string) => void;
}

/** Finds a label by id, else by exact name, else by case-insensitive name (must be unique). */
export function findLabel(state: RoomState, key: string) {
  const byId = state.labels.get(key);
  if (byId) return byId;
  const all = [...state.labels.values()];
  const exact = all.filter((l) => l.name === key);
  if (exact.length === 1) return exact[0]!;
  const loose = all.filter((l) => l.name.toLowerCase() === key.toLowerCase());
  if (exact.length > 1 || loose.length > 1) throw new Error(`several labels are called ${JSON.stringify(key)}: give the label id (${(exact.length > 1 ? exact : loose).map((l) => l.id).join(', ')})`);
  if (loose.length === 1) return loose[0]!;
  throw new Error(`no label ${JSON.stringify(key)} in the room (labels: ${all.map((l) => l.name).join(', ') || 'none'})`);
}

/** The .ply export of a scene or one label, with the room's edits (see ply-export.ts). */
export async function exportScenePly(opts: ScenePlyOptions): Promise<PlyExportResult> {
  const label = opts.label !== undefined ? findLabel(opts.state, opts.label) : null;
  const needEngine = label !== null || (opts.edits !== false && [...opts.state.labels.values()].some((l) => l.edit.hidden || l.edit.opacity !== 1 || l.edit.tint));
  let runtime: SceneRuntime | null = null;
  let bundle: SceneBundle;
  let members: Uint8Array | null = null;
  let appearance = null;
  try {
    if (needEngine) {
      opts.onProgress?.(0, 'computing label membership');
      runtime = await SceneRuntime.load(opts.scenes, opts.sceneId, opts.backend);
      bundle = runtime.bundle;
      const engine = new SemanticEngine(runtime, null);
      if (label) members = await engine.membership(label);
      if (opts.edits !== false) appearance = computeAppearance(opts.state, await engine.labelChannel(opts.state));
    } else {
      bundle = await opts.scenes.load(opts.sceneId, { featuresOnDisk: true });
    }
    return await exportPly({
      bundle,
      bundleDir: opts.scenes.dirOf(opts.sceneId),
      members,
      appearance,
      features: Boolean(opts.features),
      out: opts.out,
      meta: { room: { id: opts.roomId, version: opts.state.version }, label: label ? { id: label.id, name: label.name } : null },
      onProgress: opts.onProgress,
    });
  } finally {
    runtime?.dispose();
  }
}
