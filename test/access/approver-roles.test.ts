import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Actor } from '../../src/access/actor.ts';
import { approverRoles, can } from '../../src/access/policy.ts';
import { ROLES, type Role } from '../../src/access/roles.ts';
import { CLASSIFICATIONS } from '../../src/content/types.ts';

const ORG = 'org-a';
const user = (role: Role): Actor => ({ kind: 'user', userId: `u-${role}`, email: `${role}@a.test`, name: role, memberships: new Map([[ORG, role]]) });

describe('who may approve access requests (the roles whose approvals count)', () => {
  test('confidential: managers, admins and owners; restricted: admins and owners', () => {
    assert.deepEqual(approverRoles('confidential'), ['manager', 'admin', 'owner']);
    assert.deepEqual(approverRoles('restricted'), ['admin', 'owner']);
  });

  test("the roles whose approvals are counted are exactly those the policy lets approve (never one's own)", () => {
    for (const classification of CLASSIFICATIONS) {
      const allowed = ROLES.filter((role) => can(user(role), 'approve', { kind: 'access_request', orgId: ORG, classification, requesterId: 'someone-else' }));
      assert.deepEqual(approverRoles(classification), allowed, classification);
      for (const role of ROLES) {
        assert.equal(can(user(role), 'approve', { kind: 'access_request', orgId: ORG, classification, requesterId: `u-${role}` }), false, `${role} approves own`);
      }
    }
  });
});
