'use client';
// Client side: "mask vs photo" (issue 8). While the camera is exactly at a dataset view (the
// view picker, ViewerSnapshot.viewIndex), the frame can be swapped for the dataset's own photo
// of that view: GET /api/scenes/<scene>/views/<index>/image (credentials in a header, see
// app/lib/api-auth.ts). The stage draws the photo inside the view's rectangle, under the same
// label overlay, so the masks can be checked against what the camera really saw
// (shaders/frame.frag). The route answers 404 with a reason when the scene has no source
// photos (the demo scene, scenes imported without their dataset): the toggle is then disabled
// with that reason as its tooltip.
//
// The photo of the current view is fetched when the camera arrives at it (that is how we learn
// whether there is one); blobs of the last few views are kept, so going back and forth between
// views does not fetch again.
import { apiHeaders } from '../lib/api-auth';
import { apiUrl } from '../lib/server-url';

export type PhotoStatus = 'no-view' | 'loading' | 'ok' | 'missing' | 'error';

export interface PhotoSnapshot {
  /** The user wants the photo instead of the frame (kept while moving between views). */
  on: boolean;
  /** The dataset view the camera is at (null: free camera). */
  viewIndex: number | null;
  status: PhotoStatus;
  /** Why the photo cannot be shown (missing / error), as the server said it. */
  reason: string | null;
  /** The photo is on the canvas now. */
  shown: boolean;
}

export interface PhotoHost {
  readonly sceneId: string;
  /** The dataset view the camera is at, and its changes. */
  viewIndex(): number | null;
  subscribe(fn: () => void): () => void;
  /** Draw this photo instead of the frame in the view's rectangle (null: the frame again). */
  showPhoto(bitmap: ImageBitmap | null): void;
}

interface Entry {
  status: 'ok' | 'missing' | 'error';
  blob?: Blob;
  reason?: string;
}

const CACHE_VIEWS = 8;

export class PhotoSession {
  private state: PhotoSnapshot = { on: false, viewIndex: null, status: 'no-view', reason: null, shown: false };
  private readonly listeners = new Set<() => void>();
  private readonly cache = new Map<number, Entry>();
  private loadSeq = 0;
  private showSeq = 0;
  private readonly unsubscribe: () => void;
  private disposed = false;

  constructor(private readonly host: PhotoHost) {
    this.unsubscribe = host.subscribe(() => this.sync());
  }

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  readonly getSnapshot = (): PhotoSnapshot => this.state;

  private patch(p: Partial<PhotoSnapshot>): void {
    this.state = { ...this.state, ...p };
    for (const fn of this.listeners) fn();
  }

  dispose(): void {
    this.disposed = true;
    this.unsubscribe();
    this.listeners.clear();
    this.cache.clear();
  }

  /** Whether the toggle can be used now. */
  get available(): boolean {
    return this.state.status === 'ok';
  }

  setOn(on: boolean): void {
    if (on === this.state.on) return;
    this.patch({ on });
    this.apply();
  }

  toggle(): void {
    if (this.state.on || this.available) this.setOn(!this.state.on);
  }

  /** The view changed (or not): load its photo, show or hide it. */
  private sync(): void {
    if (this.disposed) return;
    const index = this.host.viewIndex();
    if (index === this.state.viewIndex) return;
    if (index === null) {
      this.loadSeq++;
      this.patch({ viewIndex: null, status: 'no-view', reason: null });
      this.apply();
      return;
    }
    const cached = this.cache.get(index);
    if (cached) {
      this.cache.delete(index); // most recently used last
      this.cache.set(index, cached);
      this.patch({ viewIndex: index, status: cached.status, reason: cached.reason ?? null });
      this.apply();
      return;
    }
    this.patch({ viewIndex: index, status: 'loading', reason: null });
    this.apply();
    void this.load(index);
  }

  private async load(index: number): Promise<void> {
    const seq = ++this.loadSeq;
    let entry: Entry;
    try {
      const res = await fetch(apiUrl(`/api/scenes/${encodeURIComponent(this.host.sceneId)}/views/${index}/image`), { headers: await apiHeaders() });
      if (res.ok) {
        entry = { status: 'ok', blob: await res.blob() };
      } else {
        let reason = `the server answered HTTP ${res.status}`;
        try {
          const body = (await res.json()) as { error?: unknown };
          if (typeof body.error === 'string') reason = body.error;
        } catch {
          // not JSON
        }
        // 404: this view has no photo (a lasting fact); anything else may pass: not cached
        entry = { status: res.status === 404 ? 'missing' : 'error', reason };
      }
    } catch (err) {
      entry = { status: 'error', reason: `the photo could not be fetched (${(err as Error).message})` };
    }
    if (this.disposed) return;
    if (entry.status !== 'error') {
      this.cache.set(index, entry);
      while (this.cache.size > CACHE_VIEWS) this.cache.delete(this.cache.keys().next().value!);
    }
    if (seq !== this.loadSeq || this.state.viewIndex !== index) return;
    this.patch({ status: entry.status, reason: entry.reason ?? null });
    this.apply();
  }

  /** Puts the photo on the stage when wanted and loaded; else the frame. */
  private apply(): void {
    const index = this.state.viewIndex;
    const entry = index === null ? undefined : this.cache.get(index);
    const want = this.state.on && this.state.status === 'ok' && !!entry?.blob;
    const seq = ++this.showSeq;
    if (!want) {
      if (this.state.shown) {
        this.host.showPhoto(null);
        this.patch({ shown: false });
      }
      return;
    }
    void createImageBitmap(entry!.blob!, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' }).then(
      (bitmap) => {
        if (this.disposed || seq !== this.showSeq) {
          bitmap.close();
          return;
        }
        this.host.showPhoto(bitmap);
        if (!this.state.shown) this.patch({ shown: true });
      },
      (err: Error) => {
        if (this.disposed || seq !== this.showSeq) return;
        if (index !== null) this.cache.delete(index);
        this.patch({ status: 'error', reason: `the photo could not be decoded (${err.message})`, shown: false });
        this.host.showPhoto(null);
      },
    );
  }
}

/** The toggle's tooltip for a snapshot. */
export function photoTitle(s: PhotoSnapshot): string {
  switch (s.status) {
    case 'no-view':
      return 'Pick a dataset view (the view menu) to compare the masks with its photo';
    case 'loading':
      return 'Loading the dataset photo of this view…';
    case 'missing':
      return `No photo: ${s.reason ?? 'this view has no source photo'}`;
    case 'error':
      return `The photo is unavailable: ${s.reason ?? 'unknown error'}`;
    case 'ok':
      return s.on ? 'Showing the dataset photo under the masks: click (P) for the rendered frame' : 'Show the dataset photo of this view under the masks (P)';
  }
}
