/**
 * In-app security notices (checklist 6 and 10: the user is told about security events on their account). There
 * is no mail system, so the account page lists the user's own recent security events from the audit log, with
 * a banner and a dot in the top bar while some arrived since they last looked.
 *
 * Whose events: only those of this user's account — events they caused (actor: this user), events aimed at their
 * account by someone not signed in (target: this user, e.g. blocked sign-in attempts), and events about their own
 * personal access tokens. Only account-security actions are listed (SECURITY_ACTIONS), so no event about someone
 * else (a role change made by an admin, a document read) is ever shown, and only fields about the user's own
 * account are displayed: time, what happened, outcome, client address and, for an email change, their own old
 * and new address. Account events are written once per organization of the user (account-events.ts): the copies
 * are merged by request id and action.
 */
import { sql, type Kysely } from 'kysely';
import { withAuditChain, withUser, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import type { AuditAction } from './audit-log.ts';

/** The account-security actions shown, a subset of AUDIT_ACTIONS (the partial index of migration 008 lists the same names). */
export const SECURITY_ACTIONS = [
  'auth.sign_in',
  'auth.sign_in_throttled',
  'auth.mfa_failed',
  'auth.mfa_enrolled',
  'auth.mfa_disabled',
  'auth.recovery_code_used',
  'auth.recovery_codes_regenerated',
  'auth.reauthentication_failed',
  'auth.password_changed',
  'auth.email_changed',
  'auth.session_revoked',
  'token.created',
  'token.revoked',
] as const satisfies readonly AuditAction[];

/** Events older than this are not listed. */
export const SECURITY_WINDOW_DAYS = 30;
/** At most this many events are listed, newest first. */
export const SECURITY_LIST_LIMIT = 20;
/** Rows read per chain (more than listed: sign-ins from known addresses are recognized among them). */
const SCAN_LIMIT = 100;
/** A sign-in this close to the current session's start is that session's own: not news to its user. */
const OWN_SIGN_IN_MS = 10_000;

export interface SecurityEvent {
  /** Request id (or event id) and action: the key that merges the per-organization copies. */
  key: string;
  action: (typeof SECURITY_ACTIONS)[number];
  occurredAt: Date;
  outcome: 'success' | 'failure' | 'denied';
  ip: string | null;
  /** What happened, in words, naming only this user's own things. */
  summary: string;
}

export interface SecurityActivity {
  events: SecurityEvent[];
  /** When the user last viewed the list (null: never). */
  seenAt: Date | null;
}

/** The organizations a user is a member of (a user scope may see its own memberships in every organization). */
async function organizationIdsOf(db: Db, userId: string): Promise<string[]> {
  const rows = await withUser(db, userId, (trx) =>
    trx.selectFrom('memberships').select('org_id').where('user_id', '=', userId).execute(),
  );
  return rows.map((r) => r.org_id);
}

const ACTION_LITERALS = sql.join(SECURITY_ACTIONS.map((action) => sql.lit(action)));

/** One chain's security events of this user in the window, newest first. */
async function chainEvents(trx: Kysely<Database>, orgId: string | null, userId: string, tokenIds: string[], since: Date) {
  let query = trx
    .selectFrom('audit_events')
    .select(['id', 'occurred_at', 'action', 'actor_type', 'actor_id', 'target_type', 'target_id', 'target_label', 'outcome', 'reason', 'request_id', 'ip', 'details'])
    .where('occurred_at', '>=', since)
    // literals, not parameters: the planner matches them with the partial index of migration 008
    .where(sql<boolean>`action in (${ACTION_LITERALS})`)
    .where((eb) =>
      eb.or([
        eb.and([eb('actor_type', '=', 'user'), eb('actor_id', '=', userId)]),
        eb.and([eb('actor_type', '=', 'anonymous'), eb('target_type', '=', 'user'), eb('target_id', '=', userId)]),
        ...(tokenIds.length > 0 ? [eb.and([eb('target_type', '=', 'personal_access_token'), eb('target_id', 'in', tokenIds)])] : []),
      ]),
    )
    .orderBy('occurred_at', 'desc')
    .limit(SCAN_LIMIT);
  query = orgId === null ? query.where('org_id', 'is', null) : query.where('org_id', '=', orgId);
  return query.execute();
}

type Row = Awaited<ReturnType<typeof chainEvents>>[number];

/** The user's own security events of the last 30 days across their organizations and the system chain, newest first, merged. */
export async function recentSecurityEvents(db: Db, userId: string, now: number = Date.now()): Promise<SecurityEvent[]> {
  const since = new Date(now - SECURITY_WINDOW_DAYS * 24 * 3600 * 1000);
  const tokenIds = (await db.selectFrom('personal_access_tokens').select('id').where('user_id', '=', userId).execute()).map((r) => r.id);
  const rows: Row[] = [];
  for (const orgId of await organizationIdsOf(db, userId)) {
    rows.push(...(await withAuditChain(db, orgId, (trx) => chainEvents(trx, orgId, userId, tokenIds, since))));
  }
  rows.push(...(await withAuditChain(db, null, (trx) => chainEvents(trx, null, userId, tokenIds, since))));
  const merged = new Map<string, SecurityEvent>();
  for (const row of rows) {
    const key = `${row.request_id ?? row.id}|${row.action}`;
    if (merged.has(key)) continue;
    merged.set(key, {
      key,
      action: row.action as SecurityEvent['action'],
      occurredAt: new Date(row.occurred_at),
      outcome: row.outcome,
      ip: row.ip,
      summary: summaryOf(row),
    });
  }
  return [...merged.values()].sort((a, b) => b.occurredAt.getTime() - a.occurredAt.getTime());
}

function detailsOf(row: Row): Record<string, unknown> {
  const details = typeof row.details === 'string' ? (JSON.parse(row.details) as unknown) : row.details;
  return details && typeof details === 'object' ? (details as Record<string, unknown>) : {};
}

function summaryOf(row: Row): string {
  const details = detailsOf(row);
  const named = row.target_label ? ` “${row.target_label}”` : '';
  switch (row.action as SecurityEvent['action']) {
    case 'auth.sign_in':
      return details.mfa === true ? 'Signed in with two-step verification' : 'Signed in';
    case 'auth.sign_in_throttled':
      return 'Sign-in attempts were blocked after too many failures';
    case 'auth.mfa_failed':
      if (row.reason === 'code reused') return 'A two-step verification code was used a second time and refused';
      if (row.reason === 'throttled') return 'Two-step verification was blocked after too many wrong codes';
      if (row.reason === 'invalid recovery code') return 'A wrong recovery code was entered after your password';
      return 'A wrong two-step verification code was entered after your password';
    case 'auth.mfa_enrolled':
      return 'Two-step verification was turned on';
    case 'auth.mfa_disabled':
      return 'Two-step verification was turned off';
    case 'auth.recovery_code_used':
      return 'A recovery code was used to sign in';
    case 'auth.recovery_codes_regenerated':
      return 'New recovery codes were generated';
    case 'auth.reauthentication_failed':
      return details.method === 'sso'
        ? 'Confirming your identity through your identity provider did not work'
        : 'A wrong password or code was entered to confirm your identity';
    case 'auth.password_changed':
      return 'Your password was changed';
    case 'auth.email_changed':
      return typeof details.from === 'string' && typeof details.to === 'string'
        ? `Your email address was changed from ${details.from} to ${details.to}`
        : 'Your email address was changed';
    case 'auth.session_revoked':
      return details.kind === 'all_others' ? 'All your other sessions were signed out' : 'A session was signed out';
    case 'token.created':
      return `Personal access token${named} was created`;
    case 'token.revoked':
      return `Personal access token${named} was revoked`;
  }
}

/**
 * How many listed events arrived since the user last looked, leaving out what is no news to them: the sign-in of
 * the session they are using, and sign-ins from an address an earlier sign-in in the list came from.
 */
export function unseenCount(activity: SecurityActivity, currentSessionStart: number | null): number {
  const { events, seenAt } = activity;
  return events.filter((event, index) => {
    if (seenAt && event.occurredAt.getTime() <= seenAt.getTime()) return false;
    if (event.action !== 'auth.sign_in') return true;
    if (currentSessionStart !== null && Math.abs(event.occurredAt.getTime() - currentSessionStart) <= OWN_SIGN_IN_MS) return false;
    const known = events.slice(index + 1).some((older) => older.action === 'auth.sign_in' && older.ip === event.ip);
    return !known;
  }).length;
}

/** When the user last viewed their security activity (users is not a tenant table). */
export async function securitySeenAt(db: Db, userId: string): Promise<Date | null> {
  const row = await db.selectFrom('users').select('security_seen_at').where('id', '=', userId).executeTakeFirst();
  return row?.security_seen_at ? new Date(row.security_seen_at) : null;
}

/** Record that the user has seen their security activity up to `at`. */
export async function markSecuritySeen(db: Db, userId: string, at: Date): Promise<void> {
  await db.updateTable('users').set({ security_seen_at: at }).where('id', '=', userId).execute();
}

const CACHE_LIMIT = 10_000;

/**
 * The account page's list and the top bar's dot. The dot is asked on every signed-in page, so each user's
 * activity is kept in memory for `ttlMs` (per process): an event written elsewhere shows within that time, and
 * this process forgets a user's entry at once when it changes something of theirs (`forget`) or they view the
 * list (`markSeen`).
 */
export class SecurityNotices {
  readonly #cache = new Map<string, { at: number; activity: SecurityActivity }>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = 30_000,
  ) {}

  /** Fresh from the database: the user's listed events (at most 20) and when they last looked. */
  async activity(userId: string): Promise<SecurityActivity> {
    const { events, seenAt } = await this.#load(userId);
    return { events: events.slice(0, SECURITY_LIST_LIMIT), seenAt };
  }

  /** Whether the top bar shows the dot for this session (from memory when recent enough). */
  async hasUnseen(userId: string, sessionStart: number): Promise<boolean> {
    const cached = this.#cache.get(userId);
    const activity = cached && this.now() - cached.at < this.ttlMs ? cached.activity : await this.#loadShared(userId);
    return unseenCount(activity, sessionStart) > 0;
  }

  /** Pages of one user arriving together when the entry expires share one load instead of each querying. */
  readonly #loading = new Map<string, Promise<SecurityActivity>>();

  #loadShared(userId: string): Promise<SecurityActivity> {
    let pending = this.#loading.get(userId);
    if (pending === undefined) {
      pending = this.#load(userId);
      this.#loading.set(userId, pending);
      const done = () => this.#loading.delete(userId);
      pending.then(done, done);
    }
    return pending;
  }

  /** The user viewed the list: nothing up to now is new any more. */
  async markSeen(userId: string): Promise<void> {
    const at = new Date(this.now());
    await markSecuritySeen(this.db, userId, at);
    const cached = this.#cache.get(userId);
    if (cached) cached.activity = { ...cached.activity, seenAt: at };
  }

  /** Something of this user's changed in this process (e.g. a token): read again on the next page. */
  forget(userId: string): void {
    this.#cache.delete(userId);
  }

  async #load(userId: string): Promise<SecurityActivity> {
    const [events, seenAt] = await Promise.all([recentSecurityEvents(this.db, userId, this.now()), securitySeenAt(this.db, userId)]);
    const activity = { events, seenAt };
    this.#remember(userId, activity);
    return activity;
  }

  #remember(userId: string, activity: SecurityActivity): void {
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(userId, { at: this.now(), activity });
  }
}
