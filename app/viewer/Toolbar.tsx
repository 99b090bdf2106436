'use client';
// Client side: the selection toolbar under the top bar. Tools (click / brush B / box X), the
// text query box (Enter), the θ slider with the active selection's score histogram behind it,
// the hover preview count, and the user's display name.
import { useState } from 'react';
import type { AnnotationSession, AnnotationSnapshot, Tool } from './annotation';

const TOOLS: { tool: Tool; label: string; key: string; tip: string }[] = [
  { tool: 'click', label: 'Click', key: 'Esc', tip: 'Click an object to select it (shift: add, alt: subtract); drag to orbit' },
  { tool: 'brush', label: 'Brush', key: 'B', tip: 'Paint over the object (alt: subtract)' },
  { tool: 'box', label: 'Box', key: 'X', tip: 'Drag a box over the object (alt: subtract)' },
];

/** Bars of the score histogram over [-1, 1]; bins at or above θ are brighter. */
function Histogram({ bins, theta }: { bins: readonly number[]; theta: number }) {
  if (bins.length === 0) return null;
  const max = Math.max(...bins.map((b) => Math.log1p(b)), 1e-9);
  const w = 100 / bins.length;
  return (
    <svg className="theta-hist" data-testid="theta-histogram" viewBox="0 0 100 20" preserveAspectRatio="none" aria-hidden="true">
      {bins.map((b, i) => {
        const h = (Math.log1p(b) / max) * 20;
        const lo = -1 + (2 * i) / bins.length;
        return <rect key={i} x={i * w} y={20 - h} width={w * 0.92} height={h} className={lo + 2 / bins.length > theta ? 'hist-on' : 'hist-off'} />;
      })}
    </svg>
  );
}

function UserName({ snap, annot }: { snap: AnnotationSnapshot; annot: AnnotationSession }) {
  const [editing, setEditing] = useState(false);
  if (editing) {
    return (
      <input
        className="input user-name-input"
        data-testid="user-name-input"
        defaultValue={snap.user.name}
        autoFocus
        maxLength={60}
        onFocus={(e) => e.currentTarget.select()}
        onBlur={(e) => {
          annot.setUserName(e.currentTarget.value);
          setEditing(false);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') e.currentTarget.blur();
          else if (e.key === 'Escape') {
            e.currentTarget.value = snap.user.name;
            e.currentTarget.blur();
          }
        }}
      />
    );
  }
  return (
    <button className="user-name" data-testid="user-name" title="Your name as others see it (click to change)" onClick={() => setEditing(true)}>
      <span className="user-dot" />
      {snap.user.name}
    </button>
  );
}

export function Toolbar({ snap, annot }: { snap: AnnotationSnapshot; annot: AnnotationSession }) {
  const [query, setQuery] = useState('');
  const hist = snap.histogram && snap.histogram.selId === snap.activeSelId ? snap.histogram : null;
  const noSemantic = snap.semanticNote !== null;
  // viewers change nothing: no tools, query or θ (the server refuses their ops anyway)
  const viewOnly = snap.role === 'viewer';
  return (
    <div className="toolbar" data-testid="toolbar">
      {viewOnly && (
        <span className="chip role-chip role-viewer" data-testid="view-only" title="Your link lets you look around and follow others; it does not let you change labels. Ask the owner for an annotator link to edit.">
          view only
        </span>
      )}
      {!viewOnly && (
      <>
      <div className="seg-group" role="group" aria-label="selection tool">
        {TOOLS.map((t) => (
          <button
            key={t.tool}
            className={`seg ${snap.tool === t.tool ? 'seg-on' : ''}`}
            data-testid={`tool-${t.tool}`}
            aria-pressed={snap.tool === t.tool}
            title={`${t.tip} (${t.key})`}
            onClick={() => annot.setTool(t.tool)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <input
        className="input query-input"
        data-testid="text-query"
        placeholder={noSemantic ? 'no semantic features' : 'text query ⏎'}
        aria-label="text query"
        value={query}
        maxLength={1000}
        disabled={!snap.joined || noSemantic}
        title={noSemantic ? snap.semanticNote ?? '' : 'Select what matches a description (scenes with CLIP features)'}
        onChange={(e) => setQuery(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            void annot.text(query, { shift: e.shiftKey, alt: e.altKey });
          } else if (e.key === 'Escape') e.currentTarget.blur();
        }}
      />
      <label className="theta" title="Granularity θ: Gaussians whose similarity is at least θ are selected ([ and ] nudge it)">
        <span className="theta-sym">θ</span>
        <span className="theta-track">
          {hist && <Histogram bins={hist.bins} theta={snap.theta} />}
          <input
            className="theta-slider"
            data-testid="theta-slider"
            type="range"
            min={-1}
            max={1}
            step={0.01}
            value={snap.theta}
            aria-label="theta"
            onChange={(e) => annot.setTheta(Number(e.currentTarget.value), false)}
            onPointerUp={(e) => annot.setTheta(Number(e.currentTarget.value), true)}
            onKeyUp={(e) => annot.setTheta(Number(e.currentTarget.value), true)}
            onBlur={(e) => annot.setTheta(Number(e.currentTarget.value), true)}
          />
        </span>
        <span className="theta-value mono" data-testid="theta-value">
          {snap.theta.toFixed(2)}
        </span>
      </label>
      {hist && (
        <span className="muted small mono" data-testid="theta-count" title="Gaussians in the active selection">
          {hist.count.toLocaleString('en-US')} G
        </span>
      )}
      </>
      )}
      <span className="grow" />
      <span className="muted small preview-status" data-testid="preview-count">
        {snap.preview.count !== null ? `preview: ${snap.preview.count.toLocaleString('en-US')} Gaussians` : snap.preview.message ? `preview: ${snap.preview.message}` : ''}
      </span>
      {snap.pending > 0 && (
        <span className="muted small pending-count" data-testid="pending-count" title={snap.joined ? 'Your edits the server has not confirmed yet (already shown)' : 'Your edits made while disconnected: they are sent when the connection is back'}>
          <span className="spinner spinner-sm" />
          {snap.pending} {snap.joined ? 'pending' : 'unsent'}
        </span>
      )}
      <UserName snap={snap} annot={annot} />
    </div>
  );
}
