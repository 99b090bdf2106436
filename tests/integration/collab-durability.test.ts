// Durability (issue 6): the server process is killed with SIGKILL in the middle of a burst of
// ops; after a restart on the same data dir every op acknowledged before the kill is there, the
// versions are contiguous, and the state is the fold of the log (nothing half-applied).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDb } from '../../server/db';
import type { OpBody } from '../../server/protocol/index';
import { SqliteRoomStore } from '../../server/rooms/sqlite-store';
import { foldOps, stateDigest } from '../../server/rooms/state';
import { ownDemoDataDir } from '../helpers/data';
import { RoomClient, type OpReply } from '../helpers/room-client';
import { startCli } from '../helpers/server';

test('SIGKILL during a burst of ops loses no acknowledged op and half-applies none', { timeout: 300_000 }, async () => {
  const data = await ownDemoDataDir('splatsync-dur-');
  const first = await startCli(['--no-ui', '--data', data]);
  const acked = new Map<string, number>();
  const bodies = new Map<string, OpBody>();
  let killedAt = -1;
  try {
    // Ten connections, each within its rate limit's burst, all sending at once.
    const clients = Array.from({ length: 10 }, (_, k) => new RoomClient(first.url, { id: `u-dur${k}`, name: `Dur ${k}` }, 'demo', 'durable'));
    for (const c of clients) await c.connect();
    const PER_CLIENT = 75;
    const KILL_AFTER = 300;
    await new Promise<void>((resolve) => {
      let answered = 0;
      clients.forEach((c, k) => {
        for (let i = 0; i < PER_CLIENT; i++) {
          const labelId = `l${k}`;
          const opId = `op${k}-${i}`;
          const body: OpBody = i === 0 ? { type: 'label.create', labelId, name: `label ${k}`, colour: '#336699' } : { type: 'label.update', labelId, patch: { name: `rename ${i}` } };
          bodies.set(opId, body);
          c.submit(opId, body, 60_000).then(
            (res: OpReply) => {
              answered++;
              assert.ok(res.ok, !res.ok ? res.message : '');
              if (res.ok) acked.set(opId, res.data.version);
              if (acked.size === KILL_AFTER && killedAt < 0) {
                killedAt = acked.size;
                first.proc.kill('SIGKILL'); // mid-burst: more ops are in flight and being committed
                resolve();
              }
              if (answered === PER_CLIENT * clients.length) resolve();
            },
            () => resolve(), // the connection died with the process
          );
        }
      });
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
  assert.ok(stored.ops.length < 750, 'the kill interrupted the burst');
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
    const res = await c.submit('after-restart', { type: 'label.create', labelId: 'after', name: 'after', colour: '#336699' });
    assert.ok(res.ok);
    assert.equal(res.ok && res.data.version, stored.ops.length + 1);
    // Re-sending an op acknowledged before the kill is acknowledged again, not applied twice.
    const [someId, someVersion] = [...acked][100]!;
    const again = await c.submit(someId, bodies.get(someId)!);
    assert.ok(again.ok, !again.ok ? again.message : '');
    assert.equal(again.ok && again.data.version, someVersion);
    c.disconnect();
  } finally {
    await second.stop();
  }
});
