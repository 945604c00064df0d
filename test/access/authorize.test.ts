import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type UserActor } from '../../src/access/actor.ts';
import { authorize } from '../../src/access/authorize.ts';
import { PolicyNotFoundError } from '../../src/access/denials.ts';
import { grantKey } from '../../src/access/policy.ts';
import { ForbiddenError, NotAuthenticatedError, NotFoundError } from '../../src/errors.ts';

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

  test("reviewing one's own change request is a 403 with the message given; an outsider's review is missing", () => {
    const request = { kind: 'change_request' as const, orgId: ORG, authorId: 'u-member' };
    authorize(user('admin'), 'approve', request);
    assert.throws(() => authorize(user('member'), 'approve', request, 'You cannot review your own change request.'), (error) => {
      assert.ok(error instanceof ForbiddenError && !(error instanceof NotFoundError));
      assert.equal(error.message, 'You cannot review your own change request.');
      return true;
    });
    assert.throws(() => authorize({ ...user('owner'), memberships: new Map([[OTHER, 'owner' as const]]) }, 'approve', request), NotFoundError);
  });

  test("an acknowledgment is one's own: through a token a 403 with the message, for someone else missing, anonymous 401", () => {
    const token: UserActor = { ...user('member'), via: { kind: 'token', tokenId: 't', scopes: ['read', 'write'] } };
    authorize(user('member'), 'create', { kind: 'acknowledgment', userId: 'u-member' });
    assert.throws(() => authorize(token, 'create', { kind: 'acknowledgment', userId: 'u-member' }, 'In the browser, please.'), (error) => {
      assert.ok(error instanceof ForbiddenError && !(error instanceof NotFoundError));
      assert.equal(error.message, 'In the browser, please.');
      return true;
    });
    assert.throws(() => authorize(user('owner'), 'create', { kind: 'acknowledgment', userId: 'u-member' }), NotFoundError);
    assert.throws(() => authorize(ANONYMOUS, 'create', { kind: 'acknowledgment', userId: 'u-member' }), NotAuthenticatedError);
  });

  test('an invitation is accepted by the account it was sent to; another account gets a 403 naming the address, nobody signed in 401', () => {
    const invitation = { kind: 'invitation' as const, email: 'member@acme.test' };
    authorize(user('member'), 'accept', invitation);
    assert.throws(() => authorize(user('admin'), 'accept', invitation, 'This invitation is for member@acme.test.'), (error) => {
      assert.ok(error instanceof ForbiddenError && !(error instanceof NotFoundError));
      assert.equal(error.message, 'This invitation is for member@acme.test.');
      return true;
    });
    assert.throws(() => authorize(ANONYMOUS, 'accept', invitation), NotAuthenticatedError);
  });
});
