import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ROLES, roleAtLeast, type Role } from '../../src/access/roles.ts';
import { effectiveSettings, judge, requirementOf, type Review, type TouchedDocument } from '../../src/changes/approval-rules.ts';
import type { Classification } from '../../src/content/types.ts';

const HEAD = 'a'.repeat(40);
const OLD = 'b'.repeat(40);
const AUTHOR = 'author';
const doc = (classification: Classification, approvers?: string[]): TouchedDocument => ({ path: 'p.md', before: { classification, approvers }, after: { classification, approvers } });
const review = (userId: string, role: Role | null, verdict: Review['verdict'] = 'approve', commit = HEAD): Review => ({ userId, email: `${userId}@acme.test`, role, verdict, commit });

describe('approval rules', () => {
  test('defaults: public and internal publish directly, confidential needs a manager, restricted two admins', () => {
    assert.deepEqual(requirementOf([doc('public')]), { approvals: 0, minimumRole: 'manager', approverLists: [] });
    assert.equal(requirementOf([doc('internal')]).approvals, 0);
    assert.deepEqual(requirementOf([doc('confidential')]), { approvals: 1, minimumRole: 'manager', approverLists: [] });
    assert.deepEqual(requirementOf([doc('restricted')]), { approvals: 2, minimumRole: 'admin', approverLists: [] });
  });

  test('every classification × reviewer role × author or not × number of approvals', () => {
    const needed: Record<Classification, { n: number; role: Role }> = {
      public: { n: 0, role: 'manager' },
      internal: { n: 0, role: 'manager' },
      confidential: { n: 1, role: 'manager' },
      restricted: { n: 2, role: 'admin' },
    };
    for (const classification of ['public', 'internal', 'confidential', 'restricted'] as const) {
      const requirement = requirementOf([doc(classification)]);
      for (const role of ROLES) {
        for (const byAuthor of [false, true]) {
          for (const count of [0, 1, 2, 3]) {
            const reviews = Array.from({ length: count }, (_, i) => review(byAuthor && i === 0 ? AUTHOR : `r${i}`, role));
            const verdict = judge(requirement, reviews, AUTHOR, HEAD);
            const counting = reviews.filter((r) => r.userId !== AUTHOR && roleAtLeast(role, needed[classification].role)).length;
            const expected = counting >= needed[classification].n;
            assert.equal(verdict.mergeable, expected, `${classification}, ${count} × ${role}${byAuthor ? ' incl. author' : ''}`);
          }
        }
      }
    }
  });

  test('the strictest document decides, old or new version: a change that lowers restricted still needs two admins', () => {
    const declassify: TouchedDocument = { path: 'x.md', before: { classification: 'restricted' }, after: { classification: 'internal' } };
    assert.deepEqual(requirementOf([declassify, doc('confidential')]), { approvals: 2, minimumRole: 'admin', approverLists: [] });
    const created: TouchedDocument = { path: 'new.md', before: null, after: { classification: 'confidential' } };
    assert.equal(requirementOf([doc('public'), created]).approvals, 1);
  });

  test('the two-person rule is a floor no setting lowers; other classifications follow the settings', () => {
    const settings = effectiveSettings({ restricted: { approvals: 1, minimumRole: 'manager' }, internal: { approvals: 1, minimumRole: 'member' } });
    assert.deepEqual(settings.restricted, { approvals: 2, minimumRole: 'admin' });
    assert.deepEqual(requirementOf([doc('internal')], settings), { approvals: 1, minimumRole: 'member', approverLists: [] });
    assert.equal(effectiveSettings({ restricted: { approvals: 3, minimumRole: 'owner' } }).restricted.approvals, 3);
  });

  test('one person counts once, only approvals of the head commit count, former members count for nothing', () => {
    const requirement = requirementOf([doc('restricted')]);
    assert.equal(judge(requirement, [review('alice', 'admin'), review('alice', 'admin')], AUTHOR, HEAD).mergeable, false);
    assert.equal(judge(requirement, [review('alice', 'admin'), review('bob', 'owner', 'approve', OLD)], AUTHOR, HEAD).mergeable, false, 'an approval of an older head is dismissed');
    assert.equal(judge(requirement, [review('alice', 'admin'), review('bob', null)], AUTHOR, HEAD).mergeable, false);
    const ok = judge(requirement, [review('alice', 'admin'), review('bob', 'owner')], AUTHOR, HEAD);
    assert.equal(ok.mergeable, true);
    assert.deepEqual(ok.countingApprovals, ['alice@acme.test', 'bob@acme.test']);
  });

  test('approvers named in front matter: one of them must approve, by email or by role', () => {
    const byEmail = requirementOf([doc('internal', ['carol@acme.test'])]);
    assert.equal(judge(byEmail, [], AUTHOR, HEAD).needsReview, true);
    assert.equal(judge(byEmail, [review('dave', 'owner')], AUTHOR, HEAD).mergeable, false, 'an owner who is not named does not count');
    assert.equal(judge(byEmail, [review('carol', 'member')], AUTHOR, HEAD).mergeable, true);
    const byRole = requirementOf([doc('internal', ['admin'])]);
    assert.equal(judge(byRole, [review('erin', 'manager')], AUTHOR, HEAD).mergeable, false);
    assert.equal(judge(byRole, [review('erin', 'owner')], AUTHOR, HEAD).mergeable, true);
    // the author cannot approve their own change even when named
    assert.equal(judge(byEmail, [{ ...review('carol', 'member'), userId: AUTHOR }], AUTHOR, HEAD).mergeable, false);
  });

  test('a standing request for changes blocks until that person approves or the review is dismissed', () => {
    const requirement = requirementOf([doc('confidential')]);
    const blocked = judge(requirement, [review('m1', 'manager'), review('m2', 'manager', 'request-changes')], AUTHOR, HEAD);
    assert.equal(blocked.mergeable, false);
    assert.deepEqual(blocked.blockedBy, ['m2@acme.test']);
    assert.match(blocked.outstanding.join('\n'), /m2@acme\.test requested changes/);
    assert.equal(judge(requirement, [review('m2', 'manager', 'request-changes'), review('m2', 'manager')], AUTHOR, HEAD).mergeable, true);
    assert.equal(judge(requirement, [review('m1', 'manager'), { ...review('m2', 'manager', 'request-changes'), dismissed: true }], AUTHOR, HEAD).mergeable, true);
  });

  test('says what is still needed in plain words', () => {
    const verdict = judge(requirementOf([doc('restricted', ['legal@acme.test'])]), [review('a1', 'admin')], AUTHOR, HEAD);
    assert.deepEqual(verdict.outstanding, ['1 more approval by an admin or above', 'an approval by one of legal@acme.test (for p.md)']);
  });

  test('organization settings: per classification on/off, count and lowest role; the floors of confidential and restricted hold', () => {
    const settings = effectiveSettings({
      public: { approvals: 2, minimumRole: 'admin' },
      internal: { approvals: 0, minimumRole: 'member' },
      confidential: { approvals: 0, minimumRole: 'member' },
      restricted: { approvals: 1, minimumRole: 'manager' },
    });
    assert.deepEqual(settings.public, { approvals: 2, minimumRole: 'admin' });
    assert.deepEqual(requirementOf([doc('internal')], settings).approvals, 0, 'internal off');
    assert.deepEqual(settings.confidential, { approvals: 1, minimumRole: 'manager' }, 'confidential cannot be turned off nor given to members');
    assert.deepEqual(settings.restricted, { approvals: 2, minimumRole: 'admin' }, 'the two-person rule');
    // a public document now needs two admins; a member's approval does not count, the author's never
    const requirement = requirementOf([doc('public')], settings);
    assert.equal(judge(requirement, [review('m', 'member'), review('a', 'admin')], AUTHOR, HEAD).mergeable, false);
    assert.equal(judge(requirement, [review(AUTHOR, 'owner'), review('a', 'admin')], AUTHOR, HEAD).mergeable, false);
    assert.equal(judge(requirement, [review('o', 'owner'), review('a', 'admin')], AUTHOR, HEAD).mergeable, true);
    // raising the floors is allowed; nonsense falls back to the defaults; a setting never asks for more than 5
    assert.deepEqual(effectiveSettings({ confidential: { approvals: 3, minimumRole: 'owner' } }).confidential, { approvals: 3, minimumRole: 'owner' });
    assert.deepEqual(effectiveSettings({ internal: { approvals: 1.5, minimumRole: 'boss' as Role } }).internal, { approvals: 0, minimumRole: 'manager' });
    assert.equal(effectiveSettings({ public: { approvals: 99, minimumRole: 'member' } }).public.approvals, 5);
    assert.equal(effectiveSettings({ public: { approvals: 1, minimumRole: 'viewer' } }).public.minimumRole, 'manager', 'viewers never review');
  });
});
