import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nextSignInStep } from '../../src/auth/sign-in-steps.ts';

const base = { enrolled: false, secondFactorDone: false, passwordMustChange: false, mfaRequired: false };

describe('the order of sign-in steps', () => {
  test('nothing outstanding: a full session', () => {
    assert.equal(nextSignInStep(base), null);
  });

  test('an enrolled second factor comes first, even before a password someone else chose', () => {
    assert.equal(nextSignInStep({ ...base, enrolled: true, passwordMustChange: true }), 'mfa');
    assert.equal(nextSignInStep({ ...base, enrolled: true, secondFactorDone: true, passwordMustChange: true }), 'password-change');
    assert.equal(nextSignInStep({ ...base, enrolled: true, secondFactorDone: true }), null);
  });

  test('a password someone else chose is replaced before a required enrollment', () => {
    assert.equal(nextSignInStep({ ...base, passwordMustChange: true, mfaRequired: true }), 'password-change');
    assert.equal(nextSignInStep({ ...base, mfaRequired: true }), 'mfa-enrollment');
  });

  test('a required enrollment is not asked of someone already enrolled', () => {
    assert.equal(nextSignInStep({ ...base, enrolled: true, secondFactorDone: true, mfaRequired: true }), null);
  });
});
