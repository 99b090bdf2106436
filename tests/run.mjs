#!/usr/bin/env node
// `npm test`: makes sure what the tests need is there (Debian chromium, the native addon,
// the UI build), type-checks, then runs unit, integration and e2e tests with node's runner.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const step = (m) => console.log(`\n▶ ${m}`);
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`✖ ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
};
const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

step('Debian chromium for the browser tests');
if (!has('chromium')) {
  console.log('chromium missing: installing it with apt-get');
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  execSync(`${sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${sudo}apt-get install -y -qq chromium`, { stdio: 'inherit' });
}
console.log(execSync('chromium --version').toString().trim());

step('native addon');
if (!existsSync(path.join(root, 'native/build/Release/splatsync.node'))) run('npm', ['run', 'build:native']);
else console.log('built');

step('web UI build');
run(process.execPath, ['--import', 'tsx', '-e', "const m = await import('./server/ui-build.ts'); await m.ensureUiBuilt(console.log);"]);

step('type check');
run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', '.']);

const only = process.argv[2]; // optional: unit | integration | e2e
const outDir = path.join(root, 'test-output');
mkdirSync(outDir, { recursive: true });
let passed = 0;
let failed = 0;
let skipped = 0;
let status = 0;
for (const suite of ['unit', 'integration', 'e2e']) {
  if (only && only !== suite) continue;
  step(`${suite} tests`);
  const tap = path.join(outDir, `${suite}.tap`);
  // Node 20's runner does not expand globs itself.
  const files = readdirSync(path.join(root, 'tests', suite)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `tests/${suite}/${f}`);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`,
      `--test-concurrency=${suite === 'unit' ? 2 : 1}`, ...files],
    { cwd: root, stdio: 'inherit', env: { ...process.env, SPLATSYNC_TEST: '1' } },
  );
  if (r.status !== 0) status = r.status || 1;
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (k) => Number(text.match(new RegExp(`^# ${k} (\\d+)$`, 'm'))?.[1] ?? 0);
  passed += count('pass');
  failed += count('fail') + count('cancelled');
  skipped += count('skipped');
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status || (failed ? 1 : 0));
