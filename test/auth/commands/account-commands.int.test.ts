import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Actor, UserActor } from '../../../src/access/actor.ts';
import { SecurityNotices } from '../../../src/audit/security-notices.ts';
import { upsertAccount } from '../../../src/auth/accounts.ts';
import { changeEmail } from '../../../src/auth/commands/change-email.ts';
import { changePassword } from '../../../src/auth/commands/change-password.ts';
import { createAccessToken } from '../../../src/auth/commands/create-access-token.ts';
import type { AuthDeps } from '../../../src/auth/commands/deps.ts';
import { disableMfa } from '../../../src/auth/commands/disable-mfa.ts';
import { endOtherSessions } from '../../../src/auth/commands/end-other-sessions.ts';
import { endSession } from '../../../src/auth/commands/end-session.ts';
import { enrollMfa } from '../../../src/auth/commands/enroll-mfa.ts';
import { reauthenticate } from '../../../src/auth/commands/reauthenticate.ts';
import { regenerateRecoveryCodes } from '../../../src/auth/commands/regenerate-recovery-codes.ts';
import { revokeAccessToken } from '../../../src/auth/commands/revoke-access-token.ts';
import { MfaService, mfaSecretBox } from '../../../src/auth/mfa.ts';
import { verifyPassword } from '../../../src/auth/passwords.ts';
import { ReauthenticationRequiredError } from '../../../src/auth/reauth.ts';
import { SessionStore, type Session } from '../../../src/auth/sessions.ts';
import { Throttle } from '../../../src/auth/throttle.ts';
import { listTokens } from '../../../src/auth/tokens.ts';
import { hotp, timeStep } from '../../../src/auth/totp.ts';
import type { Db } from '../../../src/db/connection.ts';
import { ForbiddenError, NotAuthenticatedError, NotFoundError } from '../../../src/errors.ts';
import { auditEvents, refuseAuditEvents } from '../../helpers/audit-refusal.ts';
import { databaseTargets } from '../../helpers/databases.ts';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a different staple of horses';
const ORIGIN = { requestId: 'req-test', ip: '192.0.2.7' };

