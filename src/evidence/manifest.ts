import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** The files of an evidence pack that the manifest does not list: itself, its signature and the public key. */
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const PUBLIC_KEY_FILE = 'public-key.pem';
export const AUDIT_EVENTS_FILE = 'audit/events.jsonl';
export const AUDIT_CHAIN_FILE = 'audit/chain.json';
export const MANIFEST_FORMAT = 'docucommit-evidence-v1';

/** One listed file. */
export interface ManifestFile {
  path: string;
  sha256: string;
  bytes: number;
}

/** What `audit/chain.json` says about the events in `audit/events.jsonl`. */
export interface AuditChainSummary {
  org_id: string;
  /** The event just before the first one included (its seq and hash; seq 0 and zeros: the chain's start). */
  anchor: { seq: string; hash: string };
  /** How many events the file holds, and the seq of the last (null: none in the period). */
  events: number;
  last_seq: string | null;
  /** The chain's head when the pack was made (keep it: a later export must continue from it). */
  head: { seq: string; hash: string } | null;
  /** Events of the period that were pruned before this export (their seq range ends here), or null. */
  pruned_through: string | null;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  organization: { id: string; slug: string; name: string };
  project: string | null;
  /** The period, ISO 8601 UTC: from inclusive, to exclusive. */
  from: string;
  to: string;
  generated_at: string;
  /** SHA-256 of the signing key's SPKI DER encoding (public-key.pem). */
  public_key_sha256: string;
  files: ManifestFile[];
}

/** SHA-256 (hex) of a file's bytes. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The manifest's bytes (what the signature covers). */
export function manifestBytes(manifest: Manifest): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
}

/** Ed25519 signature of the manifest's bytes, base64 with a newline. */
export function signManifest(bytes: Buffer, privateKey: KeyObject): Buffer {
  return Buffer.from(sign(null, bytes, privateKey).toString('base64') + '\n', 'ascii');
}

/** Whether `signature` (the signature file's bytes) is the Ed25519 signature of `bytes` by `publicKeyPem`. */
export function signatureValid(bytes: Buffer, signature: Buffer, publicKeyPem: string): boolean {
  const text = signature.toString('ascii').trim();
  if (!/^[A-Za-z0-9+/]{86}==$/.test(text)) return false;
  try {
    return verify(null, bytes, createPublicKey(publicKeyPem), Buffer.from(text, 'base64'));
  } catch {
    return false;
  }
}
