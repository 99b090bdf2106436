// The viewer's op log (app/viewer/room-log.ts): optimistic local ops over the confirmed log,
// rebased on ops that the server committed first, and converging on the server's fold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoomLog } from '../../app/viewer/room-log';
import type { Op, OpBody, RoomSnapshot, Selection } from '../../server/protocol';
import {
  compactionCut, deserializeState, emptyState, foldOps, resolveUndoTarget, serializeState, stateDigest,
  type RoomState, type SerializedState,
} from '../../server/rooms/state';
import { mulberry32 } from '../../server/util/random';

const ALICE = { id: 'alice', name: 'Alice' };
const BOB = { id: 'bob', name: 'Bob' };

const cam = { width: 4, height: 4, fx: 4, fy: 4, cx: 2, cy: 2, worldToCamera: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] };
const region = (id: string): Selection => ({ id, kind: 'region', mode: 'add', theta: 0.5, query: { camera: cam, t: 0, spans: [[0, 0, 1]] } });

function op(version: number, author: { id: string; name: string }, body: OpBody, opId = `o${version}`, target?: string): Op {
  return { version, opId, author: author.id, authorName: author.name, at: version, body, ...(target ? { target } : {}) };
}

function joinAnswer(ops: Op[], extra: Partial<RoomSnapshot> = {}): RoomSnapshot {
  return { roomId: 'main', version: ops.length ? ops[ops.length - 1]!.version : 0, reset: true, ops, userId: 'alice', sid: 's1', colour: '#ffffff', presence: [], role: 'owner', ...extra };
}

test('a local op shows at once and leaves the queue when its broadcast comes back', () => {
  const log = new RoomLog(ALICE);
  log.applySnapshot(joinAnswer([]), undefined);
  log.enqueue('a1', { type: 'label.create', labelId: 'L', name: 'shirt', colour: '#ff0000' });
  assert.equal(log.state.labels.get('L')?.name, 'shirt', 'shown before the server answers');
  assert.equal(log.confirmed.labels.size, 0);
  assert.equal(log.pending.length, 1);
  assert.equal(log.apply(op(1, ALICE, { type: 'label.create', labelId: 'L', name: 'shirt', colour: '#ff0000' }, 'a1')), 'applied');
  assert.equal(log.pending.length, 0);
  assert.equal(log.state, log.confirmed, 'nothing pending: the shown state is the confirmed one');
  log.ack('a1', 1); // the ack after the broadcast changes nothing
  assert.equal(log.version, 1);
  assert.equal(log.authorName('alice'), 'Alice');
});

