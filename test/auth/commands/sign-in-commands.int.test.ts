import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ANONYMOUS } from '../../../src/access/actor.ts';
import { SecurityNotices } from '../../../src/audit/security-notices.ts';
import { upsertAccount } from '../../../src/auth/accounts.ts';
import { chooseFirstPassword } from '../../../src/auth/commands/choose-first-password.ts';
import type { AuthDeps } from '../../../src/auth/commands/deps.ts';
import { enrollMfaAtSignIn } from '../../../src/auth/commands/enroll-mfa-at-sign-in.ts';
import { issuePasswordReset } from '../../../src/auth/commands/issue-password-reset.ts';
import { signIn } from '../../../src/auth/commands/sign-in.ts';
import { signOut } from '../../../src/auth/commands/sign-out.ts';
import { usePasswordReset } from '../../../src/auth/commands/use-password-reset.ts';
import { verifySignInCode } from '../../../src/auth/commands/verify-sign-in-code.ts';
import { MfaService, mfaSecretBox } from '../../../src/auth/mfa.ts';
import { findPasswordReset } from '../../../src/auth/password-resets.ts';
import { verifyPassword } from '../../../src/auth/passwords.ts';
import { SessionStore } from '../../../src/auth/sessions.ts';
import { Throttle } from '../../../src/auth/throttle.ts';
import { hotp, timeStep } from '../../../src/auth/totp.ts';
import type { Db } from '../../../src/db/connection.ts';
import { ForbiddenError, NotFoundError } from '../../../src/errors.ts';
import { databaseTargets } from '../../helpers/databases.ts';
import { auditEvents, refuseAuditEvents } from '../../helpers/audit-refusal.ts';

const PASSWORD = 'correct horse battery staple';
const ORIGIN = { requestId: 'req-test', ip: '192.0.2.9' };

