'use client';
// Client side: the left "Labels" panel. Labels in room order with colour swatch (recolour),
// name (double-click to rename), show/hide, isolate (client only) and delete; "+ New label";
// the active label's selections (kind, mode, θ, author) with remove buttons, and how its
// clicks combine, and its appearance edits (LabelAppearance.tsx). All changes go through the
// AnnotationSession.
import { useEffect, useRef, useState } from 'react';
import type { AnnotationSession, AnnotationSnapshot, LabelRow, SelectionRow } from './annotation';
import { AppearanceBadge, LabelAppearance } from './LabelAppearance';

function EyeIcon({ open }: { open: boolean }) {
  return (
    <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
      <path d="M1 7s2.2-4 6-4 6 4 6 4-2.2 4-6 4-6-4-6-4z" fill="none" stroke="currentColor" strokeWidth="1.2" />
      {open ? <circle cx="7" cy="7" r="1.8" fill="currentColor" /> : <path d="M2 12 12 2" stroke="currentColor" strokeWidth="1.3" />}
    </svg>
  );
}

function IsolateIcon() {
  return (
    <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
      <circle cx="7" cy="7" r="5" fill="none" stroke="currentColor" strokeWidth="1.2" />
      <circle cx="7" cy="7" r="2" fill="currentColor" />
    </svg>
  );
}

/** Colour input: live preview while picking (input), committed when the picker closes (change). */
function ColourSwatch({ label, annot, edit }: { label: LabelRow; annot: AnnotationSession; edit: boolean }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const onChange = () => annot.setColour(label.id, el.value, true);
    el.addEventListener('change', onChange);
    return () => el.removeEventListener('change', onChange);
  }, [annot, label.id]);
  if (!edit) return <span className="swatch" style={{ background: label.colour }} />;
  return (
    <label className="swatch" style={{ background: label.colour }} title="Recolour" onClick={(e) => e.stopPropagation()}>
      <input
        ref={ref}
        type="color"
        data-testid="label-colour"
        aria-label={`colour of ${label.name}`}
        value={label.colour}
        onChange={(e) => annot.setColour(label.id, e.currentTarget.value, false)}
      />
    </label>
  );
}

function LabelName({ label, annot, edit }: { label: LabelRow; annot: AnnotationSession; edit: boolean }) {
  const [editing, setEditing] = useState(false);
  if (editing) {
    return (
      <input
        className="input label-name-input"
        data-testid="label-name-input"
        defaultValue={label.name}
        autoFocus
        maxLength={80}
        onClick={(e) => e.stopPropagation()}
        onFocus={(e) => e.currentTarget.select()}
        onBlur={(e) => {
          annot.rename(label.id, e.currentTarget.value);
          setEditing(false);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') e.currentTarget.blur();
          else if (e.key === 'Escape') {
            e.currentTarget.value = label.name;
            e.currentTarget.blur();
          }
          e.stopPropagation();
        }}
      />
    );
  }
  return (
    <span className="label-name" data-testid="label-name" title={edit ? 'Double-click to rename' : label.name} onDoubleClick={() => edit && setEditing(true)}>
      {label.name}
    </span>
  );
}

function kindText(s: SelectionRow): string {
  return s.kind === 'click' ? 'click' : s.kind === 'text' ? 'text' : 'region';
}

function Selections({ label, snap, annot }: { label: LabelRow; snap: AnnotationSnapshot; annot: AnnotationSession }) {
  const hist = snap.histogram;
  const edit = snap.role !== 'viewer';
  return (
    <div className="sel-list" data-testid="selections">
      {edit && (
      <div className="combine" role="group" aria-label="combine clicks">
        <span className="muted small">combine</span>
        {(['union', 'mean'] as const).map((c) => (
          <button
            key={c}
            className={`seg ${label.combine === c ? 'seg-on' : ''}`}
            data-testid={`combine-${c}`}
            aria-pressed={label.combine === c}
            title={c === 'union' ? 'Each click selects on its own; the label is their union' : 'One query: the mean feature of all the clicks'}
            onClick={() => annot.setCombine(c)}
          >
            {c}
          </button>
        ))}
      </div>
      )}
      {label.selections.length === 0 && (
        <div className="muted small sel-empty">{snap.semanticNote ? 'Brush (B) or box (X) the object.' : 'Click the object, type a query, or brush (B) / box (X) it.'}</div>
      )}
      {label.selections.map((s) => {
        const active = s.id === snap.activeSelId;
        return (
          <div
            key={s.id}
            className={`sel-row ${active ? 'sel-active' : ''} ${s.pending ? 'sel-pending' : ''}`}
            data-testid="sel-row"
            data-sel-id={s.id}
            title={`${s.kind} ${s.mode} · ${s.detail} · by ${s.author}${s.pending ? ' · not confirmed by the server yet' : ''}${s.kind !== 'region' ? ' · click to adjust its θ' : ''}`}
            onClick={() => s.kind !== 'region' && annot.chooseSelection(label.id, s.id)}
          >
            <span className={`sel-mode ${s.mode === 'subtract' ? 'sel-sub' : ''}`}>{s.mode === 'add' ? '+' : '−'}</span>
            <span className="sel-kind">{kindText(s)}</span>
            <span className="sel-theta mono">{s.kind === 'region' ? '' : `θ ${s.theta.toFixed(2)}`}</span>
            <span className="sel-author">{s.author}</span>
            {active && hist && hist.selId === s.id && <span className="sel-count mono" data-testid="sel-count">{hist.count.toLocaleString('en-US')}</span>}
            {edit && (
            <button
              className="icon-btn icon-btn-sm"
              data-testid="sel-remove"
              aria-label="remove selection"
              title="Remove this selection"
              onClick={(e) => {
                e.stopPropagation();
                annot.removeSelection(label.id, s.id);
              }}
            >
              ×
            </button>
            )}
          </div>
        );
      })}
    </div>
  );
}

