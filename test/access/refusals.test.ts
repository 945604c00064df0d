/**
 * Guard: `authorize()` (src/access/authorize.ts) is the only way to refuse. A permission decision is asked of the
 * policy and refused by authorize, which throws the typed error the refusal answers with (404 for what the actor
 * may not know exists, 403 for what they may see but not do); no other module builds those errors out of a role
 * or a `can()` of its own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filesMatching, sourceFiles } from '../helpers/source-files.ts';

/**
 * The only files that construct a 403 themselves, each for something that is no permission decision about an
 * actor, or is the refusal type of the change rules:
 */
const FORBIDDEN_ALLOWED = [
  // the refusals of the policy
  'src/access/authorize.ts',
  // a forged, expired or cross-site form: refused before any actor or resource is looked at
  'src/web/csrf.ts',
  // the CLI refuses a control socket other users could reach: a check of the file system, no actor
  'src/cli/control/client.ts',
  // ChangeRefusedError: the change rules' refusal (change-rules.ts decides per file with the policy's rights, and
  // the refusal lists every file it refuses and why)
  'src/changes/edit-steps.ts',
  // BrokenLinksRefusedError: the organization's "refuse changes that add broken links", a rule about the text of the
  // change (the same for every role), answered like the change rules' refusal
  'src/projects/link-gate.ts',
];

/** Calls and reads that decide about permissions: they belong to the policy, and refuse through authorize. */
const PERMISSION_CHECK = /\b(can|roleIn|roleAtLeast|clearanceFor|clearanceCovers|mayRead|mayEdit|mayReadVersion|mayTrack|mayManageAccount)\(|\.memberships\.(get|has)\(|\brole\s*[!=]==/;
const REFUSAL = /^\s*\{?\s*throw new (Forbidden|NotFound|PolicyNotFound|NotAuthenticated)Error\b/;

/** Every `if (condition) throw new <refusal>` of `text`, as [condition, error]. */
function refusingConditions(text: string): [string, string][] {
  const found: [string, string][] = [];
  for (const match of text.matchAll(/\bif \(/g)) {
    let depth = 1;
    let end = match.index + match[0].length;
    while (end < text.length && depth > 0) {
      if (text[end] === '(') depth++;
      else if (text[end] === ')') depth--;
      end++;
    }
    const refusal = REFUSAL.exec(text.slice(end, end + 200));
    if (refusal) found.push([text.slice(match.index + match[0].length, end - 1), refusal[1]!]);
  }
  return found;
}

test('only authorize() constructs a 403 (besides a short list of refusals that decide no permission)', () => {
  assert.deepEqual(filesMatching(/new ForbiddenError\(|extends ForbiddenError\b/, FORBIDDEN_ALLOWED), []);
  // and the one subclass outside authorize.ts is the change rules' refusal
  const subclasses = sourceFiles().flatMap(([path, text]) => [...text.matchAll(/class (\w+) extends ForbiddenError\b/g)].map((m) => `${path}: ${m[1]}`));
  assert.deepEqual(subclasses, ['src/changes/edit-steps.ts: ChangeRefusedError', 'src/projects/link-gate.ts: BrokenLinksRefusedError']);
});

test("only authorize() constructs the policy's 404 (PolicyNotFoundError)", () => {
  assert.deepEqual(filesMatching(/new PolicyNotFoundError\(/, ['src/access/authorize.ts']), []);
});

test('no module refuses on a permission check of its own: `if (!can(...)) throw ...` is authorize(...)', () => {
  const offenders = sourceFiles()
    .filter(([path]) => path !== 'src/access/authorize.ts')
    .flatMap(([path, text]) => refusingConditions(text).filter(([condition]) => PERMISSION_CHECK.test(condition)).map(([condition, error]) => `${path}: if (${condition}) throw ${error}Error`));
  assert.deepEqual(offenders, []);
});

test('the guard sees the refusals it is meant to catch', () => {
  const sample = [
    "if (!project || !can(actor, 'read', { kind: 'project', orgId: project.orgId })) throw new NotFoundError();",
    "if (roleIn(actor, orgId) === null) {\n  throw new PolicyNotFoundError();\n}",
    "if (actor.memberships.get(orgId) !== 'owner') throw new ForbiddenError('Owners only.');",
    "if (!row) throw new NotFoundError();",
    "if (can(actor, 'read', resource)) return doc;",
  ].join('\n');
  const caught = refusingConditions(sample).filter(([condition]) => PERMISSION_CHECK.test(condition));
  assert.deepEqual(caught.map(([, error]) => error), ['NotFound', 'PolicyNotFound', 'Forbidden']);
});
