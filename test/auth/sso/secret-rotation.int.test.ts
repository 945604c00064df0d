import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { UserActor } from '../../../src/access/actor.ts';
import { upsertAccount } from '../../../src/auth/accounts.ts';
import { SecretBox, secretKey } from '../../../src/auth/secret-box.ts';
import { CLIENT_SECRET_PURPOSE, readConnection, saveConnection } from '../../../src/auth/sso/connection-settings.ts';
import { resealSsoSecrets, ssoSecretsByKey } from '../../../src/auth/sso/secret-rotation.ts';
import { openDatabase } from '../../../src/db/connection.ts';

test('mfa-key rotation re-seals SSO client secrets under the new key; the old key is then no longer needed', async () => {
  const db = await openDatabase({ kind: 'pglite', dataDir: null });
  try {
    const { user } = await upsertAccount(db, { email: 'owner@acme.test', orgSlug: 'acme', role: 'owner', password: 'a long enough password' });
    const orgId = (await db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
    const oldKey = secretKey(randomBytes(32));
    const newKey = secretKey(randomBytes(32));
    const actor: UserActor = { kind: 'user', userId: user.id, email: user.email, name: user.name, memberships: new Map([[orgId, 'owner']]) };
    await saveConnection(
      db,
      new SecretBox(oldKey),
      actor,
      orgId,
      { enabled: true, issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 'the client secret', allowedDomains: ['acme.test'], roleClaim: null, roleMapping: {}, defaultRole: 'member', requireSso: false, breakGlassUserId: null },
      { requestId: 't', ip: '127.0.0.1' },
    );
    assert.deepEqual([...(await ssoSecretsByKey(db))], [[oldKey.id, 1]]);
    const rotating = new SecretBox(newKey, [oldKey]);
    assert.equal(await resealSsoSecrets(db, rotating), 1);
    assert.equal(await resealSsoSecrets(db, rotating), 0, 'idempotent');
    assert.deepEqual([...(await ssoSecretsByKey(db))], [[newKey.id, 1]]);
    const sealed = (await readConnection(db, orgId))!.clientSecretSealed;
    assert.equal(new SecretBox(newKey).open(sealed, CLIENT_SECRET_PURPOSE).toString(), 'the client secret');
    assert.throws(() => new SecretBox(newKey).open(sealed, 'totp-secret'), 'sealed for one purpose only');
  } finally {
    await db.destroy();
  }
});