export function LabelsPanel({ snap, annot }: { snap: AnnotationSnapshot; annot: AnnotationSession }) {
  // viewers see the labels (and may isolate one on their screen) but change nothing
  const edit = snap.role !== 'viewer';
  return (
    <aside className="labels-panel" data-testid="labels-panel" aria-label="labels">
      <div className="labels-head">
        <span className="panel-title">Labels</span>
        <span className="grow" />
        {edit && (
          <button className="btn btn-ghost btn-sm" data-testid="new-label" title="New label (N)" disabled={!snap.canEdit} onClick={() => void annot.createLabel()}>
            + New label
          </button>
        )}
      </div>
      {!snap.joined && (
        <div className="muted small labels-empty">{snap.canEdit ? 'Reconnecting… edits made meanwhile are sent when the connection is back.' : 'Opening the room…'}</div>
      )}
      {snap.joined && snap.labels.length === 0 && (
        <div className="muted small labels-empty">
          {!edit ? 'No labels yet. Annotators\' labels show up here as they make them.' : snap.semanticNote ? 'No labels yet. Brush (B) or box (X) an object to start one, or press N.' : 'No labels yet. Click on an object to start one, or press N.'}
        </div>
      )}
      <ul className="labels">
        {snap.labels.map((l) => {
          const active = l.id === snap.activeLabelId;
          const dimmed = !l.visible || (snap.isolated !== null && snap.isolated !== l.id);
          return (
            <li key={l.id} className={`label-item ${active ? 'label-active' : ''}`}>
              <div
                className={`label-row ${dimmed ? 'label-dim' : ''} ${l.pending ? 'label-pending' : ''}`}
                title={`${l.name} · created by ${l.createdBy}${l.pending ? ' · not confirmed by the server yet' : ''}`}
                data-testid="label-row"
                data-label-id={l.id}
                aria-current={active}
                onClick={() => annot.activate(l.id)}
              >
                <ColourSwatch label={l} annot={annot} edit={edit} />
                <LabelName label={l} annot={annot} edit={edit} />
                <span className="muted small label-sels">{l.selections.length || ''}</span>
                <AppearanceBadge label={l} />
                {edit && (
                <button
                  className={`icon-btn icon-btn-sm ${l.visible ? '' : 'off'}`}
                  data-testid="label-eye"
                  aria-label={l.visible ? `hide ${l.name}` : `show ${l.name}`}
                  aria-pressed={!l.visible}
                  title={l.visible ? 'Hide (H)' : 'Show (H)'}
                  onClick={(e) => {
                    e.stopPropagation();
                    annot.setVisible(l.id, !l.visible);
                  }}
                >
                  <EyeIcon open={l.visible} />
                </button>
                )}
                <button
                  className={`icon-btn icon-btn-sm ${snap.isolated === l.id ? 'on' : ''}`}
                  data-testid="label-isolate"
                  aria-label={`isolate ${l.name}`}
                  aria-pressed={snap.isolated === l.id}
                  title={snap.isolated === l.id ? 'Show all labels again' : 'Show only this label (on this screen)'}
                  onClick={(e) => {
                    e.stopPropagation();
                    annot.toggleIsolate(l.id);
                  }}
                >
                  <IsolateIcon />
                </button>
                {edit && (
                <button
                  className="icon-btn icon-btn-sm danger"
                  data-testid="label-delete"
                  aria-label={`delete ${l.name}`}
                  title="Delete the label (Ctrl+Z brings it back)"
                  onClick={(e) => {
                    e.stopPropagation();
                    annot.deleteLabel(l.id);
                  }}
                >
                  ×
                </button>
                )}
              </div>
              {active && <Selections label={l} snap={snap} annot={annot} />}
              {active && edit && <LabelAppearance label={l} annot={annot} canEdit={snap.canEdit} />}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
