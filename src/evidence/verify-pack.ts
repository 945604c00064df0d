/**
 * Offline check of an evidence pack (`docucommit evidence verify FILE`): needs no server and no database.
 * In order, stopping at the first thing that does not match: the pack's structure, the public key (against one
 * the auditor pins, if given), the manifest's Ed25519 signature, every file against its SHA-256 in the manifest
 * (and nothing unlisted), then the audit events' hash chain, recomputed with the same code as `audit verify`.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ChainWalker, type CheckedEvent } from '../audit/chain-check.ts';
import {
  AUDIT_CHAIN_FILE,
  AUDIT_EVENTS_FILE,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  PUBLIC_KEY_FILE,
  sha256,
  SIGNATURE_FILE,
  signatureValid,
  type AuditChainSummary,
  type Manifest,
} from './manifest.ts';
import { publicKeyFingerprint } from './signing-key.ts';
import { readTar } from './tar.ts';

export interface PackVerdict {
  ok: boolean;
  /** The first thing that does not match (ok false). */
  problem?: string;
  manifest?: Manifest;
  fingerprint?: string;
  files?: number;
  auditEvents?: number;
  chain?: AuditChainSummary;
}

/** Files whose content the check reads (everything else is only hashed). */
const KEPT = new Set([MANIFEST_FILE, SIGNATURE_FILE, PUBLIC_KEY_FILE, AUDIT_EVENTS_FILE, AUDIT_CHAIN_FILE]);

/** Verify the pack at `file`; `pinnedKeyPem`: the public key the auditor obtained independently (recommended). */
export async function verifyEvidencePackFile(file: string, pinnedKeyPem?: string): Promise<PackVerdict> {
  return verifyEvidencePack(createReadStream(file), pinnedKeyPem);
}

/** Verify a pack read from `input` (gzipped tar). */
export async function verifyEvidencePack(input: Readable, pinnedKeyPem?: string): Promise<PackVerdict> {
  const hashes = new Map<string, { sha256: string; bytes: number }>();
  const kept = new Map<string, Buffer>();
  const order: string[] = [];
  try {
    const tarStream = new PassThrough();
    const reading = readTar(tarStream, (name, data) => {
      hashes.set(name, { sha256: sha256(data), bytes: data.length });
      order.push(name);
      if (KEPT.has(name)) kept.set(name, data);
    }).catch((error: unknown) => {
      // stop the decompression too: nothing reads it any more
      tarStream.destroy(error as Error);
      throw error;
    });
    await Promise.all([pipeline(input, createGunzip(), tarStream), reading]);
  } catch (error) {
    return fail(`the file is not a readable evidence pack: ${(error as Error).message}`);
  }
  for (const required of [MANIFEST_FILE, SIGNATURE_FILE, PUBLIC_KEY_FILE]) {
    if (!kept.has(required)) return fail(`${required} is missing from the pack`);
  }
  const manifestRaw = kept.get(MANIFEST_FILE)!;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(manifestRaw.toString('utf8')) as Manifest;
    if (manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.files)) throw new Error('unknown format');
  } catch (error) {
    return fail(`${MANIFEST_FILE} is not a DocuCommit evidence manifest (${(error as Error).message})`);
  }
  const publicKeyPem = kept.get(PUBLIC_KEY_FILE)!.toString('utf8');
  let fingerprint: string;
  try {
    fingerprint = publicKeyFingerprint(publicKeyPem);
  } catch {
    return fail(`${PUBLIC_KEY_FILE} is not a public key`);
  }
  if (pinnedKeyPem !== undefined) {
    let pinned: string;
    try {
      pinned = publicKeyFingerprint(pinnedKeyPem);
    } catch {
      return fail('the key given with --key is not a public key');
    }
    if (pinned !== fingerprint) return fail(`${PUBLIC_KEY_FILE} (SHA-256 ${fingerprint}) is not the organization's key you gave (SHA-256 ${pinned})`, { fingerprint });
  }
  if (manifest.public_key_sha256 !== fingerprint) return fail(`${PUBLIC_KEY_FILE} is not the key the manifest names (SHA-256 ${manifest.public_key_sha256})`, { fingerprint });
  if (!signatureValid(manifestRaw, kept.get(SIGNATURE_FILE)!, publicKeyPem)) {
    return fail(`${SIGNATURE_FILE}: the signature of ${MANIFEST_FILE} does not verify with ${PUBLIC_KEY_FILE} (the manifest or the signature was altered)`, { fingerprint });
  }
  const listed = new Set<string>();
  for (const entry of manifest.files) {
    listed.add(entry.path);
    const found = hashes.get(entry.path);
    if (!found) return fail(`${entry.path}: listed in the manifest but missing from the pack`, { fingerprint, manifest });
    if (found.sha256 !== entry.sha256 || found.bytes !== entry.bytes) return fail(`${entry.path}: SHA-256 does not match the manifest (the file was altered)`, { fingerprint, manifest });
  }
  for (const name of order) {
    if (!listed.has(name) && name !== MANIFEST_FILE && name !== SIGNATURE_FILE && name !== PUBLIC_KEY_FILE) return fail(`${name}: in the pack but not listed in the manifest`, { fingerprint, manifest });
  }
  const chain = checkAuditChain(kept.get(AUDIT_CHAIN_FILE), kept.get(AUDIT_EVENTS_FILE));
  if (typeof chain === 'string') return fail(chain, { fingerprint, manifest });
  return { ok: true, manifest, fingerprint, files: manifest.files.length, auditEvents: chain.events, chain };
}

