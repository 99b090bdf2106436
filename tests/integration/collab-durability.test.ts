// Durability (issue 6): the server process is killed with SIGKILL in the middle of a burst of
// ops; after a restart on the same data dir every op acknowledged before the kill is there, the
// versions are contiguous, and the state is the fold of the log (nothing half-applied).
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openDb } from '../../server/db';
import type { OpBody } from '../../server/protocol/index';
import { SqliteRoomStore } from '../../server/rooms/sqlite-store';
import { foldOps, stateDigest } from '../../server/rooms/state';
import { demoDataDir } from '../helpers/data';
import { RoomClient, type OpReply } from '../helpers/room-client';
import { startCli } from '../helpers/server';

/** A data dir of its own (its own splatsync.db) that shares the demo scene's bundle. */
async function freshDataDir(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'splatsync-dur-'));
  symlinkSync(path.join(await demoDataDir(), 'scenes'), path.join(dir, 'scenes'));
  return dir;
}

test('SIGKILL during a burst of ops loses no acknowledged op and half-applies none', { timeout: 300_000 }, async () => {
  const data = await freshDataDir();
  const first = await startCli(['--no-ui', '--data', data]);
  const acked = new Map<string, number>();
  let killedAt = -1;
  try {
    const c = new RoomClient(first.url, { id: 'u-dur', name: 'Dur' }, 'demo', 'durable');
    await c.connect();
    const BURST = 2000;
    const KILL_AFTER = 300;
    await new Promise<void>((resolve) => {
      let answered = 0;
      for (let i = 0; i < BURST; i++) {
        const labelId = `l${i % 50}`;
        const body: OpBody = i < 50 ? { type: 'label.create', labelId, name: `label ${i}`, colour: '#336699' } : { type: 'label.update', labelId, patch: { name: `rename ${i}` } };
        c.submit(`op${i}`, body, 60_000).then(
          (res: OpReply) => {
            answered++;
            if (res.ok) acked.set(`op${i}`, res.data.version);
            if (acked.size === KILL_AFTER && killedAt < 0) {
              killedAt = acked.size;
              first.proc.kill('SIGKILL'); // mid-burst: more ops are in flight and being committed
              resolve();
            }
            if (answered === BURST) resolve();
          },
          () => resolve(), // the connection died with the process
        );
      }
    });
    assert.equal(killedAt, KILL_AFTER, 'the server was killed mid-burst');
  } finally {
    await first.stop('SIGKILL');
  }

  // The log as the file holds it, read directly.
  const db = openDb(data);
  const stored = await new SqliteRoomStore(db).load('demo', 'durable');
  db.close();
  assert.ok(stored.ops.length >= acked.size, `stored ${stored.ops.length} >= acknowledged ${acked.size}`);
  assert.ok(stored.ops.length < 2000, 'the kill interrupted the burst');
  stored.ops.forEach((op, i) => assert.equal(op.version, i + 1, 'versions are contiguous'));
  const byId = new Map(stored.ops.map((o) => [o.opId, o.version]));
  for (const [opId, version] of acked) assert.equal(byId.get(opId), version, `acknowledged ${opId} kept its version`);

  // The restarted server serves exactly that log.
  const second = await startCli(['--no-ui', '--data', data]);
  try {
    const c = new RoomClient(second.url, { id: 'u-dur', name: 'Dur' }, 'demo', 'durable');
    const snap = await c.connect();
    assert.equal(snap.version, stored.ops.length);
    assert.equal(stateDigest(c.state), stateDigest(foldOps(stored.ops)));
    // And it takes new ops after the recovered version.
    const res = await c.submit('after-restart', { type: 'label.update', labelId: 'l1', patch: { name: 'after' } });
    assert.ok(res.ok);
    assert.equal(res.ok && res.data.version, stored.ops.length + 1);
    // Re-sending an op acknowledged before the kill is acknowledged again, not applied twice.
    const [someId, someVersion] = [...acked].find(([id]) => Number(id.slice(2)) >= 50)!;
    const again = await c.submit(someId, { type: 'label.update', labelId: `l${Number(someId.slice(2)) % 50}`, patch: { name: `rename ${someId.slice(2)}` } });
    assert.ok(again.ok, !again.ok ? again.message : '');
    assert.equal(again.ok && again.data.version, someVersion);
    c.disconnect();
  } finally {
    await second.stop();
  }
});
