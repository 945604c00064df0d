import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { MfaService, mfaRequiredFor, resealAllSecrets, secretsByKey } from '../../src/auth/mfa.ts';
import { SecretBox, secretKey } from '../../src/auth/secret-box.ts';
import { sessionLimitsFor, SessionStore } from '../../src/auth/sessions.ts';
import { base32Encode, hotp, timeStep } from '../../src/auth/totp.ts';
import type { Db } from '../../src/db/connection.ts';
import { databaseTargets } from '../helpers/databases.ts';

const PASSWORD = 'correct horse battery staple';

for (const target of databaseTargets()) {
  describe(`MFA service (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let clock = 1_800_000_000_000;
    const now = () => clock;
    const keyA = secretKey(randomBytes(32));
    let box: SecretBox;
    let mfa: MfaService;
    let userId: string;

    before(async () => {
      const opened = await target.open();
      db = opened.db;
      dispose = opened.dispose;
      const { user } = await upsertAccount(db, { email: 'ada@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD });
      userId = user.id;
    });
    after(async () => dispose());
    beforeEach(async () => {
      box = new SecretBox(keyA);
      mfa = new MfaService(db, box, now);
      await mfa.disable(userId);
    });

    /** Enroll and return the raw key, confirming with the current code. */
    async function enroll(): Promise<{ key: Buffer; codes: string[] }> {
      const key = await mfa.enrollmentKey(userId);
      const codes = await mfa.confirmEnrollment(userId, hotp(key, timeStep(clock / 1000)));
      assert.ok(codes);
      clock += 30_000; // the confirming code's step is spent
      return { key, codes };
    }

    test('enrollment is only confirmed by a code from the offered key, and a reload offers the same key', async () => {
      const key = await mfa.enrollmentKey(userId);
      assert.deepEqual(await mfa.enrollmentKey(userId), key);
      assert.equal(await mfa.isEnrolled(userId), false);
      assert.equal(await mfa.confirmEnrollment(userId, hotp(randomBytes(20), timeStep(clock / 1000))), null);
      const codes = await mfa.confirmEnrollment(userId, hotp(key, timeStep(clock / 1000)));
      assert.equal(codes?.length, 10);
      assert.equal(await mfa.isEnrolled(userId), true);
    });

    test('the TOTP secret is stored sealed with AES-256-GCM, never in clear', async () => {
      const { key } = await enroll();
      const row = await db.selectFrom('user_mfa').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
      assert.match(row.totp_secret!, new RegExp(`^v1\\.${keyA.id}\\.`));
      const stored = JSON.stringify(row);
      assert.ok(!stored.includes(base32Encode(key)) && !stored.includes(key.toString('base64')) && !stored.includes(key.toString('hex')));
      assert.deepEqual(box.open(row.totp_secret!, 'totp-secret'), key);
    });

    test('codes one step off are accepted, two steps off rejected (mocked clock)', async () => {
      const { key } = await enroll();
      clock += 30_000; // so that step - 1 is later than the step the enrollment spent
      const step = timeStep(clock / 1000);
      assert.equal(await mfa.verifyTotp(userId, hotp(key, step - 2)), 'invalid');
      assert.equal(await mfa.verifyTotp(userId, hotp(key, step + 2)), 'invalid');
      assert.equal(await mfa.verifyTotp(userId, hotp(key, step - 1)), 'ok');
      assert.equal(await mfa.verifyTotp(userId, hotp(key, step + 1)), 'ok');
    });

    test('a code works once: the same code again, or an earlier step after a later one, is "reused"', async () => {
      const { key } = await enroll();
      const step = timeStep(clock / 1000);
      const code = hotp(key, step);
      assert.equal(await mfa.verifyTotp(userId, code), 'ok');
      assert.equal(await mfa.verifyTotp(userId, code), 'reused');
      clock += 10_000; // still within the drift window of that step
      assert.equal(await mfa.verifyTotp(userId, code), 'reused');
      assert.equal(await mfa.verifyTotp(userId, hotp(key, step - 1)), 'reused');
      clock += 30_000;
      assert.equal(await mfa.verifyTotp(userId, hotp(key, timeStep(clock / 1000))), 'ok');
    });

    test('two concurrent uses of one code: exactly one succeeds', async () => {
      const { key } = await enroll();
      const code = hotp(key, timeStep(clock / 1000));
      const results = await Promise.all([mfa.verifyTotp(userId, code), mfa.verifyTotp(userId, code), mfa.verifyTotp(userId, code)]);
      assert.equal(results.filter((r) => r === 'ok').length, 1);
    });

    test('recovery codes are stored hashed and each works once', async () => {
      const { codes } = await enroll();
      const rows = await db.selectFrom('recovery_codes').selectAll().where('user_id', '=', userId).execute();
      assert.equal(rows.length, 10);
      for (const code of codes) assert.ok(rows.every((r) => r.code_hash !== code && !r.code_hash.includes(code.replace(/-/g, ''))));
      assert.equal(await mfa.useRecoveryCode(userId, codes[3]!), true);
      assert.equal(await mfa.useRecoveryCode(userId, codes[3]!), false, 'reused code rejected');
      assert.equal(await mfa.useRecoveryCode(userId, codes[4]!.toUpperCase()), true);
      assert.equal(await mfa.useRecoveryCode(userId, 'aaaa-bbbb-cccc-dddd'), false);
      assert.equal((await mfa.status(userId)).recoveryCodesLeft, 8);
      const fresh = await mfa.regenerateRecoveryCodes(userId);
      assert.equal(await mfa.useRecoveryCode(userId, codes[5]!), false, 'old codes die on regeneration');
      assert.equal(await mfa.useRecoveryCode(userId, fresh[0]!), true);
    });

    test('key rotation re-encrypts every secret; afterwards the old key is no longer needed', async () => {
      const { key } = await enroll();
      const keyB = secretKey(randomBytes(32));
      const rotating = new SecretBox(keyB, [keyA]);
      assert.equal(await resealAllSecrets(db, rotating), 1);
      assert.deepEqual([...(await secretsByKey(db)).keys()], [keyB.id]);
      const onlyNew = new MfaService(db, new SecretBox(keyB), now);
      assert.equal(await onlyNew.verifyTotp(userId, hotp(key, timeStep(clock / 1000))), 'ok');
      assert.equal(await resealAllSecrets(db, rotating), 0, 'a second run has nothing to do');
    });

    test('disabling removes the secret and the recovery codes', async () => {
      await enroll();
      await mfa.disable(userId);
      assert.equal(await mfa.isEnrolled(userId), false);
      assert.equal((await db.selectFrom('recovery_codes').selectAll().where('user_id', '=', userId).execute()).length, 0);
    });

    test('an organization can require MFA of admins and owners, or of everyone', async () => {
      const { user: admin } = await upsertAccount(db, { email: 'boss@req.test', orgSlug: 'req', role: 'admin', password: PASSWORD });
      const { user: member } = await upsertAccount(db, { email: 'worker@req.test', orgSlug: 'req', role: 'member', password: PASSWORD });
      assert.equal(await mfaRequiredFor(db, admin.id), false);
      await db.updateTable('organizations').set({ require_mfa: 'admins' }).where('slug', '=', 'req').execute();
      assert.equal(await mfaRequiredFor(db, admin.id), true);
      assert.equal(await mfaRequiredFor(db, member.id), false);
      await db.updateTable('organizations').set({ require_mfa: 'everyone' }).where('slug', '=', 'req').execute();
      assert.equal(await mfaRequiredFor(db, member.id), true);
    });

    test('session limits: 30 min / 12 h for admins and owners, 4 h / 24 h for readers, organization overrides', async () => {
      const min = 60_000;
      assert.deepEqual(sessionLimitsFor([{ role: 'admin', idleMinutes: null, absoluteMinutes: null }]), { idleMs: 30 * min, absoluteMs: 720 * min });
      assert.deepEqual(sessionLimitsFor([{ role: 'viewer', idleMinutes: null, absoluteMinutes: null }]), { idleMs: 240 * min, absoluteMs: 1440 * min });
      assert.deepEqual(
        sessionLimitsFor([
          { role: 'viewer', idleMinutes: null, absoluteMinutes: null },
          { role: 'owner', idleMinutes: null, absoluteMinutes: null },
        ]),
        { idleMs: 30 * min, absoluteMs: 720 * min },
        'the highest role across organizations decides',
      );
      assert.deepEqual(sessionLimitsFor([{ role: 'member', idleMinutes: 15, absoluteMinutes: 60 }]), { idleMs: 15 * min, absoluteMs: 60 * min });

      const sessions = new SessionStore(db, now);
      const { user: owner } = await upsertAccount(db, { email: 'owner@limits.test', orgSlug: 'limits', role: 'owner', password: PASSWORD });
      const { id } = await sessions.create(owner.id);
      clock += 29 * min;
      assert.ok(await sessions.lookup(id), 'alive after 29 idle minutes');
      clock += 30 * min + 1;
      assert.equal(await sessions.lookup(id), null, 'an owner session dies after 30 idle minutes');
      const reader = await sessions.create(userId);
      assert.equal(reader.session.expiresAt - reader.session.createdAt, 1440 * min);
      clock += 3 * 60 * min;
      assert.ok(await sessions.lookup(reader.id), 'a reader session survives 3 idle hours');
    });

    test('a pending session is invisible to lookup and dies after 10 minutes', async () => {
      const sessions = new SessionStore(db, now);
      const { id } = await sessions.create(userId, { pending: 'mfa' });
      assert.equal(await sessions.lookup(id), null);
      assert.equal((await sessions.lookupPending(id))?.pending, 'mfa');
      clock += 10 * 60_000;
      assert.equal(await sessions.lookupPending(id), null);
    });
  });
}
