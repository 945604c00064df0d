import { withOrg, type Db } from '../../db/connection.ts';
import { SecretBox } from '../secret-box.ts';
import { CLIENT_SECRET_PURPOSE } from './connection-settings.ts';
import { VERIFIER_PURPOSE } from './sign-in-flows.ts';

/**
 * SSO values sealed with the MFA keys (client secrets; PKCE verifiers of sign-ins in progress) move to the
 * current key with `docucommit mfa-key rotate`, like TOTP secrets. Each row is updated only if it still holds
 * the value that was read. Returns how many values were re-sealed.
 */
export async function resealSsoSecrets(db: Db, box: SecretBox): Promise<number> {
  let count = 0;
  const orgs = await db.selectFrom('organizations').select('id').execute();
  for (const { id } of orgs) {
    count += await withOrg(db, id, async (trx) => {
      const row = await trx.selectFrom('sso_connections').select('client_secret_sealed').where('org_id', '=', id).executeTakeFirst();
      const sealed = row?.client_secret_sealed;
      if (!sealed || SecretBox.keyIdOf(sealed) === box.current.id) return 0;
      const resealed = box.seal(box.open(sealed, CLIENT_SECRET_PURPOSE), CLIENT_SECRET_PURPOSE);
      const result = await trx
        .updateTable('sso_connections')
        .set({ client_secret_sealed: resealed })
        .where('org_id', '=', id)
        .where('client_secret_sealed', '=', sealed)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n ? 1 : 0;
    });
  }
  const flows = await db.selectFrom('sso_sign_in_flows').select(['state_hash', 'code_verifier_sealed']).execute();
  for (const flow of flows) {
    if (SecretBox.keyIdOf(flow.code_verifier_sealed) === box.current.id) continue;
    const resealed = box.seal(box.open(flow.code_verifier_sealed, VERIFIER_PURPOSE), VERIFIER_PURPOSE);
    const result = await db
      .updateTable('sso_sign_in_flows')
      .set({ code_verifier_sealed: resealed })
      .where('state_hash', '=', flow.state_hash)
      .where('code_verifier_sealed', '=', flow.code_verifier_sealed)
      .executeTakeFirst();
    if (result.numUpdatedRows > 0n) count++;
  }
  return count;
}

/** How many SSO values each key id sealed (for `docucommit mfa-key status`). */
export async function ssoSecretsByKey(db: Db): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const add = (sealed: string) => {
    const id = SecretBox.keyIdOf(sealed) ?? 'unknown';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  };
  for (const { id } of await db.selectFrom('organizations').select('id').execute()) {
    const row = await withOrg(db, id, (trx) => trx.selectFrom('sso_connections').select('client_secret_sealed').where('org_id', '=', id).executeTakeFirst());
    if (row) add(row.client_secret_sealed);
  }
  for (const flow of await db.selectFrom('sso_sign_in_flows').select('code_verifier_sealed').execute()) add(flow.code_verifier_sealed);
  return counts;
}
