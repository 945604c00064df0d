import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { recordAuditEvent, type AuditEventInput } from '../audit/audit-log.ts';
import { SecretBox } from '../auth/secret-box.ts';
import type { Db } from '../db/connection.ts';
import { NotFoundError } from '../errors.ts';

/** AES-GCM additional data of sealed evidence keys: a sealed value opens only as this (never as a TOTP secret). */
const PURPOSE = 'evidence-signing-key';

export interface SigningKey {
  /** SPKI PEM, as published at `/{org}/-/evidence-key` and put in every pack. */
  publicKeyPem: string;
  /** SHA-256 (hex) of the public key's DER encoding: what an auditor compares. */
  fingerprint: string;
  privateKey: KeyObject;
}

/** SHA-256 (hex) of an Ed25519 public key's SPKI DER encoding, from its PEM. */
export function publicKeyFingerprint(pem: string): string {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** The organization's public key, or null when it never exported evidence (no key yet). */
export async function publicKeyOf(db: Db, orgId: string): Promise<string | null> {
  const row = await db.selectFrom('organizations').select('evidence_public_key').where('id', '=', orgId).executeTakeFirst();
  if (!row) throw new NotFoundError();
  return row.evidence_public_key;
}

/**
 * The organization's Ed25519 signing key, created on first use: the private key is stored sealed with the
 * server's MFA key (AES-256-GCM, auth/secret-box.ts, bound to its purpose), the public key in the clear. Two
 * first uses at once keep one key (the second finds the first's). Creation is audited (`evidence.key_created`).
 */
export async function signingKeyOf(db: Db, box: SecretBox, orgId: string, actor: AuditEventInput['actor']): Promise<SigningKey> {
  const stored = await db.selectFrom('organizations').select(['evidence_public_key', 'evidence_private_key']).where('id', '=', orgId).executeTakeFirst();
  if (!stored) throw new NotFoundError();
  if (stored.evidence_public_key && stored.evidence_private_key) return opened(box, stored.evidence_public_key, stored.evidence_private_key);
  const pair = generateKeyPairSync('ed25519');
  const publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const sealed = box.seal(Buffer.from(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), PURPOSE);
  await db.transaction().execute(async (trx) => {
    const created = await trx
      .updateTable('organizations')
      .set({ evidence_public_key: publicKeyPem, evidence_private_key: sealed })
      .where('id', '=', orgId)
      .where('evidence_public_key', 'is', null)
      .executeTakeFirst();
    if (Number(created.numUpdatedRows) === 0) return;
    await recordAuditEvent(trx, {
      orgId,
      actor,
      action: 'evidence.key_created',
      target: { type: 'organization', id: orgId },
      outcome: 'success',
      details: { fingerprint: publicKeyFingerprint(publicKeyPem) },
    });
  });
  const row = await db.selectFrom('organizations').select(['evidence_public_key', 'evidence_private_key']).where('id', '=', orgId).executeTakeFirstOrThrow();
  return opened(box, row.evidence_public_key!, row.evidence_private_key!);
}

function opened(box: SecretBox, publicKeyPem: string, sealed: string): SigningKey {
  const privateKey = createPrivateKey(box.open(sealed, PURPOSE).toString());
  return { publicKeyPem, fingerprint: publicKeyFingerprint(publicKeyPem), privateKey };
}

/**
 * Evidence signing keys sealed with the MFA keys move to the current key with `docucommit mfa-key rotate`, like
 * TOTP secrets. Each row is updated only if it still holds the value that was read. Returns how many moved.
 */
export async function resealEvidenceKeys(db: Db, box: SecretBox): Promise<number> {
  let count = 0;
  const rows = await db.selectFrom('organizations').select(['id', 'evidence_private_key']).where('evidence_private_key', 'is not', null).execute();
  for (const row of rows) {
    const sealed = row.evidence_private_key!;
    if (SecretBox.keyIdOf(sealed) === box.current.id) continue;
    const result = await db
      .updateTable('organizations')
      .set({ evidence_private_key: box.seal(box.open(sealed, PURPOSE), PURPOSE) })
      .where('id', '=', row.id)
      .where('evidence_private_key', '=', sealed)
      .executeTakeFirst();
    if (result.numUpdatedRows > 0n) count++;
  }
  return count;
}

/** How many evidence signing keys each MFA key id sealed (for `docucommit mfa-key status`). */
export async function evidenceKeysByKey(db: Db): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const row of await db.selectFrom('organizations').select('evidence_private_key').where('evidence_private_key', 'is not', null).execute()) {
    const id = SecretBox.keyIdOf(row.evidence_private_key!) ?? 'unknown';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
