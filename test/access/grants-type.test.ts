import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Actor } from '../../src/access/actor.ts';
import { can, grantKey, type Grants } from '../../src/access/policy.ts';
import { filesMatching } from '../helpers/source-files.ts';

const member: Actor = { kind: 'user', userId: 'u1', email: 'm@a.test', name: 'M', memberships: new Map([['org-a', 'member']]) };
const secret = (grants: Grants, path = 'policies/secret.md', projectId = 'p1') =>
  can(member, 'read', { kind: 'document', orgId: 'org-a', classification: 'confidential', projectId, path, grants });

test('Grants hold grant keys: one opens its own document in its own project, nothing else', () => {
  const grants: Grants = new Set([grantKey('p1', 'policies/secret.md', 'confidential')]);
  assert.equal(secret(grants), true);
  assert.equal(secret(grants, 'policies/other.md'), false);
  assert.equal(secret(grants, 'policies/secret.md', 'p2'), false);
  assert.equal(secret(new Set()), false);
});

test('the grants type is defined once, in access/policy.ts', () => {
  assert.deepEqual(filesMatching(/type Grants =|grants\??: ReadonlySet<string>|Promise<ReadonlySet<string>>/, ['src/access/policy.ts']), []);
});
