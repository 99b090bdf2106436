'use client';
// Client side: the "photo" toggle beside the dataset-view picker (photo.ts): at a dataset view,
// the rendered frame or the dataset's own photo under the same masks (P). Disabled, with the
// reason as its tooltip, away from a view or when the view has no photo.
import { useSyncExternalStore } from 'react';
import { photoTitle, type PhotoSession } from './photo';

const noop = () => () => {};

export function PhotoToggle({ photo }: { photo: PhotoSession | null }) {
  const snap = useSyncExternalStore(photo ? photo.subscribe : noop, () => photo?.getSnapshot() ?? null, () => null);
  if (!photo || !snap) return null;
  const usable = snap.status === 'ok';
  const on = snap.on && usable;
  const title = photoTitle(snap);
  return (
    <span className="photo-toggle-wrap" title={title} data-testid="photo-toggle-wrap">
      <button
        className={`btn btn-ghost btn-sm photo-toggle ${on ? 'on' : ''}`}
        data-testid="photo-toggle"
        data-status={snap.status}
        data-shown={snap.shown ? 'true' : 'false'}
        aria-pressed={on}
        aria-label={on ? 'show the rendered frame' : 'show the dataset photo'}
        title={title}
        disabled={!usable && !snap.on}
        onClick={() => photo.setOn(!snap.on)}
      >
        {snap.status === 'loading' ? 'photo…' : 'photo'}
      </button>
    </span>
  );
}