test('ops of others committed first go under the pending ones (rebase)', () => {
  const log = new RoomLog(ALICE);
  log.applySnapshot(joinAnswer([op(1, BOB, { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' })]), undefined);
  log.enqueue('a1', { type: 'label.update', labelId: 'L', patch: { colour: '#aa0000' } });
  log.enqueue('a2', { type: 'sel.add', labelId: 'L', sel: region('s1') });
  // Bob's recolour and name change were committed before Alice's ops
  log.apply(op(2, BOB, { type: 'label.update', labelId: 'L', patch: { colour: '#00bb00', name: 'bobs' } }));
  const shown = log.state.labels.get('L')!;
  assert.equal(shown.colour, '#aa0000', 'my pending recolour stays on top');
  assert.equal(shown.name, 'bobs', "Bob's name change shows under it");
  assert.equal(shown.selections.length, 1);
  assert.equal(shown.selections[0]!.author, 'alice', 'the tentative selection is attributed to me');
  log.apply(op(3, ALICE, { type: 'label.update', labelId: 'L', patch: { colour: '#aa0000' } }, 'a1'));
  log.apply(op(4, ALICE, { type: 'sel.add', labelId: 'L', sel: region('s1') }, 'a2'));
  assert.equal(log.pending.length, 0);
  assert.equal(log.state.labels.get('L')!.colour, '#aa0000', 'last writer (by version) wins');
});

test('a pending op on a label someone deleted shows nothing and is dropped when refused', () => {
  const log = new RoomLog(ALICE);
  log.applySnapshot(joinAnswer([op(1, BOB, { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' })]), undefined);
  log.enqueue('a1', { type: 'sel.add', labelId: 'L', sel: region('s1') });
  log.apply(op(2, BOB, { type: 'label.delete', labelId: 'L' }));
  assert.equal(log.state.labels.size, 0);
  assert.equal(log.drop('a1')?.body.type, 'sel.add');
  assert.equal(log.pending.length, 0);
  assert.equal(log.drop('a1'), undefined);
});

test('undo and redo act on my own ops only, pending ones included', () => {
  const log = new RoomLog(BOB);
  log.applySnapshot(joinAnswer([op(1, ALICE, { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' })]), undefined);
  assert.equal(log.undoTarget('undo'), null, "nothing of Bob's to undo: Alice's label is not his");
  log.enqueue('b1', { type: 'label.update', labelId: 'L', patch: { visible: false } });
  assert.equal(log.undoTarget('undo'), 'b1');
  log.enqueue('b2', { type: 'undo' });
  assert.equal(log.state.labels.get('L')!.visible, true, 'the tentative undo takes my pending hide back');
  assert.equal(log.undoTarget('undo'), null);
  assert.equal(log.undoTarget('redo'), 'b1');
  log.enqueue('b3', { type: 'redo' });
  assert.equal(log.state.labels.get('L')!.visible, false);
  // the server confirms them in order, resolving the same targets
  log.apply(op(2, BOB, { type: 'label.update', labelId: 'L', patch: { visible: false } }, 'b1'));
  log.apply(op(3, BOB, { type: 'undo' }, 'b2', 'b1'));
  assert.equal(log.state.labels.get('L')!.visible, false, 'the pending redo is still on top');
  log.apply(op(4, BOB, { type: 'redo' }, 'b3', 'b1'));
  assert.equal(log.pending.length, 0);
  assert.equal(log.state.labels.get('L')!.visible, false);
  assert.equal(log.state.labels.size, 1, "Alice's label stays");
});

test('broadcasts: duplicates are dropped, a missing version is a gap', () => {
  const log = new RoomLog(ALICE);
  log.applySnapshot(joinAnswer([op(1, BOB, { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' })]), undefined);
  assert.equal(log.apply(op(1, BOB, { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' })), 'duplicate');
  assert.equal(log.apply(op(3, BOB, { type: 'label.delete', labelId: 'L' })), 'gap');
  assert.equal(log.version, 1);
  // the re-join with since = 1 fills it
  log.applySnapshot(joinAnswer([op(2, BOB, { type: 'label.update', labelId: 'L', patch: { name: 'M' } }), op(3, BOB, { type: 'label.delete', labelId: 'L' })], { reset: false }), 1);
  assert.equal(log.version, 3);
  assert.equal(log.state.labels.size, 0);
});

test('a reset answer (compaction snapshot) replaces the log and keeps unsent ops pending', () => {
  const log = new RoomLog(ALICE);
  log.applySnapshot(joinAnswer([op(1, BOB, { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' })]), undefined);
  log.enqueue('a1', { type: 'label.update', labelId: 'L', patch: { name: 'mine' } });
  log.enqueue('a2', { type: 'label.update', labelId: 'L', patch: { colour: '#123456' } });
  log.ack('a2', 7); // acknowledged, then the connection dropped before its broadcast
  const snapOps = [
    op(1, BOB, { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' }),
    op(2, BOB, { type: 'label.create', labelId: 'K', name: 'K', colour: '#000000' }),
  ];
  const folded = foldOps(snapOps);
  // the server compacted everything up to version 8 (a2 included) and then committed op 9
  folded.version = 8;
  const snapshot: SerializedState = serializeState(folded);
  log.applySnapshot(joinAnswer([op(9, BOB, { type: 'label.update', labelId: 'K', patch: { name: 'K2' } })], { snapshot, version: 9, reset: true }), 1);
  assert.equal(log.version, 9);
  assert.deepEqual([...log.confirmed.labels.keys()].sort(), ['K', 'L']);
  assert.deepEqual(log.pending.map((p) => p.opId), ['a1'], 'the acknowledged op is in the snapshot; the other is still to send');
  assert.deepEqual(log.unacked().map((p) => p.opId), ['a1']);
  assert.equal(log.state.labels.get('L')!.name, 'mine');
  assert.equal(log.state.labels.get('K')!.name, 'K2');
});

test('a join answer that holds my pending op confirms it', () => {
  const log = new RoomLog(ALICE);
  log.applySnapshot(joinAnswer([]), undefined);
  log.enqueue('a1', { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' });
  log.enqueue('a2', { type: 'label.update', labelId: 'L', patch: { name: 'x' } });
  log.applySnapshot(joinAnswer([op(1, ALICE, { type: 'label.create', labelId: 'L', name: 'L', colour: '#000000' }, 'a1')], { reset: false }), 0);
  assert.deepEqual(log.unacked().map((p) => p.opId), ['a2'], 'only the op the server has not seen is sent again');
  assert.equal(log.state.labels.get('L')!.name, 'x');
});

// ---- randomized convergence -------------------------------------------------------------------

/** A stand-in for server/rooms/room.ts: validates like it, commits in arrival order, compacts. */
class SimServer {
  base: RoomState = emptyState();
  ops: Op[] = [];
  private seen = new Map<string, Op>();
  get version(): number {
    return this.ops.length ? this.ops[this.ops.length - 1]!.version : this.base.version;
  }
  get state(): RoomState {
    return foldOps(this.ops, this.base);
  }

  /** Returns the committed op (to broadcast) and the ack. */
  submit(user: { id: string; name: string }, opId: string, body: OpBody): { op: Op | null; ack: { ok: true; version: number } | { ok: false; message: string } } {
    const seen = this.seen.get(opId);
    if (seen) return { op: null, ack: { ok: true, version: seen.version } };
    const s = this.state;
    const refuse = (message: string) => ({ op: null, ack: { ok: false as const, message } });
    let target: string | undefined;
    switch (body.type) {
      case 'label.create':
        if (s.labels.has(body.labelId)) return refuse('exists');
        break;
      case 'label.update':
      case 'label.delete':
      case 'edit.set':
        if (!s.labels.has(body.labelId)) return refuse('no label');
        break;
      case 'sel.add': {
        const l = s.labels.get(body.labelId);
        if (!l) return refuse('no label');
        if (l.selections.some((x) => x.id === body.sel.id)) return refuse('sel exists');
        break;
      }
      case 'sel.update':
      case 'sel.remove': {
        const l = s.labels.get(body.labelId);
        if (!l || !l.selections.some((x) => x.id === body.selId)) return refuse('no selection');
        break;
      }
      case 'undo':
      case 'redo': {
        const t = resolveUndoTarget(this.ops, user.id, body.type);
        if (!t) return refuse(`nothing of yours to ${body.type}`);
        target = t;
        break;
      }
    }
    const op: Op = { version: this.version + 1, opId, author: user.id, authorName: user.name, at: 0, body, ...(target ? { target } : {}) };
    this.ops.push(op);
    this.seen.set(opId, op);
    return { op, ack: { ok: true, version: op.version } };
  }

  join(since: number | undefined, userId: string): RoomSnapshot {
    const common = { roomId: 'main', version: this.version, userId, sid: userId, colour: '#ffffff', presence: [], role: 'owner' as const };
    if (since !== undefined && since >= this.base.version && since <= this.version) return { ...common, reset: false, ops: this.ops.filter((o) => o.version > since) };
    return { ...common, reset: true, snapshot: this.base.version > 0 ? serializeState(this.base) : null, ops: [...this.ops] };
  }

  compact(keep: number): void {
    const cut = compactionCut(this.ops, keep);
    if (cut <= this.base.version) return;
    const folded = this.ops.filter((o) => o.version <= cut);
    this.base = deserializeState(serializeState(foldOps(folded, this.base)));
    this.ops = this.ops.filter((o) => o.version > cut);
    // Op ids stay known after compaction: a client that lost an ack and missed the op (it was
    // folded into the snapshot it got) re-sends it, and must be acknowledged, not committed twice.
  }
}

type Down = { kind: 'op'; op: Op } | { kind: 'ack'; opId: string; ok: boolean; version: number };

interface SimClient {
  user: { id: string; name: string };
  log: RoomLog;
  connected: boolean;
  up: { opId: string; body: OpBody }[];
  down: Down[];
  /** A gap was seen: re-join with since before taking more broadcasts. */
  needsJoin: boolean;
}

function randomBody(rnd: () => number, c: SimClient, n: () => number): OpBody | null {
  const labels = [...c.log.state.labels.values()];
  const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
  const l = pick(labels);
  const r = rnd();
  if (!l || r < 0.12) return { type: 'label.create', labelId: `L${n()}`, name: `label ${n()}`, colour: '#112233' };
  if (r < 0.25) return { type: 'label.update', labelId: l.id, patch: rnd() < 0.5 ? { name: `n${n()}` } : { visible: rnd() < 0.5, colour: rnd() < 0.5 ? '#aa0000' : '#00aa00' } };
  if (r < 0.3) return { type: 'label.delete', labelId: l.id };
  if (r < 0.48) return { type: 'sel.add', labelId: l.id, sel: region(`s${n()}`) };
  const sel = pick(l.selections);
  if (r < 0.58 && sel) return { type: 'sel.update', labelId: l.id, selId: sel.id, theta: Math.round(rnd() * 100) / 100 };
  if (r < 0.63 && sel) return { type: 'sel.remove', labelId: l.id, selId: sel.id };
  if (r < 0.7) return { type: 'edit.set', labelId: l.id, patch: { opacity: Math.round(rnd() * 10) / 10 } };
  // undo / redo: like the viewer, only when there is something of mine to undo or redo
  const kind = r < 0.88 ? 'undo' : 'redo';
  return c.log.undoTarget(kind) ? { type: kind } : null;
}

const simStats = { resets: 0, snapshots: 0, resent: 0, refused: 0, gaps: 0, shownPending: 0 };

function runSimulation(seed: number, steps: number): void {
  const rnd = mulberry32(seed);
  let counter = 0;
  const n = () => ++counter;
  const server = new SimServer();
  const clients: SimClient[] = ['ann', 'ben', 'cat'].map((id) => ({ user: { id, name: id.toUpperCase() }, log: new RoomLog({ id, name: id.toUpperCase() }), connected: false, up: [], down: [], needsJoin: false }));

  const connect = (c: SimClient) => {
    const since = c.log.hasJoined ? c.log.version : undefined;
    const answer = server.join(since, c.user.id);
    if (answer.reset && since !== undefined) simStats.resets++;
    if (answer.snapshot) simStats.snapshots++;
    c.log.applySnapshot(answer, since);
    if (since !== undefined) simStats.resent += c.log.unacked().length;
    c.connected = true;
    c.needsJoin = false;
    c.down = [];
    c.up = c.log.unacked().map((p) => ({ opId: p.opId, body: p.body })); // re-sent in order, same opIds
  };
  const deliverUp = (c: SimClient) => {
    const m = c.up.shift();
    if (!m) return;
    const { op, ack } = server.submit(c.user, m.opId, m.body);
    if (op) for (const d of clients) if (d.connected) d.down.push({ kind: 'op', op });
    c.down.push(ack.ok ? { kind: 'ack', opId: m.opId, ok: true, version: ack.version } : { kind: 'ack', opId: m.opId, ok: false, version: 0 });
  };
  const deliverDown = (c: SimClient) => {
    const m = c.down.shift();
    if (!m) return;
    if (m.kind === 'op') {
      if (c.log.apply(m.op) === 'gap') {
        c.needsJoin = true;
        simStats.gaps++;
      }
    } else if (m.ok) c.log.ack(m.opId, m.version);
    else if (c.log.drop(m.opId)) simStats.refused++;
  };
  const check = (c: SimClient, when: string) => {
    // caught up and nothing pending: exactly the server's state
    if (c.connected && c.down.length === 0 && c.up.length === 0 && c.log.pending.length === 0) {
      assert.equal(c.log.version, server.version, `${when}: ${c.user.id} is at the server's version`);
      assert.equal(stateDigest(c.log.state), stateDigest(server.state), `${when}: ${c.user.id} shows the server's state`);
    }
  };

  for (const c of clients) connect(c);
  for (let step = 0; step < steps; step++) {
    const c = clients[Math.floor(rnd() * clients.length)]!;
    const r = rnd();
    if (r < 0.3) {
      const body = randomBody(rnd, c, n);
      if (!body) continue;
      const opId = `${c.user.id}-${n()}`;
      c.log.enqueue(opId, body);
      if (c.log.pending.length > 1) simStats.shownPending++;
      if (c.connected) c.up.push({ opId, body });
    } else if (r < 0.55) {
      if (c.connected) deliverUp(c);
    } else if (r < 0.85) {
      if (c.connected) deliverDown(c);
      if (c.needsJoin) connect(c);
    } else if (r < 0.9) {
      // the connection drops: whatever was in flight either way is lost
      c.connected = false;
      c.up = [];
      c.down = [];
    } else if (r < 0.95) {
      if (!c.connected) connect(c);
    } else if (r < 0.96) {
      // a broadcast missed (a later one shows the gap; acks are never lost on a live connection)
      const i = c.down.findIndex((m) => m.kind === 'op');
      if (i >= 0) c.down.splice(i, 1);
    } else if (r < 0.98) {
      server.compact(3 + Math.floor(rnd() * 6));
    } else {
      check(c, `step ${step}`);
    }
  }
  // everyone reconnects and every message is delivered
  for (let round = 0; round < 50; round++) {
    let busy = false;
    for (const c of clients) {
      if (!c.connected) connect(c);
      if (c.needsJoin) connect(c);
      while (c.up.length) {
        deliverUp(c);
        busy = true;
      }
    }
    for (const c of clients) {
      while (c.down.length) {
        deliverDown(c);
        busy = true;
        if (c.needsJoin) connect(c);
      }
    }
    // a client that lost the last broadcast has not seen a gap yet: its next join catches up
    for (const c of clients) if (c.log.version < server.version && c.down.length === 0) c.needsJoin = busy = true;
    if (!busy) break;
  }
  const truth = stateDigest(server.state);
  for (const c of clients) {
    assert.deepEqual(c.log.pending, [], `seed ${seed}: ${c.user.id} has nothing pending once every ack is in`);
    assert.equal(c.log.version, server.version, `seed ${seed}: ${c.user.id} is at the server's version`);
    assert.equal(stateDigest(c.log.state), truth, `seed ${seed}: ${c.user.id} converged on the server's fold`);
  }
  assert.ok(server.version > 20, `seed ${seed}: the run committed ops (${server.version})`);
}

test('randomized: optimistic clients converge on the server fold once all acks arrive', () => {
  for (let seed = 1; seed <= 60; seed++) runSimulation(seed, 600);
  // the runs went through what they are meant to check
  for (const [k, v] of Object.entries(simStats)) assert.ok(v > 0, `${k}: ${v}`);
});

test('randomized: while a client has pending ops it shows them over the confirmed state', () => {
  // one client, nothing delivered: the shown state is the fold of confirmed + its tentative ops
  const rnd = mulberry32(7);
  let k = 0;
  const log = new RoomLog(ALICE);
  log.applySnapshot(joinAnswer([]), undefined);
  const c: SimClient = { user: ALICE, log, connected: true, up: [], down: [], needsJoin: false };
  const server = new SimServer();
  for (let i = 0; i < 200; i++) {
    const body = randomBody(rnd, c, () => ++k);
    if (!body) continue;
    log.enqueue(`a${i}`, body);
    // the server accepts everything the client believes valid, in order: the same fold
    server.submit(ALICE, `a${i}`, body);
  }
  assert.equal(stateDigest(log.state), stateDigest(server.state), 'pending ops fold like committed ones');
});
