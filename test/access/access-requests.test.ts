import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeRequestPath } from '../../src/access/access-requests.ts';

const project = { orgSlug: 'acme', slug: 'handbook' };

describe('normalizeRequestPath: what a requester types becomes a repository path', () => {
  const cases: [string, string][] = [
    ['policies/incident-response', 'policies/incident-response.md'],
    ['/policies/incident-response', 'policies/incident-response.md'],
    ['policies/incident-response.md', 'policies/incident-response.md'],
    ['/acme/handbook/policies/incident-response', 'policies/incident-response.md'],
    ['http://intranet.example/acme/handbook/policies/incident-response?x=1#triage', 'policies/incident-response.md'],
    ['policies/', 'policies/index.md'],
    ['', 'index.md'],
    ['policies/caf%C3%A9', 'policies/café.md'],
  ];
  for (const [input, expected] of cases) {
    test(`"${input}" → ${expected}`, () => assert.equal(normalizeRequestPath(input, project), expected));
  }
  for (const bad of ['../secrets', 'policies/../x', 'a//b', 'a\\b', 'x\u0000y', 'a/./b', '%zz', '-/tags/x', 'x'.repeat(501)]) {
    test(`"${bad.slice(0, 20)}" is refused`, () => assert.throws(() => normalizeRequestPath(bad, project), { status: 400 }));
  }
});
