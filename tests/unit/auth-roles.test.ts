// The role model and permission matrix (server/auth/roles.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACTIONS, ALL_ACTIONS, atLeast, can, covers, maxRole, refusalMessage, requiredRole, ROLES, type Action, type Role } from '../../server/auth/roles';

const VIEWER_ONLY: Action[] = ['scene:join', 'view:set', 'frame:ack', 'room:join', 'presence:set', 'http:scenes'];
const ANNOTATOR: Action[] = ['op:submit', 'sel:histogram', 'sel:preview', 'time:sync', 'export:start', 'http:export'];
const OWNER: Action[] = ['link:create', 'link:revoke', 'link:list', 'access:list', 'access:revoke', 'scene:bake', 'import:start', 'eval', 'http:import', 'http:delete'];

describe('roles', () => {
  test('ordered viewer < annotator < owner', () => {
    assert.deepEqual([...ROLES], ['viewer', 'annotator', 'owner']);
    const rank = (r: Role) => ROLES.indexOf(r);
    for (const a of ROLES) for (const b of ROLES) assert.equal(atLeast(a, b), rank(a) >= rank(b), `${a} >= ${b}`);
    assert.equal(maxRole('viewer', 'owner'), 'owner');
    assert.equal(maxRole(null, 'annotator'), 'annotator');
    assert.equal(maxRole('annotator', null), 'annotator');
    assert.equal(maxRole(null, null), null);
  });

  test('every socket event of the protocol and every HTTP route is in the matrix, exactly once', () => {
    const socketEvents = ['scene:join', 'view:set', 'frame:ack', 'room:join', 'op:submit', 'sel:histogram', 'sel:preview', 'presence:set', 'time:sync', 'import:start', 'scene:bake', 'link:create', 'link:revoke', 'link:list', 'export:start', 'eval'];
    for (const e of socketEvents) assert.ok(e in ACTIONS, e);
    assert.deepEqual([...VIEWER_ONLY, ...ANNOTATOR, ...OWNER].sort(), [...ALL_ACTIONS].sort());
  });

  test('the matrix: viewers look, annotators edit, owners manage', () => {
    for (const a of VIEWER_ONLY) assert.deepEqual(ROLES.map((r) => can(r, a)), [true, true, true], a);
    for (const a of ANNOTATOR) assert.deepEqual(ROLES.map((r) => can(r, a)), [false, true, true], a);
    for (const a of OWNER) assert.deepEqual(ROLES.map((r) => can(r, a)), [false, false, true], a);
    for (const a of ALL_ACTIONS) {
      assert.equal(can(null, a), false);
      assert.equal(can(undefined, a), false);
      assert.equal(can(requiredRole(a), a), true);
    }
    assert.equal(can('owner', 'no:such' as Action), false);
  });

  test('refusals say what and which role it needs', () => {
    assert.equal(refusalMessage('viewer', 'op:submit'), 'viewers cannot change labels, selections or edits (op:submit needs the annotator role)');
    assert.match(refusalMessage('annotator', 'link:create'), /annotators cannot create share links \(link:create needs the owner role\)/);
  });

  test('scopes: * in held access matches anything, * in a target only *', () => {
    assert.ok(covers({ scene: 'lego', room: 'main' }, { scene: 'lego', room: 'main' }));
    assert.ok(!covers({ scene: 'lego', room: 'main' }, { scene: 'lego', room: 'other' }));
    assert.ok(!covers({ scene: 'lego', room: 'main' }, { scene: 'ship', room: 'main' }));
    assert.ok(covers({ scene: 'lego', room: '*' }, { scene: 'lego', room: 'other' }));
    assert.ok(!covers({ scene: 'lego', room: '*' }, { scene: 'ship', room: 'main' }));
    assert.ok(covers({ scene: '*', room: '*' }, { scene: 'ship', room: '*' }));
    assert.ok(!covers({ scene: 'lego', room: 'main' }, { scene: 'lego', room: '*' }));
    assert.ok(!covers({ scene: 'lego', room: '*' }, { scene: '*', room: '*' }));
  });
});
