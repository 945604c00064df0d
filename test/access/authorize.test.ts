import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type UserActor } from '../../src/access/actor.ts';
import { authorize } from '../../src/access/authorize.ts';
import { PolicyNotFoundError } from '../../src/access/denials.ts';
import { grantKey } from '../../src/access/policy.ts';
import { ForbiddenError, NotFoundError } from '../../src/errors.ts';

const ORG = '00000000-0000-4000-8000-000000000001';
const OTHER = '00000000-0000-4000-8000-000000000002';
const user = (role: 'owner' | 'admin' | 'manager' | 'member' | 'viewer'): UserActor => ({
  kind: 'user',
  userId: `u-${role}`,
  email: `${role}@acme.test`,
  name: role,
  memberships: new Map([[ORG, role]]),
});

describe('authorize', () => {
  test('allows what the policy allows, silently', () => {
    authorize(user('member'), 'edit', { kind: 'document', orgId: ORG, classification: 'internal' });
    authorize(user('admin'), 'read', { kind: 'document', orgId: ORG, classification: 'restricted' });
    authorize(user('admin'), 'manage', { kind: 'org-settings', orgId: ORG });
  });

  test('a document the actor may not read is missing (an audited 404), for reading and for changing', () => {
    for (const action of ['read', 'edit'] as const) {
      assert.throws(() => authorize(user('member'), action, { kind: 'document', orgId: ORG, classification: 'restricted', projectId: 'p', path: 'x.md' }), (error) => {
        assert.ok(error instanceof PolicyNotFoundError);
        assert.deepEqual(error.target, { type: 'document', id: 'p:x.md', label: 'x.md' });
        return true;
      });
    }
    assert.throws(() => authorize(ANONYMOUS, 'read', { kind: 'document', orgId: ORG, classification: 'internal' }), PolicyNotFoundError);
  });

  test('a document the actor may read but not change is a 403 with the message given', () => {
    assert.throws(() => authorize(user('viewer'), 'edit', { kind: 'document', orgId: ORG, classification: 'internal' }, 'Viewers read only.'), (error) => {
      assert.ok(error instanceof ForbiddenError && !(error instanceof NotFoundError));
      assert.equal(error.message, 'Viewers read only.');
      return true;
    });
    // a grant opens reading, never editing
    const grants = new Set([grantKey('p', 'x.md', 'confidential')]);
    const resource = { kind: 'document' as const, orgId: ORG, classification: 'confidential' as const, projectId: 'p', path: 'x.md', grants };
    authorize(user('member'), 'read', resource);
    assert.throws(() => authorize(user('member'), 'edit', resource), ForbiddenError);
  });

  test('anything of an organization the actor is not in is missing; a member without the role is refused', () => {
    assert.throws(() => authorize(user('owner'), 'manage', { kind: 'org-settings', orgId: OTHER }), (error) => error instanceof NotFoundError && !(error instanceof PolicyNotFoundError));
    assert.throws(() => authorize(ANONYMOUS, 'list', { kind: 'members', orgId: ORG }), NotFoundError);
    assert.throws(() => authorize(user('member'), 'manage', { kind: 'org-settings', orgId: ORG }), (error) => error instanceof ForbiddenError);
    assert.throws(() => authorize(user('manager'), 'read', { kind: 'audit-log', orgId: ORG }), ForbiddenError);
  });
});
