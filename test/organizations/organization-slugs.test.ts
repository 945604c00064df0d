import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isOrganizationSlug } from '../../src/organizations/organizations.ts';

test("an organization's slug is a slug that is not one of the server's own first path segments", () => {
  for (const slug of ['acme', 'zephyrcart', 'a1-b2']) assert.equal(isOrganizationSlug(slug), true, slug);
  for (const slug of ['metrics', 'healthz', 'readyz', 'api', 'login', 'logout', 'invite', 'password-reset', 'robots.txt', '-', 'Acme', '']) {
    assert.equal(isOrganizationSlug(slug), false, slug);
  }
});
