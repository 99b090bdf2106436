// The viewer's export, evaluation, appearance-edit and photo helpers (app/viewer/export-session.ts,
// appearance.ts, photo.ts, app/lib/api-auth.ts): export job events (also before the ack), a lost
// connection, the report's grouping for display, throttled edit.set ops, file names from
// Content-Disposition, the photo toggle's tooltips.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filenameFromDisposition, sanitizeFileName } from '../../app/lib/api-auth';
import { AppearanceEditor, cleanOpacity, cleanTint, describeEdit, hasEdit, type EditTarget } from '../../app/viewer/appearance';
import { evalHint, exportHint, ExportSession, formatBytes, formatIoU, groupProblems, iouMatrix } from '../../app/viewer/export-session';
import { photoTitle } from '../../app/viewer/photo';
import type { LabelEdit, OpBody } from '../../server/protocol';

test('file names from Content-Disposition, without directories', () => {
  assert.equal(filenameFromDisposition('attachment; filename="demo-main-masks-v3-1labels.zip"'), 'demo-main-masks-v3-1labels.zip');
  assert.equal(filenameFromDisposition('attachment; filename=plain.zip'), 'plain.zip');
  assert.equal(filenameFromDisposition("attachment; filename*=UTF-8''caf%C3%A9.zip"), 'café.zip');
  assert.equal(filenameFromDisposition('attachment; filename="../../etc/passwd"'), 'passwd');
  assert.equal(filenameFromDisposition('attachment'), null);
  assert.equal(filenameFromDisposition(null), null);
  assert.equal(sanitizeFileName('..'), 'download');
  assert.equal(sanitizeFileName('a\u0000b.zip'), 'ab.zip');
});

interface Emitted {
  event: string;
  payload: unknown;
  ack: (err: Error | null, res: unknown) => void;
}

function fakeSocket(connected = true) {
  const emitted: Emitted[] = [];
  const socket = {
    connected,
    timeout: () => ({
      emit: (event: string, payload: unknown, ack: (err: Error | null, res: unknown) => void) => emitted.push({ event, payload, ack }),
    }),
  };
  return { socket, emitted };
}

test('an export job: progress (also before the ack), then the download', async () => {
  const { socket, emitted } = fakeSocket();
  const s = new ExportSession({ sceneId: 'demo', socket: () => socket as never });
  s.start({ kind: 'masks', split: 'test', formats: ['png'] });
  assert.equal(s.getSnapshot().export.phase, 'failed', 'no room joined yet');
  assert.match(s.getSnapshot().export.failure!.title, /Not connected/);

  s.setRoom('main');
  s.start({ kind: 'masks', split: 'test', formats: ['png'] });
  assert.equal(emitted.length, 1);
  assert.equal(emitted[0]!.event, 'export:start');
  assert.deepEqual(emitted[0]!.payload, { kind: 'masks', split: 'test', formats: ['png'] });
  assert.equal(s.getSnapshot().export.phase, 'starting');
  assert.ok(s.busy);
  s.start({ kind: 'ply', features: false }); // ignored while one runs
  assert.equal(emitted.length, 1);

  // the job reports before its ack arrives; someone else's job and other kinds are ignored
  s.onProgress({ jobId: 'j1', kind: 'export', fraction: 0.25, message: 'view 1/4' });
  s.onProgress({ jobId: 'j1', kind: 'bake', fraction: 0.9, message: 'not ours' });
  emitted[0]!.ack(null, { ok: true, data: { jobId: 'j1' } });
  assert.equal(s.getSnapshot().export.phase, 'running');
  assert.equal(s.getSnapshot().export.fraction, 0.25);
  assert.equal(s.getSnapshot().export.message, 'view 1/4');
  s.onProgress({ jobId: 'other', kind: 'export', fraction: 0.9, message: 'not ours' });
  s.onProgress({ jobId: 'j1', kind: 'export', fraction: 0.75, message: 'view 3/4' });
  assert.equal(s.getSnapshot().export.fraction, 0.75);

  // done: the download starts (in node there is no page to fetch from: it fails, and says so,
  // keeping the download path so it can be tried again)
  s.onDone({ jobId: 'j1', kind: 'export', ok: true, message: 'exported masks of room main (version 3): 0.1 MB', warnings: [], download: '/api/downloads/x' });
  assert.equal(s.getSnapshot().export.phase, 'downloading');
  assert.equal(s.getSnapshot().export.summary, 'exported masks of room main (version 3): 0.1 MB');
  for (let i = 0; i < 50 && s.getSnapshot().export.phase === 'downloading'; i++) await new Promise((r) => setTimeout(r, 10));
  const e = s.getSnapshot().export;
  assert.equal(e.phase, 'failed');
  assert.match(e.failure!.title, /download failed/);
  assert.equal(e.download, '/api/downloads/x', 'kept: "try the download again"');
  s.resetExport();
  assert.equal(s.getSnapshot().export.phase, 'idle');
  s.dispose();
});