function fail(problem: string, extra: Partial<PackVerdict> = {}): PackVerdict {
  return { ok: false, problem, ...extra };
}

/** The audit events against their chain: continuity from the anchor, every hash, and the counts the summary states. */
function checkAuditChain(summaryRaw: Buffer | undefined, eventsRaw: Buffer | undefined): AuditChainSummary | string {
  if (!summaryRaw || !eventsRaw) return `${!summaryRaw ? AUDIT_CHAIN_FILE : AUDIT_EVENTS_FILE} is missing from the pack`;
  let summary: AuditChainSummary;
  try {
    summary = JSON.parse(summaryRaw.toString('utf8')) as AuditChainSummary;
    if (!/^\d+$/.test(summary.anchor.seq) || !/^[0-9a-f]{64}$/.test(summary.anchor.hash)) throw new Error('bad anchor');
  } catch {
    return `${AUDIT_CHAIN_FILE} is not readable`;
  }
  const walker = new ChainWalker({ seq: BigInt(summary.anchor.seq), hash: summary.anchor.hash }, `the anchor in ${AUDIT_CHAIN_FILE}`);
  const lines = eventsRaw.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  let last: CheckedEvent | null = null;
  for (const [index, line] of lines.entries()) {
    let event: CheckedEvent;
    try {
      event = fromJsonLine(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return `${AUDIT_EVENTS_FILE} line ${index + 1}: not an audit event`;
    }
    if (event.orgId !== summary.org_id) return `${AUDIT_EVENTS_FILE} line ${index + 1} (seq ${event.seq}): an event of another chain`;
    const reason = walker.next(event);
    if (reason !== null) return `audit chain broken at ${AUDIT_EVENTS_FILE} line ${index + 1} (seq ${event.seq}): ${reason}`;
    last = event;
  }
  if (lines.length !== summary.events || (last?.seq ?? null) !== summary.last_seq) {
    return `audit chain: ${AUDIT_EVENTS_FILE} holds ${lines.length} event(s) ending at seq ${last?.seq ?? 'none'}, ${AUDIT_CHAIN_FILE} says ${summary.events} ending at seq ${summary.last_seq ?? 'none'} (events dropped at the end)`;
  }
  if (last && summary.head && summary.head.seq === last.seq && summary.head.hash !== last.hash) return `audit chain: the last event's hash is not the chain head in ${AUDIT_CHAIN_FILE}`;
  return summary;
}

function fromJsonLine(record: Record<string, unknown>): CheckedEvent {
  const str = (key: string) => {
    const value = record[key];
    if (typeof value !== 'string') throw new Error(key);
    return value;
  };
  const nullable = (key: string) => {
    const value = record[key];
    if (value !== null && typeof value !== 'string') throw new Error(key);
    return value;
  };
  const details = record.details;
  if (details !== null && (typeof details !== 'object' || Array.isArray(details))) throw new Error('details');
  return {
    orgId: nullable('org_id'),
    seq: str('seq'),
    occurredAt: str('occurred_at'),
    actorType: str('actor_type'),
    actorId: nullable('actor_id'),
    actorLabel: nullable('actor_label'),
    action: str('action'),
    targetType: nullable('target_type'),
    targetId: nullable('target_id'),
    targetLabel: nullable('target_label'),
    reason: nullable('reason'),
    outcome: str('outcome'),
    requestId: nullable('request_id'),
    ip: nullable('ip'),
    details: details as CheckedEvent['details'],
    prevHash: str('prev_hash'),
    hash: str('hash'),
  };
}
