// The `splatsync` command as a user runs it: exit codes, stderr messages, files written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { demoDataDir, ROOT } from '../helpers/data';
import { startCli } from '../helpers/server';

let data: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'splatsync-cli-'));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin/splatsync.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

before(async () => {
  data = await demoDataDir();
});

test('render --view writes a PNG at the dataset camera size', async () => {
  const out = path.join(tmp, 'v3.png');
  const r = cli('render', '--data', data, '--scene', 'demo', '--view', '3', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const meta = await sharp(out).metadata();
  assert.equal(meta.format, 'png');
  assert.ok(meta.width! > 0 && meta.height! > 0);
  const st = await sharp(out).stats();
  assert.ok(st.channels.some((c) => c.stdev > 10), 'not a blank image');
});

test('render --camera with --width/--height and --t', async () => {
  const cam = path.join(tmp, 'cam.json');
  const home = JSON.parse(spawnSync(process.execPath, ['-e', `process.stdout.write(require('fs').readFileSync(${JSON.stringify(path.join(data, 'scenes/demo/bundle.json'))}, 'utf8'))`], { encoding: 'utf8' }).stdout).home.camera;
  writeFileSync(cam, JSON.stringify(home));
  const out = path.join(tmp, 'cam.png');
  const r = cli('render', '--data', data, '--scene', 'demo', '--camera', cam, '--t', '0.6', '--width', '160', '--height', '120', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height], [160, 120]);
});

test('bad arguments fail with a message and a non-zero exit', () => {
  const cases: [string[], RegExp][] = [
    [['render', '--data', data, '--scene', 'demo', '--out', path.join(tmp, 'x.png')], /exactly one of --view K or --camera FILE/],
    [['render', '--data', data, '--scene', 'demo', '--view', '9999', '--out', path.join(tmp, 'x.png')], /has \d+ views/],
    [['render', '--data', data, '--scene', 'nope', '--view', '0', '--out', path.join(tmp, 'x.png')], /scene nope not found/],
    [['render', '--data', data, '--scene', 'demo', '--view', 'abc', '--out', path.join(tmp, 'x.png')], /--view expects an integer/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['serve', '--port', '99999'], /--port must be <= 65535/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
  const badCam = path.join(tmp, 'bad.json');
  writeFileSync(badCam, JSON.stringify({ width: 10 }));
  const r = cli('render', '--data', data, '--scene', 'demo', '--camera', badCam, '--out', path.join(tmp, 'x.png'));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--camera .*bad\.json: .*height/);
});

test('info reports the backends', () => {
  const r = cli('info');
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { version: string; backends: { cpu: boolean; cuda: { compiled: boolean; devices: number } } };
  assert.equal(info.backends.cpu, true);
  assert.equal(typeof info.backends.cuda.compiled, 'boolean');
});

test('serve --no-ui starts on a free port, prints its URL, answers health, stops on SIGTERM', async () => {
  const srv = await startCli(['--data', data, '--no-ui']);
  try {
    assert.match(srv.output(), /backend cpu/);
    const health = (await (await fetch(`${srv.url}/api/health`)).json()) as { ok: boolean };
    assert.equal(health.ok, true);
    const page = await fetch(`${srv.url}/s/demo`);
    assert.equal(page.status, 404);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});
