'use client';
// Client side: appearance edits per label (issue 8): tint colour (or none), hidden, opacity.
// Each change is an `edit.set` op {labelId, patch: {tint?, hidden?, opacity?}} through the
// AnnotationSession (optimistic, shared, undoable like any other op); the server applies the
// room's edits to every member's frames (server/export/appearance.ts), so the change shows live
// for everyone. Unlike the overlay colour, an edit changes the rendered picture itself: the
// client cannot preview it, so the slider and the colour picker send while they move,
// throttled like θ (10 Hz), and their last value on release.
import type { LabelEdit, OpBody } from '../../server/protocol';
import { Throttle } from './region';

type Patch = { tint?: string | null; hidden?: boolean; opacity?: number };

export interface EditTarget {
  submit(body: OpBody, failTitle: string): Promise<unknown>;
  /** The label's edit as this client folds it now (optimistic edits included), or undefined. */
  editOf(labelId: string): LabelEdit | undefined;
}

export const EDIT_HZ = 10;
export const NO_EDIT: LabelEdit = { tint: null, hidden: false, opacity: 1 };

/** Whether an edit changes anything (a label without edits renders as imported). */
export function hasEdit(e: LabelEdit | undefined): boolean {
  return !!e && (e.tint !== null || e.hidden || e.opacity < 1);
}

/** Short description of a label's edit ("hidden", "tint #ff0000 · opacity 0.40"), '' when none. */
export function describeEdit(e: LabelEdit | undefined): string {
  if (!e || !hasEdit(e)) return '';
  const parts: string[] = [];
  if (e.hidden) parts.push('hidden');
  if (e.tint) parts.push(`tint ${e.tint}`);
  if (e.opacity < 1) parts.push(`opacity ${e.opacity.toFixed(2)}`);
  return parts.join(' · ');
}

/** Opacity as sent: 0..1 in steps of 0.01. */
export function cleanOpacity(v: number): number {
  return Number.isFinite(v) ? Math.round(Math.min(1, Math.max(0, v)) * 100) / 100 : 1;
}

/** Tint as sent: lowercase #rrggbb, or null; undefined when not a colour. */
export function cleanTint(v: string | null): string | null | undefined {
  if (v === null) return null;
  const c = v.trim().toLowerCase();
  return /^#[0-9a-f]{6}$/.test(c) ? c : undefined;
}

/** Sends appearance edits of labels, continuous ones (slider, picker) throttled per label and field. */
export class AppearanceEditor {
  private readonly throttles = new Map<string, Throttle<[string, Patch]>>();

  constructor(private readonly target: EditTarget) {}

  /** Tint (null: none). `final` false while the picker is open: sent throttled. */
  setTint(labelId: string, tint: string | null, final = true): void {
    const t = cleanTint(tint);
    if (t === undefined) return;
    this.send(labelId, 'tint', { tint: t }, final);
  }

  setHidden(labelId: string, hidden: boolean): void {
    this.send(labelId, 'hidden', { hidden }, true);
  }

  /** Opacity 0..1. `final` false while the slider is dragged: sent throttled. */
  setOpacity(labelId: string, opacity: number, final = true): void {
    this.send(labelId, 'opacity', { opacity: cleanOpacity(opacity) }, final);
  }

  /** All edits of the label back to none. */
  reset(labelId: string): void {
    for (const [key, th] of this.throttles) if (key.startsWith(`${labelId}\u0000`)) th.cancel();
    const e = this.target.editOf(labelId);
    if (!e || !hasEdit(e)) return;
    this.submit(labelId, { tint: null, hidden: false, opacity: 1 });
  }

  dispose(): void {
    for (const th of this.throttles.values()) th.cancel();
    this.throttles.clear();
  }

  private send(labelId: string, field: keyof Patch, patch: Patch, final: boolean): void {
    const key = `${labelId}\u0000${field}`;
    let th = this.throttles.get(key);
    if (!th) {
      th = new Throttle<[string, Patch]>(1000 / EDIT_HZ, (id, p) => this.submit(id, p));
      this.throttles.set(key, th);
    }
    th.call(labelId, patch);
    if (final) th.flush();
  }

  /** Submits the fields that differ from the label's current edit (nothing when none do). */
  private submit(labelId: string, patch: Patch): void {
    const e = this.target.editOf(labelId);
    if (!e) return; // deleted meanwhile
    const diff: Patch = {};
    if (patch.tint !== undefined && patch.tint !== e.tint) diff.tint = patch.tint;
    if (patch.hidden !== undefined && patch.hidden !== e.hidden) diff.hidden = patch.hidden;
    if (patch.opacity !== undefined && patch.opacity !== e.opacity) diff.opacity = patch.opacity;
    if (Object.keys(diff).length === 0) return;
    void this.target.submit({ type: 'edit.set', labelId, patch: diff }, 'Could not change the label’s appearance');
  }
}