for (const target of databaseTargets()) {
  describe(`sign-in commands (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let deps: AuthDeps;
    let clock = 1_800_000_000_000;
    const now = () => clock;
    let ada: string;
    let orgId: string;

    before(async () => {
      const opened = await target.open();
      db = opened.db;
      dispose = opened.dispose;
      ada = (await upsertAccount(db, { email: 'ada@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD })).user.id;
      await upsertAccount(db, { email: 'owner@acme.test', orgSlug: 'acme', role: 'owner', password: PASSWORD });
      await upsertAccount(db, { email: 'viewer@acme.test', orgSlug: 'acme', role: 'viewer', password: PASSWORD });
      orgId = (await db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
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
      await deps.mfa.disable(ada);
      await db.updateTable('organizations').set({ require_mfa: 'none' }).execute();
      await db.updateTable('users').set({ password_must_change: false }).execute();
      clock += 20 * 60 * 1000;
    });

    const signInAda = (password = PASSWORD, presentedSessionId?: string) =>
      signIn(deps, ANONYMOUS, { email: 'ADA@acme.test ', password, origin: ORIGIN, ...(presentedSessionId ? { presentedSessionId } : {}) });

    async function enrollAda(): Promise<Buffer> {
      const key = await deps.mfa.enrollmentKey(ada);
      assert.ok(await deps.mfa.confirmEnrollment(ada, hotp(key, timeStep(clock / 1000))));
      clock += 30_000;
      return key;
    }

    test('the right password signs in with auth.sign_in; a planted session id is ended', async () => {
      const planted = await deps.sessions.create(ada, { reauthenticated: true });
      const before = (await auditEvents(db, 'auth.sign_in', ada)).length;
      const result = await signInAda(PASSWORD, planted.id);
      assert.equal(result.kind, 'signed-in');
      assert.ok(result.kind === 'signed-in' && (await deps.sessions.lookup(result.session.id)));
      assert.equal(await deps.sessions.lookup(planted.id), null);
      assert.equal((await auditEvents(db, 'auth.sign_in', ada)).length, before + 1);
    });

    test('a wrong password is rejected with auth.sign_in_failed and no session', async () => {
      const before = await db.selectFrom('sessions').select('id_hash').where('user_id', '=', ada).execute();
      assert.deepEqual(await signInAda('not the password'), { kind: 'rejected' });
      const afterwards = await db.selectFrom('sessions').select('id_hash').where('user_id', '=', ada).execute();
      assert.equal(afterwards.length, before.length);
    });

    test('no session is started when its auth.sign_in cannot be recorded', async () => {
      const before = (await db.selectFrom('sessions').select('id_hash').where('user_id', '=', ada).execute()).length;
      await refuseAuditEvents(db, 'auth.sign_in');
      await assert.rejects(signInAda());
      await refuseAuditEvents(db, null);
      assert.equal((await db.selectFrom('sessions').select('id_hash').where('user_id', '=', ada).execute()).length, before);
    });

    test('with MFA enrolled: a pending session, then the code gives the full session and ends the pending one', async () => {
      const key = await enrollAda();
      const first = await signInAda();
      assert.ok(first.kind === 'pending' && first.step === 'mfa');
      const pendingId = first.session.id;
      assert.equal(await deps.sessions.lookup(pendingId), null, 'a pending session signs nobody in');
      const wrong = await verifySignInCode(deps, ANONYMOUS, { pendingSessionId: pendingId, code: '000000', origin: ORIGIN });
      assert.deepEqual(wrong, { kind: 'refused', reason: 'wrong-code' });
      const right = await verifySignInCode(deps, ANONYMOUS, { pendingSessionId: pendingId, code: hotp(key, timeStep(clock / 1000)), origin: ORIGIN });
      assert.equal(right.kind, 'signed-in');
      assert.ok(right.kind === 'signed-in' && (await deps.sessions.lookup(right.session.id)));
      assert.equal(await deps.sessions.lookupPending(pendingId), null);
      const [verified] = (await auditEvents(db, 'auth.sign_in', ada)).slice(-1);
      const details = typeof verified!.details === 'string' ? JSON.parse(verified!.details) : verified!.details;
      assert.equal(details.mfa, true);
    });

    test('the code step keeps its pending session and spends nothing when the audit event cannot be written', async () => {
      const key = await enrollAda();
      const first = await signInAda();
      assert.ok(first.kind === 'pending');
      await refuseAuditEvents(db, 'auth.mfa_verified');
      const code = hotp(key, timeStep(clock / 1000));
      await assert.rejects(verifySignInCode(deps, ANONYMOUS, { pendingSessionId: first.session.id, code, origin: ORIGIN }));
      await refuseAuditEvents(db, null);
      deps.sessions.forgetAll();
      assert.ok(await deps.sessions.lookupPending(first.session.id), 'still pending');
      // the code was not spent: the same code still works
      const retry = await verifySignInCode(deps, ANONYMOUS, { pendingSessionId: first.session.id, code, origin: ORIGIN });
      assert.equal(retry.kind, 'signed-in');
    });

    test('the code step needs the pending session of the password step', async () => {
      assert.deepEqual(await verifySignInCode(deps, ANONYMOUS, { pendingSessionId: undefined, code: '123456', origin: ORIGIN }), { kind: 'no-pending-session' });
      const full = await deps.sessions.create(ada, { reauthenticated: true });
      assert.deepEqual(await verifySignInCode(deps, ANONYMOUS, { pendingSessionId: full.id, code: '123456', origin: ORIGIN }), { kind: 'no-pending-session' });
    });

    test('a password someone else chose, then a required enrollment, then a full session', async () => {
      await db.updateTable('users').set({ password_must_change: true }).where('id', '=', ada).execute();
      await db.updateTable('organizations').set({ require_mfa: 'everyone' }).execute();
      const first = await signInAda();
      assert.ok(first.kind === 'pending' && first.step === 'password-change');
      await assert.rejects(chooseFirstPassword(deps, ANONYMOUS, { pendingSessionId: first.session.id, password: PASSWORD, origin: ORIGIN }), /not the one you were given/);
      const chosen = await chooseFirstPassword(deps, ANONYMOUS, { pendingSessionId: first.session.id, password: 'my very own new passphrase', origin: ORIGIN });
      assert.equal(chosen.kind === 'pending' && chosen.step, 'mfa-enrollment');
      assert.equal(await deps.sessions.lookupPending(first.session.id), null, 'the first pending session ended');
      assert.ok(chosen.kind === 'pending');
      const key = await deps.mfa.enrollmentKey(ada);
      assert.equal((await enrollMfaAtSignIn(deps, ANONYMOUS, { pendingSessionId: chosen.session.id, code: '000000', origin: ORIGIN })).kind, 'refused');
      const enrolled = await enrollMfaAtSignIn(deps, ANONYMOUS, { pendingSessionId: chosen.session.id, code: hotp(key, timeStep(clock / 1000)), origin: ORIGIN });
      assert.equal(enrolled.kind, 'enrolled');
      assert.ok(enrolled.kind === 'enrolled' && (await deps.sessions.lookup(enrolled.session.id)));
      assert.equal(await deps.sessions.lookupPending(chosen.session.id), null);
      // restore the shared password
      const hash = (await db.selectFrom('users').select('password_hash').where('email', '=', 'owner@acme.test').executeTakeFirstOrThrow()).password_hash;
      await db.updateTable('users').set({ password_hash: hash }).where('id', '=', ada).execute();
    });

    test('sign-out ends the session with auth.sign_out in the same transaction', async () => {
      const { id, session } = await deps.sessions.create(ada, { reauthenticated: true });
      await refuseAuditEvents(db, 'auth.sign_out');
      await assert.rejects(signOut(deps, session.actor, { sessionId: id, session, origin: ORIGIN }));
      await refuseAuditEvents(db, null);
      deps.sessions.forgetAll();
      assert.ok(await deps.sessions.lookup(id), 'not ended without its record');
      await signOut(deps, session.actor, { sessionId: id, session, origin: ORIGIN });
      assert.equal(await deps.sessions.lookup(id), null);
    });

    describe('password-reset links', () => {
      const owner = async () => (await deps.sessions.create((await db.selectFrom('users').select('id').where('email', '=', 'owner@acme.test').executeTakeFirstOrThrow()).id)).session.actor;

      test('only admins and owners issue them: a viewer 403, an outsider 404', async () => {
        const viewer = (await deps.sessions.create((await db.selectFrom('users').select('id').where('email', '=', 'viewer@acme.test').executeTakeFirstOrThrow()).id)).session.actor;
        await assert.rejects(issuePasswordReset(deps, viewer, { orgId, userId: ada, origin: ORIGIN }), ForbiddenError);
        await assert.rejects(issuePasswordReset(deps, ANONYMOUS, { orgId, userId: ada, origin: ORIGIN }), NotFoundError);
      });

      test('using one ends every session of the member in the same transaction as the new password and its record', async () => {
        const { token } = await issuePasswordReset(deps, await owner(), { orgId, userId: ada, origin: ORIGIN });
        const live = await deps.sessions.create(ada, { reauthenticated: true });
        await refuseAuditEvents(db, 'auth.password_reset_used');
        await assert.rejects(usePasswordReset(deps, ANONYMOUS, { token, password: 'a brand new passphrase', origin: ORIGIN }));
        await refuseAuditEvents(db, null);
        deps.sessions.forgetAll();
        assert.ok(await deps.sessions.lookup(live.id), 'sessions live on');
        assert.equal((await findPasswordReset(db, token)).state, 'valid', 'the link is unused');
        const row = await db.selectFrom('users').select('password_hash').where('id', '=', ada).executeTakeFirstOrThrow();
        assert.equal(await verifyPassword(row.password_hash, PASSWORD), true);

        await usePasswordReset(deps, ANONYMOUS, { token, password: 'a brand new passphrase', origin: ORIGIN });
        assert.equal(await deps.sessions.lookup(live.id), null, 'every session ended');
        assert.equal((await findPasswordReset(db, token)).state, 'used');
      });
    });
  });
}
