import { sql, type Kysely, type Transaction } from 'kysely';
import { withAuditChain } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { eventHash, GENESIS_HASH, type ChainedFields } from './hash.ts';
import { sanitizeAuditText } from './sanitize.ts';

/**
 * Append-only, hash-chained audit events (DESIGN.md "audit/").
 *
 * What never goes in: passwords, tokens, session ids, cookies, TOTP secrets or codes, and document text or
 * titles (documents are named by path). `details` keys that look like secrets are refused with an exception:
 * passing one is a programming error, not a runtime condition.
 */

/** Every action name used across the app; engineers share these names (dotted, lower case). */
export const AUDIT_ACTIONS = [
  'auth.sign_in',
  'auth.sign_in_failed',
  'auth.sign_in_throttled',
  'auth.sign_out',
  'auth.mfa_enrolled',
  'auth.mfa_verified',
  'auth.mfa_failed',
  'auth.mfa_disabled',
  'auth.recovery_code_used',
  'auth.recovery_codes_regenerated',
  'auth.reauthenticated',
  'auth.reauthentication_failed',
  'auth.password_changed',
  'auth.password_reset_used',
  'auth.email_changed',
  'auth.session_revoked',
  'auth.account_disabled',
  'auth.account_enabled',
  'auth.account_created',
  'token.created',
  'token.revoked',
  'member.invited',
  'member.invitation_withdrawn',
  'member.invitation_accepted',
  'member.added',
  'member.role_changed',
  'member.removed',
  'member.password_reset_issued',
  'access_request.created',
  'access_request.approved',
  'access_request.denied',
  'access_request.expired',
  'document.read',
  'document.saved',
  'document.created',
  'document.moved',
  'document.deleted',
  'document.classification_changed',
  'settings.changed',
  'sso.settings_changed',
  'project.created',
  'project.renamed',
  'project.description_changed',
  'project.deleted',
  'project.restored',
  'project.purged',
  'audit.exported',
  'git.push',
  'git.auth_throttled',
  'access.denied',
  'acknowledgment.recorded',
  'audit.pruned',
  'evidence.exported',
  'evidence.register_exported',
  'evidence.key_created',
  'organization.exported',
  'organization.deletion_scheduled',
  'organization.deletion_cancelled',
  'organization.purged',
  'instance.backup_created',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type AuditActorType = 'user' | 'token' | 'system' | 'anonymous';
export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditEventInput {
  orgId: string | null;
  actor: { type: 'user' | 'token' | 'system' | 'anonymous'; id: string | null; label?: string | null };
  action: string;
  target?: { type: string; id: string; label?: string | null } | null;
  reason?: string | null;
  outcome: 'success' | 'failure' | 'denied';
  requestId?: string | null;
  ip?: string | null;
  details?: Record<string, string | number | boolean | null>;
}

/** Longest stored length of free text (reason, labels, detail values), after escaping. */
export const AUDIT_TEXT_LIMIT = 500;
/** Identifiers (ids, request id, ip, target type) are short; anything longer is cut. */
const ID_LIMIT = 200;
const MAX_DETAILS = 20;

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const DETAIL_KEY = /^[a-z][a-z0-9_]{0,62}$/i;
/** Key names that would carry a secret. Matched anywhere in the key, case-insensitively. */
const SECRET_KEY = /pass(word|wd|phrase)?|token|secret|session|cookie|credential|api_?key|private_?key|authorization/i;
const ACTOR_TYPES = new Set<string>(['user', 'token', 'system', 'anonymous']);
const OUTCOMES = new Set<string>(['success', 'failure', 'denied']);

/** Advisory-lock class of audit chains (the first key of the two-key form), so no other lock collides. */
const AUDIT_LOCK_CLASS = 0x41554454; // "AUDT"

/**
 * Append one event to its organization's chain. With a transaction, the event is written in it (no change
 * without its record: both commit or neither does); with the plain database, in a transaction of its own.
 * Appends to one chain are serialized by a transaction-scoped advisory lock, so concurrent writers never fork it.
 */
export async function recordAuditEvent(
  db: Kysely<Database> | Transaction<Database>,
  event: AuditEventInput,
): Promise<ChainPosition> {
  const fields = normalizeEvent(event);
  if (db.isTransaction) return append(db, fields);
  return db.transaction().execute((trx) => append(trx, fields));
}

export type PendingEvent = Omit<ChainedFields, 'seq' | 'occurredAt' | 'prevHash'>;

/** Append in the event's own chain scope (row-level security), whatever scope the caller's transaction had. */
function append(trx: Kysely<Database>, event: PendingEvent): Promise<ChainPosition> {
  return withAuditChain(trx, event.orgId, (scoped) => appendToChain(scoped, [event]));
}

/**
 * Append `events` (all of one chain, in order) after the chain's last event, in the caller's transaction:
 * one lock, one read of the chain's head, one insert. Used for one event, and by a group commit whose batch met
 * a busy chain (group-commit.ts). Returns the chain's new head: the last event appended.
 */
export async function appendToChain(trx: Kysely<Database>, events: PendingEvent[]): Promise<ChainPosition> {
  const first = events[0];
  if (!first) throw new Error('audit: nothing to append');
  await lockChain(trx, first.orgId);
  // the head of the chain this transaction is scoped to (withAuditChain) and its time, in one index probe (migration 042)
  const previous = (await sql<{ seq: string; hash: string; occurred_at: Date | string }>`select seq, hash, occurred_at from audit_chain_tip()`.execute(trx)).rows[0];
  const head: ChainPosition = previous ? { seq: BigInt(previous.seq), hash: previous.hash } : CHAIN_START;
  // Time is taken under the lock, and never before the chain's last event: within a chain, time never runs
  // backwards against seq, even when several processes or machines with clocks apart append to it (as the
  // durable append of migration 041 does in the database).
  const { rows, head: last } = chainEvents(events, head, new Date(Math.max(Date.now(), previous ? new Date(previous.occurred_at).getTime() : 0)).toISOString());
  await trx
    .insertInto('audit_events')
    .values(rows.map((row) => ({ ...row, details: row.details === null ? null : JSON.stringify(row.details) })))
    .execute();
  return last;
}

/**
 * Take the chain's append lock for the rest of the caller's transaction (re-entrant): appends of other writers wait.
 * Pruning holds it while it reads where to prune and writes its checkpoint (retention.ts).
 */
export async function lockChain(trx: Kysely<Database>, orgId: string | null): Promise<void> {
  await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_CLASS}::int, hashtext(${chainKey(orgId)}))`.execute(trx);
}

/** The lock key of a chain (with AUDIT_LOCK_CLASS); migrations 019 and 027 compute the same. */
function chainKey(orgId: string | null): string {
  return orgId ?? 'system';
}

/** Where a chain ends: its last event's seq and hash. */
export interface ChainPosition {
  seq: bigint;
  hash: string;
}

/** The head of a chain without events. */
export const CHAIN_START: ChainPosition = { seq: 0n, hash: GENESIS_HASH };

/** A chained event as stored in `audit_events` (details still an object). */
export interface ChainedRow {
  org_id: string | null;
  seq: string;
  occurred_at: string;
  actor_type: AuditActorType;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  reason: string | null;
  outcome: AuditOutcome;
  request_id: string | null;
  ip: string | null;
  details: Record<string, string | number | boolean | null> | null;
  prev_hash: string;
  hash: string;
}

/**
 * Chain `events` (all of one chain, in order) after `previous`, all at `occurredAt`: the rows to store and the
 * chain's new head. Pure: the caller makes sure `previous` is the head when the rows are written.
 */
export function chainEvents(events: PendingEvent[], previous: ChainPosition, occurredAt: string): { rows: ChainedRow[]; head: ChainPosition } {
  const orgId = events[0]?.orgId ?? null;
  let seq = previous.seq;
  let prevHash = previous.hash;
  const rows = events.map((event): ChainedRow => {
    if (event.orgId !== orgId) throw new Error('audit: one batch holds events of one chain');
    seq += 1n;
    const chained: ChainedFields = { ...event, seq: String(seq), occurredAt, prevHash };
    const hash = eventHash(chained);
    prevHash = hash;
    return {
      org_id: chained.orgId,
      seq: chained.seq,
      occurred_at: chained.occurredAt,
      actor_type: chained.actorType as AuditActorType,
      actor_id: chained.actorId,
      actor_label: chained.actorLabel,
      action: chained.action,
      target_type: chained.targetType,
      target_id: chained.targetId,
      target_label: chained.targetLabel,
      reason: chained.reason,
      outcome: chained.outcome as AuditOutcome,
      request_id: chained.requestId,
      ip: chained.ip,
      details: chained.details,
      prev_hash: chained.prevHash,
      hash,
    };
  });
  return { rows, head: { seq, hash: prevHash } };
}

/** Validate and sanitize an input into the stored form (everything but the chain fields). */
export function normalizeEvent(event: AuditEventInput): PendingEvent {
  if (!ACTION.test(event.action)) throw new Error(`audit: invalid action name "${event.action}"`);
  if (!ACTOR_TYPES.has(event.actor.type)) throw new Error(`audit: invalid actor type "${event.actor.type}"`);
  if (!OUTCOMES.has(event.outcome)) throw new Error(`audit: invalid outcome "${event.outcome}"`);
  const target = event.target ?? null;
  return {
    orgId: event.orgId,
    actorType: event.actor.type,
    actorId: text(event.actor.id, ID_LIMIT),
    actorLabel: text(event.actor.label, AUDIT_TEXT_LIMIT),
    action: event.action,
    targetType: target ? text(target.type, ID_LIMIT) : null,
    targetId: target ? text(target.id, AUDIT_TEXT_LIMIT) : null,
    targetLabel: target ? text(target.label, AUDIT_TEXT_LIMIT) : null,
    reason: text(event.reason, AUDIT_TEXT_LIMIT),
    outcome: event.outcome,
    requestId: text(event.requestId, ID_LIMIT),
    ip: text(event.ip, ID_LIMIT),
    details: normalizeDetails(event.details),
  };
}

function text(value: string | null | undefined, limit: number): string | null {
  return value === null || value === undefined ? null : sanitizeAuditText(String(value), limit);
}

function normalizeDetails(details: AuditEventInput['details']): Record<string, string | number | boolean | null> | null {
  if (details === undefined || details === null) return null;
  const keys = Object.keys(details);
  if (keys.length === 0) return null;
  if (keys.length > MAX_DETAILS) throw new Error(`audit: at most ${MAX_DETAILS} details per event`);
  const out: Record<string, string | number | boolean | null> = {};
  for (const key of keys.sort()) {
    if (!DETAIL_KEY.test(key)) throw new Error(`audit: invalid details key "${sanitizeAuditText(key, 80)}"`);
    if (SECRET_KEY.test(key)) throw new Error(`audit: details key "${key}" looks like a secret; secrets never go in the audit log`);
    const value = details[key];
    if (value === null || typeof value === 'boolean') out[key] = value;
    else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`audit: details.${key} must be a finite number`);
      out[key] = value;
    } else if (typeof value === 'string') out[key] = sanitizeAuditText(value, AUDIT_TEXT_LIMIT);
    else throw new Error(`audit: details.${key} must be a string, number, boolean or null`);
  }
  return out;
}
