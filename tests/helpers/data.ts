// A data dir with the demo scene, shared by the tests of one run and reused across runs
// while the demo generator's sources are unchanged (keyed by their hash).
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SceneStore } from '../../server/scene/store';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TEST_OUTPUT = path.join(ROOT, 'test-output');
export const REALDATA = path.resolve(ROOT, '../shared/realdata');

function demoSourceHash(): string {
  const h = createHash('sha256');
  const files = ['server/scene/bundle.ts', 'server/scene/half.ts', ...readdirSync(path.join(ROOT, 'server/scene/demo')).sort().map((f) => `server/scene/demo/${f}`)];
  for (const f of files) h.update(readFileSync(path.join(ROOT, f)));
  return h.digest('hex').slice(0, 12);
}

export async function demoDataDir(): Promise<string> {
  const dir = path.join(TEST_OUTPUT, `data-demo-${demoSourceHash()}`);
  await new SceneStore(dir).ensureDemo();
  return dir;
}

/**
 * A data dir of its own (its own splatsync.db, secret and exports, so no room state or links
 * from earlier runs) that shares the demo scene's bundle through a symlink to its scenes/.
 */
export async function ownDemoDataDir(prefix: string, parent: string = os.tmpdir()): Promise<string> {
  const dir = mkdtempSync(path.join(parent, prefix));
  symlinkSync(path.join(await demoDataDir(), 'scenes'), path.join(dir, 'scenes'), 'dir');
  return dir;
}
