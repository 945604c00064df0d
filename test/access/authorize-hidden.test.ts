import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type Actor } from '../../src/access/actor.ts';
import { authorize } from '../../src/access/authorize.ts';
import { PolicyNotFoundError } from '../../src/access/denials.ts';
import type { Role } from '../../src/access/roles.ts';
import { ForbiddenError, NotFoundError } from '../../src/errors.ts';

const ORG = 'org-a';
const user = (role: Role, org = ORG): Actor => ({ kind: 'user', userId: `u-${role}`, email: `${role}@a.test`, name: role, memberships: new Map([[org, role]]) });

/** The error class `fn` throws, or null when it does not throw. */
function thrown(fn: () => void): unknown {
  try {
    fn();
    return null;
  } catch (error) {
    return error;
  }
}

describe('authorize: messages and hidden refusals', () => {
  test('lets through what the policy allows', () => {
    assert.equal(thrown(() => authorize(user('admin'), 'manage', { kind: 'org-settings', orgId: ORG })), null);
    assert.equal(thrown(() => authorize(user('admin'), 'manage', { kind: 'org-settings', orgId: ORG }, { hidden: true })), null);
  });

  test('a member without the role gets 403 with the message; outsiders and anonymous get 404', () => {
    const refused = thrown(() => authorize(user('member'), 'manage', { kind: 'members', orgId: ORG }, 'Ask an admin.'));
    assert.ok(refused instanceof ForbiddenError);
    assert.equal(refused.message, 'Ask an admin.');
    for (const outsider of [user('owner', 'org-b'), ANONYMOUS]) {
      const error = thrown(() => authorize(outsider, 'manage', { kind: 'members', orgId: ORG }, 'Ask an admin.'));
      assert.ok(error instanceof NotFoundError && !(error instanceof ForbiddenError));
    }
  });

  test('the message may also be given as an option', () => {
    const refused = thrown(() => authorize(user('viewer'), 'manage', { kind: 'members', orgId: ORG }, { message: 'Not you.' }));
    assert.ok(refused instanceof ForbiddenError);
    assert.equal(refused.message, 'Not you.');
  });

  test('hidden: every refusal is the policy 404, for members without the role and outsiders alike', () => {
    for (const actor of [user('manager'), user('viewer'), user('owner', 'org-b'), ANONYMOUS]) {
      for (const kind of ['members', 'org-settings', 'audit-log'] as const) {
        const error = thrown(() => authorize(actor, kind === 'members' ? 'list' : 'read', { kind, orgId: ORG }, { hidden: true }));
        assert.ok(error instanceof PolicyNotFoundError, `${kind}`);
        assert.equal((error as PolicyNotFoundError).status, 404);
      }
      const project = thrown(() => authorize(actor, 'manage', { kind: 'project', orgId: ORG }, { hidden: true }));
      assert.ok(project instanceof PolicyNotFoundError);
    }
  });

  test('a document the actor may read but not edit: 403 normally, 404 when hidden', () => {
    const doc = { kind: 'document' as const, orgId: ORG, classification: 'internal' as const };
    assert.ok(thrown(() => authorize(user('viewer'), 'edit', doc)) instanceof ForbiddenError);
    assert.ok(thrown(() => authorize(user('viewer'), 'edit', doc, { hidden: true })) instanceof PolicyNotFoundError);
  });
});
