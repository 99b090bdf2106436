// The viewer's AnnotationSession (app/viewer/annotation.ts) against a real server over
// socket.io, in Node: a burst of edits far over the per-connection op rate is not lost — the
// refused ops stay pending and are re-sent when the server says there is room — and the room
// ends exactly where the user left it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { AnnotationSession } from '../../app/viewer/annotation';
import { OP_RATE } from '../../server/app';
import { demoDataDir } from '../helpers/data';
import { RoomClient } from '../helpers/room-client';
import { connect, join, startInProcess, type InProcessServer } from '../helpers/server';

let srv: InProcessServer;
before(async () => {
  srv = await startInProcess(await demoDataDir());
});
after(async () => srv?.close());

test('edits over the rate limit stay pending and are re-sent, none lost', { timeout: 120_000 }, async () => {
  const socket: Socket = await connect(srv.url, { protocol: 1, user: { id: 'u-burst', name: 'Burst' } });
  const toasts: string[] = [];
  const annot = new AnnotationSession({
    socket: () => socket as never,
    toast: (title, message) => toasts.push(`${title}: ${message}`),
    paletteChanged: () => {},
    identityChanged: () => {},
  });
  socket.on('op', annot.onOp);
  assert.ok((await join(socket, 'demo')).ok);
  annot.joinRoom();
  const until = async (pred: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(() => annot.getSnapshot().joined, 10_000, 'joined');
  const labelId = await annot.createLabel();
  assert.ok(labelId);
  const N = OP_RATE.burst + 60; // well past one burst
  for (let i = 0; i < N; i++) annot.rename(labelId, `name ${i}`);
  await until(() => annot.getSnapshot().pending === 0, 60_000, `pending ${annot.getSnapshot().pending}`);
  assert.deepEqual(toasts.filter((t) => /too many/.test(t)), [], 'no edit was dropped with a rate-limit toast');
  assert.equal(annot.getSnapshot().labels.find((l) => l.id === labelId)?.name, `name ${N - 1}`);
  // Another client sees the same final name, and every rename was committed.
  const other = new RoomClient(srv.url, { id: 'u-watch', name: 'Watch' }, 'demo', 'main');
  await other.connect();
  assert.equal(other.state.labels.get(labelId)?.name, `name ${N - 1}`);
  assert.equal(other.ops.filter((o) => o.body.type === 'label.update' && o.body.labelId === labelId).length, N);
  other.disconnect();
  socket.close();
});
