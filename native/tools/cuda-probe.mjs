#!/usr/bin/env node
// Build-time probe for binding.gyp: is there an nvcc to build the CUDA backend with, and where
// is its CUDA toolkit? Prints one answer per call (gyp runs it through <!(...)):
//   nvcc     absolute path of nvcc, or nothing when the CUDA backend is not to be built
//   libdir   directory holding libcudart_static.a
//   gencode  the nvcc -gencode flags, one per line (gyp's <!@ splits them)
//   archs    the compiled targets as one token for the build's description, e.g. sm_80+sm_90+compute_90
//   report   a human-readable line (stderr), for the build log
// Environment:
//   SPLATSYNC_NO_CUDA=1          build CPU-only even when nvcc exists
//   SPLATSYNC_NVCC=/path/nvcc    use this nvcc (else $CUDA_HOME/bin/nvcc, $CUDA_PATH/bin/nvcc, nvcc on PATH,
//                                /usr/local/cuda/bin/nvcc)
//   SPLATSYNC_CUDA_ARCHS="80 90" SASS targets (default 80 86 89 90; PTX for the highest is always added)
// A CUDA toolkit older than 11.8 (no sm_90) is not used: the addon is then CPU-only, and says so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const what = process.argv[2] ?? 'report';

/** stdout + stderr of a successful run, else null. */
function run(file, args) {
  const r = spawnSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return r.status === 0 ? `${r.stdout}${r.stderr}` : null;
}

function findNvcc() {
  if (['1', 'true', 'yes'].includes((process.env.SPLATSYNC_NO_CUDA ?? '').toLowerCase())) return { nvcc: null, why: 'SPLATSYNC_NO_CUDA is set' };
  const candidates = [];
  if (process.env.SPLATSYNC_NVCC) candidates.push(process.env.SPLATSYNC_NVCC);
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(path.join(process.env[v], 'bin', 'nvcc'));
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const version = run(c, ['--version']);
    if (!version) continue;
    const m = /release (\d+)\.(\d+)/.exec(version);
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    if (major < 11 || (major === 11 && minor < 8)) {
      return { nvcc: null, why: `${c} is CUDA ${major}.${minor}; the CUDA backend needs 11.8 or newer (sm_90)` };
    }
    // The toolkit root as nvcc itself sees it (nvcc on PATH may be a wrapper script).
    const dry = run(c, ['--dryrun', '-c', '-x', 'cu', '/dev/null', '-o', '/dev/null']) ?? '';
    const top = /^#\$ TOP=(.*)$/m.exec(dry)?.[1] ?? path.join(path.dirname(c), '..');
    return { nvcc: path.resolve(c), top: path.resolve(top), version: `${major}.${minor}` };
  }
  return { nvcc: null, why: 'nvcc was not found (set SPLATSYNC_NVCC or CUDA_HOME, or put nvcc on PATH)' };
}

function libdir(top) {
  for (const d of ['lib64', 'lib', 'targets/x86_64-linux/lib', 'targets/sbsa-linux/lib', 'targets/aarch64-linux/lib']) {
    if (existsSync(path.join(top, d, 'libcudart_static.a'))) return path.join(top, d);
  }
  return null;
}

function archs() {
  const list = (process.env.SPLATSYNC_CUDA_ARCHS ?? '80 86 89 90').split(/[\s,;]+/).filter(Boolean).map((a) => a.replace(/^sm_/, ''));
  for (const a of list) if (!/^\d{2,3}a?$/.test(a)) throw new Error(`SPLATSYNC_CUDA_ARCHS: bad architecture ${a}`);
  return list;
}

const found = findNvcc();
const lib = found.nvcc ? libdir(found.top) : null;
const usable = Boolean(found.nvcc && lib);
switch (what) {
  case 'nvcc':
    process.stdout.write(usable ? found.nvcc : '');
    break;
  case 'libdir':
    process.stdout.write(usable ? lib : '');
    break;
  case 'gencode': {
    const list = archs();
    const top = list[list.length - 1];
    const flags = list.map((a) => `-gencode=arch=compute_${a},code=sm_${a}`);
    flags.push(`-gencode=arch=compute_${top},code=compute_${top}`);
    process.stdout.write(flags.join('\n'));
    break;
  }
  case 'archs': {
    const list = archs();
    process.stdout.write([...list.map((a) => `sm_${a}`), `compute_${list[list.length - 1]}`].join('+'));
    break;
  }
  default:
    if (usable) process.stderr.write(`splatsync: building the CUDA backend with ${found.nvcc} (CUDA ${found.version}, ${lib})\n`);
    else if (found.nvcc) process.stderr.write(`splatsync: CPU-only build: no libcudart_static.a under ${found.top}\n`);
    else process.stderr.write(`splatsync: CPU-only build: ${found.why}\n`);
}
