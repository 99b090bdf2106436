'use client';
// Client side: the appearance edits of a label in the labels panel (issue 8): tint colour (or
// none), hide the object in the render, opacity. Shared with the room as `edit.set` ops
// (appearance.ts); the server draws them into everyone's frames. The overlay's eye (label
// visibility) only hides the mask colour on screens; these change the picture itself.
import { useEffect, useRef, useState } from 'react';
import type { LabelEdit } from '../../server/protocol';
import type { AnnotationSession, LabelRow } from './annotation';
import { AppearanceEditor, describeEdit, hasEdit, NO_EDIT } from './appearance';

const editors = new WeakMap<AnnotationSession, AppearanceEditor>();

/** The editor of this annotation session (one per session, created on first use). */
export function appearanceEditor(annot: AnnotationSession): AppearanceEditor {
  let e = editors.get(annot);
  if (!e) {
    e = new AppearanceEditor({
      submit: (body, failTitle) => annot.submit(body, failTitle),
      editOf: (labelId) => editOfRow(annot.getSnapshot().labels.find((l) => l.id === labelId)),
    });
    editors.set(annot, e);
  }
  return e;
}

function editOfRow(l: LabelRow | undefined): LabelEdit | undefined {
  if (!l) return undefined;
  return l.edit ?? NO_EDIT;
}

/** A small mark in the label row when the label has appearance edits. */
export function AppearanceBadge({ label }: { label: LabelRow }) {
  const e = editOfRow(label);
  if (!hasEdit(e)) return null;
  return (
    <span
      className={`edit-badge ${e!.hidden ? 'edit-badge-hidden' : ''}`}
      data-testid="edit-badge"
      title={`Appearance edits: ${describeEdit(e)} (shown to everyone in the room)`}
      style={e!.tint ? { background: e!.tint } : undefined}
      aria-label={`appearance edits: ${describeEdit(e)}`}
    />
  );
}

function HideIcon({ hidden }: { hidden: boolean }) {
  return (
    <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
      <path d="M3 4.5 7 2l4 2.5v5L7 12 3 9.5z" fill={hidden ? 'none' : 'currentColor'} fillOpacity={0.25} stroke="currentColor" strokeWidth="1.1" strokeLinejoin="round" />
      {hidden && <path d="M2 12 12 2" stroke="currentColor" strokeWidth="1.3" />}
    </svg>
  );
}

export function LabelAppearance({ label, annot, canEdit }: { label: LabelRow; annot: AnnotationSession; canEdit: boolean }) {
  const editor = appearanceEditor(annot);
  const edit = editOfRow(label) ?? NO_EDIT;
  /** The slider's value while it is dragged (the room's value otherwise). */
  const [dragOpacity, setDragOpacity] = useState<number | null>(null);
  const tintRef = useRef<HTMLInputElement>(null);
  const opacity = dragOpacity ?? edit.opacity;

  // The colour input's 'change' fires when the picker closes: the final tint.
  useEffect(() => {
    const el = tintRef.current;
    if (!el) return;
    const onChange = () => editor.setTint(label.id, el.value, true);
    el.addEventListener('change', onChange);
    return () => el.removeEventListener('change', onChange);
  }, [editor, label.id]);

  const disabledTip = canEdit ? '' : ' (your link lets you view this room, not edit it)';
  return (
    <div className="appearance" data-testid="appearance" aria-label={`appearance of ${label.name}`}>
      <span className="muted small appearance-title" title="Appearance edits change how the object is rendered for everyone in the room (masks and exports of masks are not affected)">
        appearance
      </span>
      <label className={`tint-swatch ${edit.tint ? '' : 'tint-none'}`} style={edit.tint ? { background: edit.tint } : undefined} title={(edit.tint ? `Tint ${edit.tint}: click to change` : 'Tint the object (none now)') + disabledTip}>
        <input
          ref={tintRef}
          type="color"
          data-testid="edit-tint"
          aria-label={`tint of ${label.name}`}
          disabled={!canEdit}
          value={edit.tint ?? label.colour}
          onChange={(e) => editor.setTint(label.id, e.currentTarget.value, false)}
        />
      </label>
      {edit.tint && (
        <button className="icon-btn icon-btn-sm" data-testid="edit-tint-none" aria-label={`no tint for ${label.name}`} title="No tint" disabled={!canEdit} onClick={() => editor.setTint(label.id, null)}>
          ×
        </button>
      )}
      <button
        className={`icon-btn icon-btn-sm ${edit.hidden ? 'on' : ''}`}
        data-testid="edit-hide"
        aria-pressed={edit.hidden}
        aria-label={edit.hidden ? `show the object ${label.name} in the render` : `hide the object ${label.name} in the render`}
        title={(edit.hidden ? 'Hidden in everyone’s render: click to show it again' : 'Hide this object in everyone’s render (its mask is kept)') + disabledTip}
        disabled={!canEdit}
        onClick={() => editor.setHidden(label.id, !edit.hidden)}
      >
        <HideIcon hidden={edit.hidden} />
      </button>
      <input
        className="opacity-slider"
        data-testid="edit-opacity"
        type="range"
        min={0}
        max={1}
        step={0.01}
        value={opacity}
        disabled={!canEdit || edit.hidden}
        aria-label={`opacity of ${label.name}`}
        title={edit.hidden ? 'Hidden: show it to change its opacity' : `Opacity ${opacity.toFixed(2)}${disabledTip}`}
        onChange={(e) => {
          const v = Number(e.currentTarget.value);
          setDragOpacity(v);
          editor.setOpacity(label.id, v, false);
        }}
        onPointerUp={(e) => {
          editor.setOpacity(label.id, Number(e.currentTarget.value), true);
          setDragOpacity(null);
        }}
        onKeyUp={(e) => {
          editor.setOpacity(label.id, Number(e.currentTarget.value), true);
          setDragOpacity(null);
        }}
        onBlur={() => setDragOpacity(null)}
      />
      <span className="mono small opacity-value" data-testid="edit-opacity-value">
        {opacity.toFixed(2)}
      </span>
      {hasEdit(edit) && (
        <button className="icon-btn icon-btn-sm" data-testid="edit-reset" aria-label={`reset the appearance of ${label.name}`} title="Reset: the object as imported (no tint, shown, opaque)" disabled={!canEdit} onClick={() => editor.reset(label.id)}>
          ↺
        </button>
      )}
    </div>
  );
}
