// Convergence property test (issue 6): five socket.io clients send seeded random concurrent ops
// (labels created, renamed, recoloured, deleted; selections added, re-thresholded, removed;
// edits; undo/redo; ops on labels others just deleted) and drop and re-establish their
// connections, re-sending unacknowledged ops. Every client must end with the same state, equal
// to replaying the server's log as stored in SQLite, and every acknowledged op must be in it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openDb, type Db } from '../../server/db';
import type { Camera, OpBody, SceneInfo } from '../../server/protocol/index';
import { SqliteRoomStore } from '../../server/rooms/sqlite-store';
import { deserializeState, foldOps, stateDigest } from '../../server/rooms/state';
import { scaleCamera } from '../../server/scene/camera';
import { mulberry32 } from '../../server/util/random';
import { demoDataDir } from '../helpers/data';
import { RoomClient, type OpReply } from '../helpers/room-client';
import { connect, join, startInProcess, type InProcessServer } from '../helpers/server';

const SEEDS = Number(process.env.CONVERGENCE_SEEDS ?? 25);
const CLIENTS = 5;
const STEPS = 30;

let srv: InProcessServer;
let db: Db;
let store: SqliteRoomStore;
let camera: Camera;

before(async () => {
  const data = await demoDataDir();
  db = openDb(mkdtempSync(path.join(os.tmpdir(), 'splatsync-conv-')));
  store = new SqliteRoomStore(db);
  // Small compaction numbers so that some clients catch up from a snapshot.
  srv = await startInProcess(data, { rooms: store, compaction: { compactAt: 40, keep: 12 } });
  const s = await connect(srv.url);
  const j = await join(s, 'demo');
  assert.ok(j.ok);
  const info = j.data as SceneInfo;
  camera = scaleCamera(info.home.camera, 48, 48); // clicks stay cheap
  s.close();
});

after(async () => {
  await srv?.close();
  db?.close();
});

const COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4'];

class Actor {
  readonly client: RoomClient;
  /** opId -> body, in send order, until acknowledged (ok or refused). */
  readonly pending = new Map<string, OpBody>();
  readonly acked = new Map<string, OpReply>();
  private n = 0;
  reconnects = 0;

