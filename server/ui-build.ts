// The UI is served from Next's production build in .next/. `splatsync serve` (npm start) builds
// it when it is missing or older than the sources, so `npm install && npm start` just works.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Everything the browser bundle imports from server/ counts too (shared schemas and pure code).
const SOURCES = ['app', 'shaders', 'server/protocol', 'server/rooms/state.ts', 'server/auth/roles.ts', 'server/scene/camera.ts', 'server/scene/types.ts', 'next.config.js', 'package.json'];

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of readdirSync(p)) m = Math.max(m, newestMtime(path.join(p, e)));
  return m;
}

export function uiBuildIsCurrent(): boolean {
  const id = path.join(ROOT, '.next', 'BUILD_ID');
  if (!existsSync(id)) return false;
  const built = statSync(id).mtimeMs;
  return SOURCES.every((s) => newestMtime(path.join(ROOT, s)) <= built);
}

export async function buildUi(log: (m: string) => void): Promise<void> {
  log('Building the web UI (next build; first start or changed sources)...');
  const bin = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`next build failed with exit code ${code}`))));
  });
}

export async function ensureUiBuilt(log: (m: string) => void): Promise<void> {
  if (!uiBuildIsCurrent()) await buildUi(log);
}
