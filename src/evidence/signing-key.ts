import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { recordAuditEvent, type AuditEventInput } from '../audit/audit-log.ts';
import type { SecretBox } from '../auth/secret-box.ts';
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
