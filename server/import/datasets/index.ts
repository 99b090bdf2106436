// Dataset kind detection and one entry point for the readers.
import path from 'node:path';
import { ImportInputError, isDir, isFile, type DatasetKind, type DatasetReadResult } from './common';
import { readDNerf } from './dnerf';
import { readHyperNerf, type HyperNerfOptions } from './hypernerf';

export { ImportInputError, type DatasetKind, type DatasetReadResult } from './common';
export { readDNerf, DNERF_DEFAULT_SIZE } from './dnerf';
export { readHyperNerf, type HyperNerfOptions, type HyperNerfReadResult } from './hypernerf';

/**
 * What kind of dataset `dir` holds, as Deformable-3DGS's Scene decides it: transforms_train.json
 * -> 'dnerf'; dataset.json (with metadata.json) -> 'hypernerf'; otherwise undefined.
 */
export async function detectDatasetKind(dir: string): Promise<DatasetKind | undefined> {
  if (!(await isDir(dir))) return undefined;
  if (await isFile(path.join(dir, 'transforms_train.json'))) return 'dnerf';
  if ((await isFile(path.join(dir, 'dataset.json'))) && (await isFile(path.join(dir, 'metadata.json')))) return 'hypernerf';
  return undefined;
}

/** Detects the kind (unless given) and reads the dataset. */
export async function readDataset(dir: string, opts: { kind?: DatasetKind; hypernerf?: HyperNerfOptions } = {}): Promise<DatasetReadResult> {
  const root = path.resolve(dir);
  const kind = opts.kind ?? (await detectDatasetKind(root));
  if (kind === 'dnerf') return readDNerf(root);
  if (kind === 'hypernerf') return readHyperNerf(root, opts.hypernerf);
  if (!(await isDir(root))) throw new ImportInputError(root, 'dataset directory not found');
  throw new ImportInputError(
    root,
    'not a known dataset: expected transforms_train.json (D-NeRF) or dataset.json + metadata.json (HyperNeRF)',
  );
}