  constructor(url: string, readonly name: string, room: string, readonly rnd: () => number) {
    this.client = new RoomClient(url, { id: `u-${name}`, name }, 'demo', room);
  }

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs.length ? xs[Math.floor(this.rnd() * xs.length)] : undefined;
  }

  nextBody(): OpBody {
    const st = this.client.state;
    const labels = [...st.labels.values()];
    const label = this.pick(labels);
    const r = this.rnd();
    const newId = () => `${this.name}-${++this.n}`;
    if (!label || r < 0.14) return { type: 'label.create', labelId: newId(), name: `L ${this.n}`, colour: this.pick(COLOURS)! };
    if (r < 0.26) {
      const k = Math.floor(this.rnd() * 4);
      const patch = k === 0 ? { name: `renamed ${this.n++}` } : k === 1 ? { colour: this.pick(COLOURS)! } : k === 2 ? { visible: this.rnd() < 0.5 } : { order: Math.floor(this.rnd() * 10) };
      return { type: 'label.update', labelId: label.id, patch };
    }
    if (r < 0.32) return { type: 'label.delete', labelId: label.id };
    if (r < 0.44) {
      const x = 14 + Math.floor(this.rnd() * 20);
      const y = 14 + Math.floor(this.rnd() * 20);
      return { type: 'sel.add', labelId: label.id, sel: { id: newId(), kind: 'click', mode: this.rnd() < 0.8 ? 'add' : 'subtract', theta: 0.6, query: { camera, t: 0.5, x, y, patch: 3 } } };
    }
    const sel = this.pick(label.selections);
    if (sel && r < 0.58) return { type: 'sel.update', labelId: label.id, selId: sel.id, theta: Math.round((0.3 + this.rnd() * 0.6) * 100) / 100 };
    if (sel && r < 0.63) return { type: 'sel.remove', labelId: label.id, selId: sel.id };
    if (r < 0.73) return { type: 'edit.set', labelId: label.id, patch: this.rnd() < 0.5 ? { opacity: Math.round(this.rnd() * 100) / 100 } : { tint: this.pick(COLOURS)!, hidden: this.rnd() < 0.3 } };
    if (r < 0.85) return { type: 'undo' };
    if (r < 0.92) return { type: 'redo' };
    return { type: 'label.update', labelId: 'no-such-label', patch: { name: 'x' } }; // refused: not_found
  }

  send(opId: string, body: OpBody): void {
    this.pending.set(opId, body);
    const socket = this.client.socket;
    this.client.submit(opId, body).then(
      (res) => {
        if (this.client.socket !== socket && !res.ok) return; // a stale socket's answer; the resend decides
        this.acked.set(opId, res);
        this.pending.delete(opId);
      },
      () => {}, // the socket went away: the op stays pending and is re-sent after reconnecting
    );
  }

  async reconnect(): Promise<void> {
    this.reconnects++;
    this.client.disconnect();
    await new Promise((r) => setTimeout(r, this.rnd() * 40));
    await this.client.connect();
    for (const [opId, body] of [...this.pending]) this.send(opId, body);
  }

  async run(): Promise<void> {
    for (let i = 0; i < STEPS; i++) {
      if (this.rnd() < 0.05) await this.reconnect();
      else this.send(`${this.name}-op${i}`, this.nextBody());
      await new Promise((r) => setTimeout(r, this.rnd() * 12));
    }
    const end = Date.now() + 60_000;
    while (this.pending.size) {
      if (Date.now() > end) throw new Error(`${this.name}: ${this.pending.size} ops never acknowledged`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const totals = { snapshots: 0, resets: 0, reconnects: 0, clicks: 0 };

for (let seed = Number(process.env.CONVERGENCE_FIRST ?? 1); seed <= SEEDS; seed++) {
  test(`convergence, seed ${seed}: ${CLIENTS} clients end equal to the stored log's replay`, async () => {
    const room = `conv-${seed}`;
    const rnd = mulberry32(seed * 7919);
    const actors = Array.from({ length: CLIENTS }, (_, k) => new Actor(srv.url, `c${k}`, room, mulberry32(Math.floor(rnd() * 2 ** 31))));
    await Promise.all(actors.map((a) => a.client.connect()));
    await Promise.all(actors.map((a) => a.run()));

    // Everyone catches up to the last version.
    const stored = await store.load('demo', room);
    const last = stored.ops.length ? stored.ops[stored.ops.length - 1]!.version : stored.snapshot!.version;
    await Promise.all(actors.map((a) => a.client.waitFor(last)));
    const replay = foldOps(stored.ops, stored.snapshot ? deserializeState(stored.snapshot) : undefined);
    const want = stateDigest(replay);
    for (const a of actors) {
      assert.equal(a.client.version, last, `${a.name} version`);
      assert.equal(stateDigest(a.client.state), want, `${a.name} state differs from the replay of the stored log`);
    }

    // A newcomer gets the same state, from scratch.
    const fresh = new RoomClient(srv.url, { id: 'u-late', name: 'late' }, 'demo', room);
    await fresh.connect();
    assert.equal(stateDigest(fresh.state), want);

    // Acknowledged ops are in the log exactly once, refused ones are not.
    // Every version is one opId (compacted ones are remembered as ids), and no opId twice.
    const ids = new Map<string, number>();
    const all: [string, number][] = [...stored.compactedIds, ...stored.ops.map((o): [string, number] => [o.opId, o.version])];
    assert.deepEqual(all.map(([, v]) => v), Array.from({ length: last }, (_, i) => i + 1), 'versions 1..last, each once');
    const versionOf = new Map(all);
    for (const [opId] of all) ids.set(opId, (ids.get(opId) ?? 0) + 1);
    for (const [opId, n] of ids) assert.equal(n, 1, `${opId} was committed ${n} times`);
    let ok = 0;
    let refused = 0;
    for (const a of actors) {
      for (const [opId, res] of a.acked) {
        if (res.ok) {
          ok++;
          assert.equal(versionOf.get(opId), res.data.version, `acknowledged ${opId} is in the log at v${res.data.version}`);
        } else {
          refused++;
          assert.ok(!ids.has(opId), `refused ${opId} (${res.code}: ${res.message}) is not in the log`);
        }
      }
    }
    const resets = actors.reduce((n, a) => n + a.client.resets - 1, 0);
    const reconnects = actors.reduce((n, a) => n + a.reconnects, 0);
    totals.snapshots += stored.snapshot ? 1 : 0;
    totals.resets += resets;
    totals.reconnects += reconnects;
    console.log(`seed ${seed}: gaps ${actors.map((a) => a.client.gaps).join("/")}, ${last} versions, ${ok} acknowledged, ${refused} refused, ${reconnects} reconnects, ${resets} snapshot catch-ups, snapshot at v${stored.snapshot?.version ?? 0}`);
    assert.ok(ok > CLIENTS * 5, `enough ops were accepted (${ok})`);
    // The server sends every member every op in version order: a client never sees a gap.
    assert.deepEqual(actors.map((a) => a.client.gaps), actors.map(() => 0), 'broadcasts arrived in version order, none missing');
    assert.ok(refused > 0, 'some ops were refused (stale labels, nothing to undo)');
    const clicks = stored.ops.filter((o) => o.body.type === 'sel.add').length;
    totals.clicks += clicks;
    for (const a of [...actors, { client: fresh }]) a.client.disconnect();
  });
}

test('the seeds exercised reconnects, compaction and snapshot catch-ups', () => {
  assert.ok(totals.reconnects > 0, 'clients reconnected');
  assert.ok(totals.clicks > SEEDS, 'click selections were committed');
  assert.ok(totals.snapshots > 0, 'some logs were compacted');
  assert.ok(totals.resets > 0, 'some reconnecting clients caught up from a snapshot');
});
