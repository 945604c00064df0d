/**
 * Guard: which links and actions a view shows by role come from the policy (src/access/view-links.ts and the
 * like, computed by routes and page builders and passed in as flags); no view compares roles or asks the policy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourceFiles } from '../helpers/source-files.ts';

const ROLE = "'(owner|admin|manager|member|viewer)'";
const ROLE_DECISION = new RegExp(
  [
    // (a form's pre-selected option, `selected={role === 'member'}`, is a default, not a decision)
    `(?<!selected=\\{)\\brole\\s*[!=]==?\\s*${ROLE}`,
    `${ROLE}\\s*[!=]==?\\s*[\\w.]*role\\b`,
    '\\b(roleAtLeast|roleRank|ROLE_RANK|clearanceFor|clearanceCovers)\\b',
    '\\bcan\\(',
    '\\.memberships\\.(get|has)\\(',
    // only types from the access layer: its decisions are made before the view is rendered
    "^import (?!type )[^;]*from '[./]*access/",
  ].join('|'),
  'm',
);

test('no view compares roles or asks the policy itself', () => {
  const offenders = sourceFiles()
    .filter(([path]) => path.startsWith('src/web/views/'))
    .filter(([, text]) => ROLE_DECISION.test(text))
    .map(([path, text]) => `${path}: ${ROLE_DECISION.exec(text)![0]}`);
  assert.deepEqual(offenders, []);
});

test('the guard sees a role comparison and a policy import', () => {
  assert.ok(ROLE_DECISION.test("{m.role === 'owner' || m.role === 'admin' ? <Links /> : null}"));
  assert.ok(ROLE_DECISION.test("{'admin' === view.role ? <Links /> : null}"));
  assert.ok(ROLE_DECISION.test("import { can } from '../../access/policy.ts';"));
  assert.ok(!ROLE_DECISION.test("import type { OrganizationLinks } from '../../access/view-links.ts';"));
  assert.ok(!ROLE_DECISION.test('<option value={role} selected={role === row.role}>'));
  assert.ok(!ROLE_DECISION.test("<option value={role} selected={role === 'member'}>"));
});