test('an export refused, failed, or lost with the connection says what to do', () => {
  const { socket, emitted } = fakeSocket();
  const s = new ExportSession({ sceneId: 'demo', socket: () => socket as never });
  s.setRoom('main');
  s.start({ kind: 'masks', split: 'all', formats: ['png'] });
  emitted[0]!.ack(null, { ok: false, code: 'forbidden', message: 'export:start: viewers cannot export masks (export:start needs the annotator role)' });
  let e = s.getSnapshot().export;
  assert.equal(e.phase, 'failed');
  assert.match(e.failure!.hint, /annotator link/);

  s.start({ kind: 'ply', labelId: 'l1', features: true });
  emitted[1]!.ack(null, { ok: true, data: { jobId: 'j2' } });
  s.onDone({ jobId: 'j2', kind: 'export', ok: false, message: 'boom', warnings: [] });
  e = s.getSnapshot().export;
  assert.equal(e.phase, 'failed');
  assert.equal(e.failure!.message, 'boom');

  s.start({ kind: 'masks', split: 'all', formats: ['png'] });
  emitted[2]!.ack(null, { ok: true, data: { jobId: 'j3' } });
  s.onDisconnect();
  e = s.getSnapshot().export;
  assert.equal(e.phase, 'failed');
  assert.match(e.failure!.title, /Lost track/);
  // a late event of the lost job changes nothing
  s.onDone({ jobId: 'j3', kind: 'export', ok: true, message: 'late', warnings: [], download: '/api/downloads/y' });
  assert.equal(s.getSnapshot().export.phase, 'failed');

  assert.match(exportHint('unavailable', 'export:start: your previous export is still running'), /previous export/);
  assert.match(exportHint('not_found', 'label x does not exist'), /deleted/);
  assert.match(evalHint(400, undefined, 'cannot unpack the zip'), /per-label PNG/);
  assert.match(evalHint(403, 'forbidden', 'viewers cannot download exports'), /annotator/);
  assert.match(evalHint(413, 'too_large', 'too large'), /too large/);
});

test('evaluation refuses what is not a zip before uploading', async () => {
  const { socket } = fakeSocket();
  const s = new ExportSession({ sceneId: 'demo', socket: () => socket as never });
  s.setRoom('main');
  const notZip = new File([new TextEncoder().encode('hello')], 'masks.txt');
  await s.evaluate(notZip);
  assert.equal(s.getSnapshot().eval.phase, 'failed');
  assert.match(s.getSnapshot().eval.failure!.title, /Not a \.zip/);
  await s.evaluate(new File([], 'empty.zip'));
  assert.match(s.getSnapshot().eval.failure!.title, /empty/);
});

