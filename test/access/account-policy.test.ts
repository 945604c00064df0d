import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mayManageAccount, mfaRequiredBy, sessionLimitsFor, sessionLimitsForRole } from '../../src/access/account-policy.ts';
import { ANONYMOUS, type UserActor } from '../../src/access/actor.ts';
import { authorize } from '../../src/access/authorize.ts';
import { can } from '../../src/access/policy.ts';
import { ROLES, type Role } from '../../src/access/roles.ts';
import { ForbiddenError, NotAuthenticatedError, NotFoundError } from '../../src/errors.ts';

const MIN = 60 * 1000;
const ada: UserActor = { kind: 'user', userId: 'u-ada', email: 'ada@a.test', name: 'Ada', memberships: new Map([['org-a', 'owner']]) };
const bob: UserActor = { kind: 'user', userId: 'u-bob', email: 'bob@a.test', name: 'Bob', memberships: new Map([['org-a', 'viewer']]) };
const adaByToken = (scopes: ('read' | 'write')[]): UserActor => ({ ...ada, via: { kind: 'token', tokenId: 't-1', scopes } });

describe('account policy: who changes an account’s credentials', () => {
  test('the account’s own user, signed in with a browser session, manages it', () => {
    assert.equal(can(ada, 'manage', { kind: 'account', userId: 'u-ada' }), true);
    assert.equal(mayManageAccount(ada, 'u-ada'), true);
  });

  test('nobody else does, whatever their role: an owner may not change a viewer’s account', () => {
    assert.equal(can(ada, 'manage', { kind: 'account', userId: 'u-bob' }), false);
    assert.equal(can(bob, 'manage', { kind: 'account', userId: 'u-ada' }), false);
    assert.equal(can(ANONYMOUS, 'manage', { kind: 'account', userId: 'u-ada' }), false);
  });

  test('a personal access token never manages its own account, even with write scope', () => {
    assert.equal(can(adaByToken(['read', 'write']), 'manage', { kind: 'account', userId: 'u-ada' }), false);
    assert.equal(can(adaByToken(['read']), 'manage', { kind: 'account', userId: 'u-ada' }), false);
  });

  test('only "manage" is an account action', () => {
    for (const action of ['read', 'list', 'edit', 'delete', 'create'] as const) {
      assert.equal(can(ada, action, { kind: 'account', userId: 'u-ada' }), false, action);
    }
  });

  test('authorize refuses alike: nobody signed in 401, someone else’s account 404 (hidden), a token 403', () => {
    assert.doesNotThrow(() => authorize(ada, 'manage', { kind: 'account', userId: 'u-ada' }));
    assert.throws(() => authorize(ANONYMOUS, 'manage', { kind: 'account', userId: 'u-ada' }), NotAuthenticatedError);
    assert.throws(() => authorize(bob, 'manage', { kind: 'account', userId: 'u-ada' }), NotFoundError);
    assert.throws(() => authorize(adaByToken(['read', 'write']), 'manage', { kind: 'account', userId: 'u-ada' }), ForbiddenError);
  });
});

describe('account policy: session lifetime by role', () => {
  /** The specification (docs/security.md): owners and admins 30 min idle / 12 h; everyone else 4 h / 24 h. */
  const DEFAULTS: Record<Role, { idleMs: number; absoluteMs: number }> = {
    owner: { idleMs: 30 * MIN, absoluteMs: 720 * MIN },
    admin: { idleMs: 30 * MIN, absoluteMs: 720 * MIN },
    manager: { idleMs: 240 * MIN, absoluteMs: 1440 * MIN },
    member: { idleMs: 240 * MIN, absoluteMs: 1440 * MIN },
    viewer: { idleMs: 240 * MIN, absoluteMs: 1440 * MIN },
  };

  for (const role of ROLES) {
    test(`a ${role}'s default session: ${DEFAULTS[role].idleMs / MIN} min idle, ${DEFAULTS[role].absoluteMs / MIN} min absolute`, () => {
      assert.deepEqual(sessionLimitsForRole({ role, idleMinutes: null, absoluteMinutes: null }), DEFAULTS[role]);
    });
  }

  test('an organization’s own setting replaces the role default', () => {
    assert.deepEqual(sessionLimitsForRole({ role: 'viewer', idleMinutes: 15, absoluteMinutes: 60 }), { idleMs: 15 * MIN, absoluteMs: 60 * MIN });
    assert.deepEqual(sessionLimitsForRole({ role: 'owner', idleMinutes: null, absoluteMinutes: 90 }), { idleMs: 30 * MIN, absoluteMs: 90 * MIN });
  });

  test('over several organizations the strictest limit of each kind wins; no membership gets the reader defaults', () => {
    assert.deepEqual(
      sessionLimitsFor([
        { role: 'viewer', idleMinutes: 10, absoluteMinutes: null },
        { role: 'admin', idleMinutes: null, absoluteMinutes: null },
      ]),
      { idleMs: 10 * MIN, absoluteMs: 720 * MIN },
    );
    assert.deepEqual(sessionLimitsFor([]), DEFAULTS.viewer);
  });
});

describe('account policy: MFA required by an organization’s setting', () => {
  const REQUIRED: Record<'none' | 'admins' | 'everyone', Role[]> = {
    none: [],
    admins: ['admin', 'owner'],
    everyone: ['viewer', 'member', 'manager', 'admin', 'owner'],
  };
  for (const [setting, roles] of Object.entries(REQUIRED) as [keyof typeof REQUIRED, Role[]][]) {
    test(`"${setting}" obliges ${roles.length ? roles.join(', ') : 'nobody'}`, () => {
      for (const role of ROLES) assert.equal(mfaRequiredBy(setting, role), roles.includes(role), `${setting} / ${role}`);
    });
  }
});
