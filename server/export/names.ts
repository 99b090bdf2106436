// File names in an export: views are `<split>_<K>` plus the source image's stem (DESIGN.md §4),
// labels are their names made safe for every file system, both unique within an export.
import path from 'node:path';
import type { DatasetView } from '../protocol/events';

export type SplitSelection = 'all' | 'train' | 'test' | 'val';
export const SPLITS: readonly SplitSelection[] = ['all', 'train', 'test', 'val'];

/** The views of a split in the dataset's own order ('all': every view as the scene lists them). */
export function selectViews(views: readonly DatasetView[], split: SplitSelection): DatasetView[] {
  return split === 'all' ? [...views] : views.filter((v) => v.split === split);
}

/** Characters kept in file names; anything else becomes '_'. */
function safe(s: string): string {
  return s
    .normalize('NFKC')
    .replace(/[^A-Za-z0-9._ -]+/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+/, '') // no hidden files, no '..'
    .slice(0, 80)
    .replace(/[.\s]+$/, ''); // Windows drops trailing dots and spaces
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/i;

/** Makes names unique (case-insensitively, for case-insensitive file systems) by suffixing _2, _3, ... */
function uniquify(names: string[]): string[] {
  const taken = new Set<string>();
  return names.map((n) => {
    let name = n;
    for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${n}_${k}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/** `<split>_<index>` plus `_<image stem>` when the view has a source image. */
export function baseViewName(v: DatasetView): string {
  const stem = v.image ? safe(path.basename(v.image).replace(/\.[^.]*$/, '')).replace(/ /g, '_') : '';
  return stem ? `${v.split}_${v.index}_${stem}` : `${v.split}_${v.index}`;
}

export function viewNames(views: readonly DatasetView[]): string[] {
  return uniquify(views.map(baseViewName));
}

/** File names (without extension) for label names: safe characters, never empty, unique. */
export function labelFileNames(names: readonly string[]): string[] {
  return uniquify(
    names.map((n) => {
      let s = safe(n);
      if (!s) s = 'label';
      if (WINDOWS_RESERVED.test(s)) s = `${s}_`;
      return s;
    }),
  );
}
