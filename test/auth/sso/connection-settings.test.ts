import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { issuerProblem, parseSsoSettingsForm, SsoSettingsValidationError } from '../../../src/auth/sso/connection-settings.ts';
import { roleFromClaim } from '../../../src/auth/sso/sign-in.ts';

const OWNER = '7d1b3c9e-2f4a-4e8b-9c1d-0a2b3c4d5e6f';
const VALID = {
  enabled: 'on',
  issuer: 'https://login.example.com/tenant/v2.0',
  client_id: 'abc',
  client_secret: 's3cret',
  allowed_domains: 'Example.com, @corp.example.com\nexample.com',
  role_claim: 'groups',
  role_mapping: 'admins = admin\n  Engineering Team = MEMBER  ',
  default_role: 'viewer',
};
const fieldErrors = (body: Record<string, string>, hasSecret = false) => {
  try {
    parseSsoSettingsForm(body, hasSecret);
    return {};
  } catch (error) {
    assert.ok(error instanceof SsoSettingsValidationError);
    return error.fieldErrors;
  }
};

describe('single sign-on settings form', () => {
  test('a valid form: domains lower-cased without @ or repeats, mapping lines parsed, roles lower-cased', () => {
    const input = parseSsoSettingsForm(VALID, false);
    assert.deepEqual(input.allowedDomains, ['example.com', 'corp.example.com']);
    assert.deepEqual(input.roleMapping, { admins: 'admin', 'Engineering Team': 'member' });
    assert.equal(input.clientSecret, 's3cret');
    assert.equal(input.requireSso, false);
  });

  test('an empty client secret keeps the stored one, and is required when none is stored', () => {
    assert.equal(parseSsoSettingsForm({ ...VALID, client_secret: '' }, true).clientSecret, null);
    assert.match(fieldErrors({ ...VALID, client_secret: '' }).client_secret ?? '', /Enter the client secret/);
  });

  test('issuers: https, or http on loopback only; no query, fragment or credentials', () => {
    assert.equal(issuerProblem('https://idp.example.com'), null);
    assert.equal(issuerProblem('http://127.0.0.1:8080'), null);
    assert.equal(issuerProblem('http://localhost:8080/realms/x'), null);
    for (const bad of ['http://idp.example.com', 'javascript:alert(1)', 'not a url', 'https://idp.example.com/?a=1', 'https://u:p@idp.example.com', 'http://169.254.169.254']) {
      assert.notEqual(issuerProblem(bad), null, bad);
    }
  });

  test('owner is never a role the provider hands out (default or mapping)', () => {
    assert.ok(fieldErrors({ ...VALID, default_role: 'owner' }).default_role);
    assert.ok(fieldErrors({ ...VALID, role_mapping: 'boss = owner' }).role_mapping);
    assert.ok(fieldErrors({ ...VALID, role_mapping: 'no role here' }).role_mapping);
  });

  test('a mapping needs a claim; domains must be domain names and at least one', () => {
    assert.ok(fieldErrors({ ...VALID, role_claim: '' }).role_claim);
    assert.ok(fieldErrors({ ...VALID, allowed_domains: '' }).allowed_domains);
    assert.ok(fieldErrors({ ...VALID, allowed_domains: 'https://example.com/x' }).allowed_domains);
    assert.ok(fieldErrors({ ...VALID, allowed_domains: '*.example.com' }).allowed_domains);
  });

  test('requiring SSO needs SSO on and a break-glass owner', () => {
    assert.ok(fieldErrors({ ...VALID, require_sso: 'on' }).break_glass_user_id);
    assert.ok(fieldErrors({ ...VALID, enabled: '', require_sso: 'on', break_glass_user_id: OWNER }).require_sso);
    assert.equal(parseSsoSettingsForm({ ...VALID, require_sso: 'on', break_glass_user_id: OWNER }, false).breakGlassUserId, OWNER);
    assert.ok(fieldErrors({ ...VALID, break_glass_user_id: "x' OR 1=1" }).break_glass_user_id);
  });
});

describe('role from the claim', () => {
  const connection = { roleClaim: 'groups', roleMapping: { staff: 'viewer' as const, editors: 'member' as const, admins: 'admin' as const } };
  test('the highest mapped value wins; a single string works too', () => {
    assert.equal(roleFromClaim(connection, { groups: ['staff', 'admins', 'editors'] }), 'admin');
    assert.equal(roleFromClaim(connection, { groups: 'editors' }), 'member');
  });
  test('unmapped values, other types, a missing claim or no claim configured give no role', () => {
    assert.equal(roleFromClaim(connection, { groups: ['unknown'] }), null);
    assert.equal(roleFromClaim(connection, { groups: [42, { admins: true }] }), null);
    assert.equal(roleFromClaim(connection, {}), null);
    assert.equal(roleFromClaim({ ...connection, roleClaim: null }, { groups: ['admins'] }), null);
  });
  test('inherited object keys are not mappings', () => {
    assert.equal(roleFromClaim(connection, { groups: ['constructor', '__proto__', 'toString'] }), null);
  });
});