for (const target of databaseTargets()) {
  describe(`account commands (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let deps: AuthDeps;
    let clock = 1_800_000_000_000;
    const now = () => clock;
    let ada: string;
    let bob: string;

    before(async () => {
      const opened = await target.open();
      db = opened.db;
      dispose = opened.dispose;
      ada = (await upsertAccount(db, { email: 'ada@acme.test', orgSlug: 'acme', role: 'admin', password: PASSWORD })).user.id;
      bob = (await upsertAccount(db, { email: 'bob@acme.test', orgSlug: 'acme', role: 'owner', password: PASSWORD })).user.id;
      const sessions = new SessionStore(db);
      deps = {
        db,
        sessions,
        mfa: new MfaService(db, mfaSecretBox({ current: Buffer.alloc(32, 9), previous: [] }), now),
        throttle: new Throttle(db, now),
        notices: new SecurityNotices(db),
      };
    });
    after(async () => dispose());
    beforeEach(async () => {
      await refuseAuditEvents(db, null);
      clock += 10 * 60 * 1000; // throttle windows from earlier tests pass
    });

    /** A fresh browser session of a user, re-authenticated just now. */
    async function signedIn(userId: string): Promise<{ id: string; session: Session; actor: UserActor }> {
      const { id, session } = await deps.sessions.create(userId, { reauthenticated: true });
      return { id, session, actor: session.actor };
    }

    async function enrollAda(): Promise<Buffer> {
      const key = await deps.mfa.enrollmentKey(ada);
      assert.ok(await deps.mfa.confirmEnrollment(ada, hotp(key, timeStep(clock / 1000))));
      clock += 30_000;
      return key;
    }

    describe('refuse every actor but the account’s own browser session', () => {
      // Each command, called for Ada's session by someone else: nothing changes, and the refusal is the policy's.
      const commands: [string, (actor: Actor, session: Session) => Promise<unknown>][] = [
        ['changePassword', (actor, session) => changePassword(deps, actor, { session, current: PASSWORD, password: NEW_PASSWORD, origin: ORIGIN })],
        ['changeEmail', (actor, session) => changeEmail(deps, actor, { session, email: 'stolen@evil.test', origin: ORIGIN })],
        ['enrollMfa', (actor, session) => enrollMfa(deps, actor, { session, code: '000000', origin: ORIGIN })],
        ['disableMfa', (actor, session) => disableMfa(deps, actor, { session, origin: ORIGIN })],
        ['regenerateRecoveryCodes', (actor, session) => regenerateRecoveryCodes(deps, actor, { session, origin: ORIGIN })],
        ['createAccessToken', (actor, session) => createAccessToken(deps, actor, { session, name: 'x', scopes: ['write'], expiresInDays: 7, origin: ORIGIN })],
        ['revokeAccessToken', (actor, session) => revokeAccessToken(deps, actor, { session, tokenId: '00000000-0000-0000-0000-000000000000', origin: ORIGIN })],
        ['endSession', (actor, session) => endSession(deps, actor, { session, handle: session.idHash, origin: ORIGIN })],
        ['endOtherSessions', (actor, session) => endOtherSessions(deps, actor, { session, origin: ORIGIN })],
        ['reauthenticate', (actor, session) => reauthenticate(deps, actor, { session, password: PASSWORD, code: '', origin: ORIGIN })],
      ];
      for (const [name, run] of commands) {
        test(`${name}: another user 404, a token of the same user 403, nobody 401`, async () => {
          const adaSession = await signedIn(ada);
          const bobSession = await signedIn(bob);
          await assert.rejects(run(bobSession.actor, adaSession.session), NotFoundError);
          await assert.rejects(run({ ...adaSession.actor, via: { kind: 'token', tokenId: 't', scopes: ['read', 'write'] } }, adaSession.session), ForbiddenError);
          await assert.rejects(run({ kind: 'anonymous' }, adaSession.session), NotAuthenticatedError);
          assert.ok(await deps.sessions.lookup(adaSession.id), 'Ada’s session lives on');
        });
      }

      test('nothing changed: Ada’s password, email, tokens and second factor are as they were', async () => {
        const row = await db.selectFrom('users').select(['email', 'password_hash']).where('id', '=', ada).executeTakeFirstOrThrow();
        assert.equal(row.email, 'ada@acme.test');
        assert.equal(await verifyPassword(row.password_hash, PASSWORD), true);
        assert.equal((await listTokens(db, ada)).length, 0);
        assert.equal(await deps.mfa.isEnrolled(ada), false);
      });
    });

    test('credential changes need a recent re-authentication, checked by the command itself', async () => {
      const { session, actor } = await signedIn(ada);
      session.reauthenticatedAt = Date.now() - 11 * 60 * 1000;
      await assert.rejects(createAccessToken(deps, actor, { session, name: 'late', scopes: ['read'], expiresInDays: 7, origin: ORIGIN }), ReauthenticationRequiredError);
      await assert.rejects(changeEmail(deps, actor, { session, email: 'late@acme.test', origin: ORIGIN }), ReauthenticationRequiredError);
      await assert.rejects(disableMfa(deps, actor, { session, origin: ORIGIN }), ReauthenticationRequiredError);
      assert.equal((await listTokens(db, ada)).length, 0);
    });

    describe('changePassword', () => {
      test('ends every other session, issues a fresh one, and records auth.password_changed', async () => {
        const current = await signedIn(ada);
        const other = await signedIn(ada);
        const before = (await auditEvents(db, 'auth.password_changed', ada)).length;
        const result = await changePassword(deps, current.actor, { session: current.session, current: PASSWORD, password: NEW_PASSWORD, origin: ORIGIN });
        assert.equal(result.kind, 'changed');
        assert.equal(await deps.sessions.lookup(other.id), null, 'the other session ended');
        assert.equal(await deps.sessions.lookup(current.id), null, 'this browser’s old session id ended too');
        assert.ok(result.kind === 'changed' && (await deps.sessions.lookup(result.session.id)), 'the fresh session works');
        assert.equal((await auditEvents(db, 'auth.password_changed', ada)).length, before + 1);
        // back to the shared password for the other tests
        const back = await signedIn(ada);
        assert.equal((await changePassword(deps, back.actor, { session: back.session, current: NEW_PASSWORD, password: PASSWORD, origin: ORIGIN })).kind, 'changed');
      });

      test('a wrong current password changes nothing and ends no session', async () => {
        const current = await signedIn(ada);
        const result = await changePassword(deps, current.actor, { session: current.session, current: 'wrong wrong wrong', password: NEW_PASSWORD, origin: ORIGIN });
        assert.equal(result.kind, 'wrong-current-password');
        assert.ok(await deps.sessions.lookup(current.id));
      });

      test('the audit event is in the change’s transaction: when it cannot be written, the password and the sessions stay', async () => {
        const current = await signedIn(ada);
        const other = await signedIn(ada);
        await refuseAuditEvents(db, 'auth.password_changed');
        await assert.rejects(changePassword(deps, current.actor, { session: current.session, current: PASSWORD, password: NEW_PASSWORD, origin: ORIGIN }));
        await refuseAuditEvents(db, null);
        const row = await db.selectFrom('users').select('password_hash').where('id', '=', ada).executeTakeFirstOrThrow();
        assert.equal(await verifyPassword(row.password_hash, PASSWORD), true, 'the old password still works');
        deps.sessions.forgetAll();
        assert.ok(await deps.sessions.lookup(other.id), 'the other session was not ended');
        assert.ok(await deps.sessions.lookup(current.id), 'nor this one');
      });
    });

    describe('sessions', () => {
      test('endSession ends one session of one’s own; someone else’s handle is 404 and theirs lives on', async () => {
        const mine = await signedIn(ada);
        const spare = await signedIn(ada);
        const bobs = await signedIn(bob);
        await assert.rejects(endSession(deps, mine.actor, { session: mine.session, handle: bobs.session.idHash, origin: ORIGIN }), NotFoundError);
        assert.ok(await deps.sessions.lookup(bobs.id));
        assert.deepEqual(await endSession(deps, mine.actor, { session: mine.session, handle: spare.session.idHash, origin: ORIGIN }), { endedCurrent: false });
        assert.equal(await deps.sessions.lookup(spare.id), null);
        assert.deepEqual(await endSession(deps, mine.actor, { session: mine.session, handle: mine.session.idHash, origin: ORIGIN }), { endedCurrent: true });
        assert.equal(await deps.sessions.lookup(mine.id), null);
      });

      test('endOtherSessions keeps the current one; refused audit rolls the ending back', async () => {
        const mine = await signedIn(ada);
        const other = await signedIn(ada);
        await refuseAuditEvents(db, 'auth.session_revoked');
        await assert.rejects(endOtherSessions(deps, mine.actor, { session: mine.session, origin: ORIGIN }));
        await refuseAuditEvents(db, null);
        deps.sessions.forgetAll();
        assert.ok(await deps.sessions.lookup(other.id), 'not ended without its audit event');
        const { count } = await endOtherSessions(deps, mine.actor, { session: mine.session, origin: ORIGIN });
        assert.ok(count >= 1);
        assert.equal(await deps.sessions.lookup(other.id), null);
        assert.ok(await deps.sessions.lookup(mine.id));
        const [last] = (await auditEvents(db, 'auth.session_revoked', ada)).slice(-1);
        const details = typeof last!.details === 'string' ? JSON.parse(last!.details) : last!.details;
        assert.equal(details.kind, 'all_others');
      });
    });

    describe('tokens', () => {
      test('a token is created with token.created, or not at all', async () => {
        const mine = await signedIn(ada);
        await refuseAuditEvents(db, 'token.created');
        await assert.rejects(createAccessToken(deps, mine.actor, { session: mine.session, name: 'ci', scopes: ['read'], expiresInDays: 7, origin: ORIGIN }));
        await refuseAuditEvents(db, null);
        assert.equal((await listTokens(db, ada)).length, 0);
        const { summary } = await createAccessToken(deps, mine.actor, { session: mine.session, name: 'ci', scopes: ['read'], expiresInDays: 7, origin: ORIGIN });
        assert.equal((await auditEvents(db, 'token.created', ada)).length >= 1, true);
        await assert.rejects(revokeAccessToken(deps, (await signedIn(bob)).actor, { session: mine.session, tokenId: summary.id, origin: ORIGIN }), NotFoundError);
        const bobs = await signedIn(bob);
        await assert.rejects(revokeAccessToken(deps, bobs.actor, { session: bobs.session, tokenId: summary.id, origin: ORIGIN }), NotFoundError);
        const revoked = await revokeAccessToken(deps, mine.actor, { session: mine.session, tokenId: summary.id, origin: ORIGIN });
        assert.ok(revoked.revokedAt);
      });
    });

    describe('two-step verification', () => {
      test('enrollMfa: a wrong code refuses; the right one enrolls with ten codes and auth.mfa_enrolled', async () => {
        const mine = await signedIn(ada);
        const key = await deps.mfa.enrollmentKey(ada);
        assert.equal((await enrollMfa(deps, mine.actor, { session: mine.session, code: '000000', origin: ORIGIN })).kind, 'refused');
        const result = await enrollMfa(deps, mine.actor, { session: mine.session, code: hotp(key, timeStep(clock / 1000)), origin: ORIGIN });
        assert.equal(result.kind === 'enrolled' && result.recoveryCodes.length, 10);
        assert.equal(await deps.mfa.isEnrolled(ada), true);
        assert.equal((await auditEvents(db, 'auth.mfa_enrolled', ada)).length >= 1, true);
        await deps.mfa.disable(ada);
      });

      test('disableMfa: not without its audit event; refused while an organization requires MFA of the role', async () => {
        await enrollAda();
        const mine = await signedIn(ada);
        await refuseAuditEvents(db, 'auth.mfa_disabled');
        await assert.rejects(disableMfa(deps, mine.actor, { session: mine.session, origin: ORIGIN }));
        await refuseAuditEvents(db, null);
        assert.equal(await deps.mfa.isEnrolled(ada), true, 'still enrolled');
        await db.updateTable('organizations').set({ require_mfa: 'admins' }).execute();
        await assert.rejects(disableMfa(deps, mine.actor, { session: mine.session, origin: ORIGIN }), /requires two-step verification/);
        await db.updateTable('organizations').set({ require_mfa: 'none' }).execute();
        await disableMfa(deps, mine.actor, { session: mine.session, origin: ORIGIN });
        assert.equal(await deps.mfa.isEnrolled(ada), false);
      });

      test('regenerateRecoveryCodes: null without a second factor; with one, new codes and the old ones dead', async () => {
        const mine = await signedIn(ada);
        assert.equal(await regenerateRecoveryCodes(deps, mine.actor, { session: mine.session, origin: ORIGIN }), null);
        await enrollAda();
        const codes = await regenerateRecoveryCodes(deps, mine.actor, { session: mine.session, origin: ORIGIN });
        assert.equal(codes?.length, 10);
        assert.equal((await auditEvents(db, 'auth.recovery_codes_regenerated', ada)).length, 1);
        await deps.mfa.disable(ada);
      });
    });

    test('reauthenticate marks the session only with the right password; a wrong one is recorded', async () => {
      const mine = await signedIn(ada);
      mine.session.reauthenticatedAt = null;
      const before = (await auditEvents(db, 'auth.reauthentication_failed', ada)).length;
      const wrong = await reauthenticate(deps, mine.actor, { session: mine.session, password: 'not it at all', code: '', origin: ORIGIN });
      assert.deepEqual(wrong, { kind: 'refused', reason: 'wrong-password', needsCode: false });
      assert.equal(mine.session.reauthenticatedAt, null);
      assert.equal((await auditEvents(db, 'auth.reauthentication_failed', ada)).length, before + 1);
      assert.deepEqual(await reauthenticate(deps, mine.actor, { session: mine.session, password: PASSWORD, code: '', origin: ORIGIN }), { kind: 'confirmed' });
      assert.ok(mine.session.reauthenticatedAt !== null);
    });
  });
}