test('the report for display: problems grouped by kind, IoU per frame x label', () => {
  const problems = [
    ...['train_0', 'train_1', 'train_2', 'train_3'].map((f) => ({ side: 'ref' as const, file: '/tmp/splatsync-eval-1/ref', frame: f, problem: `no reference for frame "${f}": not evaluated` })),
    { side: 'pred' as const, file: '/tmp/x/pred/test_0/a.png', frame: 'test_0', label: 'a', problem: 'wrong size: 10x10 pixels, the reference frame is 20x20; not evaluated' },
    { side: 'pred' as const, file: '/tmp/x/pred', label: 'ghost', problem: 'unknown label "ghost": the reference has no label of that name (reference labels: a)' },
  ];
  const g = groupProblems(problems, 2);
  assert.equal(g.length, 3);
  assert.equal(g[0]!.count, 4);
  assert.equal(g[0]!.side, 'ref');
  assert.equal(g[0]!.kind, 'no reference for frame "…": not evaluated');
  assert.equal(g[0]!.examples.length, 2);
  assert.ok(g.some((x) => x.count === 1 && /wrong size/.test(x.kind)));

  const m = iouMatrix({
    frames: ['f0', 'f1'],
    labels: ['a', 'b'],
    rows: [
      { frame: 'f0', label: 'a', iou: 1, intersection: 1, union: 1, predPixels: 1, refPixels: 1 },
      { frame: 'f0', label: 'b', iou: null, intersection: 0, union: 0, predPixels: 0, refPixels: 0 },
      { frame: 'f1', label: 'a', iou: 0.5, intersection: 1, union: 2, predPixels: 1, refPixels: 2 },
    ],
  });
  assert.deepEqual(m, [
    { frame: 'f0', ious: [1, null] },
    { frame: 'f1', ious: [0.5, undefined] },
  ]);
  assert.deepEqual(m[0]!.ious.map(formatIoU), ['1.00', '–']);
  assert.equal(formatIoU(undefined), '×');
  assert.equal(formatBytes(2_100_000), '2.1 MB');
  assert.equal(formatBytes(82_500), '82.5 kB');
});

test('appearance edits: only changes are sent; the slider is throttled, its last value always sent', async () => {
  const sent: OpBody[] = [];
  const edits = new Map<string, LabelEdit>([['l1', { tint: null, hidden: false, opacity: 1 }]]);
  const target: EditTarget = {
    editOf: (id) => edits.get(id),
    submit: async (body) => {
      sent.push(body);
      if (body.type === 'edit.set') edits.set(body.labelId, { ...edits.get(body.labelId)!, ...body.patch } as LabelEdit);
      return { version: sent.length };
    },
  };
  const ed = new AppearanceEditor(target);
  ed.setHidden('l1', true);
  ed.setHidden('l1', true); // no change: nothing sent
  assert.deepEqual(sent, [{ type: 'edit.set', labelId: 'l1', patch: { hidden: true } }]);

  ed.setOpacity('l1', 0.5, false); // first move: at once
  ed.setOpacity('l1', 0.45, false); // within 100 ms: held
  ed.setOpacity('l1', 0.4, false);
  assert.equal(sent.length, 2);
  ed.setOpacity('l1', 0.333, true); // release: the last value, rounded to 0.01
  assert.deepEqual(sent.slice(1).map((b) => (b as { patch: unknown }).patch), [{ opacity: 0.5 }, { opacity: 0.33 }]);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(sent.length, 3, 'nothing trails after the release');

  ed.setTint('l1', '#FF8800');
  ed.setTint('l1', 'not a colour');
  ed.setTint('l1', null);
  assert.deepEqual(sent.slice(3).map((b) => (b as { patch: unknown }).patch), [{ tint: '#ff8800' }, { tint: null }]);

  ed.setOpacity('ghost', 0.2); // a deleted label: nothing
  assert.equal(sent.length, 5);
  ed.reset('l1');
  assert.deepEqual((sent[5] as { patch: unknown }).patch, { hidden: false, opacity: 1 });
  ed.dispose();

  assert.equal(cleanOpacity(1.7), 1);
  assert.equal(cleanOpacity(Number.NaN), 1);
  assert.equal(cleanTint(' #ABCDEF '), '#abcdef');
  assert.equal(cleanTint('#abc'), undefined);
  assert.equal(hasEdit({ tint: null, hidden: false, opacity: 1 }), false);
  assert.equal(describeEdit({ tint: '#ff0000', hidden: true, opacity: 0.4 }), 'hidden · tint #ff0000 · opacity 0.40');
});

test('the photo toggle says why it is unavailable', () => {
  const base = { on: false, viewIndex: 3, shown: false };
  assert.match(photoTitle({ ...base, viewIndex: null, status: 'no-view', reason: null }), /Pick a dataset view/);
  assert.equal(
    photoTitle({ ...base, status: 'missing', reason: 'view 3 has no source photo (the scene was imported without its dataset images)' }),
    'No photo: view 3 has no source photo (the scene was imported without its dataset images)',
  );
  assert.match(photoTitle({ ...base, status: 'ok', reason: null }), /Show the dataset photo/);
});
