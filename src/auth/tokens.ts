import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { TokenScope, UserActor } from '../access/actor.ts';
import { recordAccountEvent } from '../audit/account-events.ts';
import type { AuditEventInput } from '../audit/audit-log.ts';
import { withUser, type Db } from '../db/connection.ts';
import { inTransaction } from '../db/in-transaction.ts';
import type { Database } from '../db/schema.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';

/**
 * Personal access tokens, for git over HTTP and the API.
 *
 * Format: `dcpat_` + 43 base62 characters (32 random bytes, 256 bits) + 6 base62 characters of CRC32 over
 * everything before them, 55 characters in all, e.g. `dcpat_3Jk…Qz`. The fixed prefix lets secret scanners
 * find leaked tokens, and the checksum lets them (and us) reject typos and look-alikes without a database
 * lookup. Base62 keeps the token one "word" that a double-click selects whole.
 *
 * Storage: only SHA-256 of the whole token. A fast hash is the right tool here, unlike for passwords: the
 * token has 256 random bits, so there is nothing to guess, and the hash doubles as the lookup key, so
 * verification is one index lookup and never compares secrets byte by byte in application code.
 * The plaintext exists only in the value `createToken` returns.
 */

export const TOKEN_PREFIX = 'dcpat_';
export const TOKEN_SCOPES: readonly TokenScope[] = ['read', 'write'];
export const TOKEN_DEFAULT_DAYS = 30;
export const TOKEN_MAX_DAYS = 365;
export const TOKEN_NAME_MAX_LENGTH = 100;
/** last_used_at is written at most this often. */
const LAST_USED_INTERVAL_MS = 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_LENGTH = 43; // ceil(256 / log2(62))
const CHECKSUM_LENGTH = 6; // ceil(32 / log2(62))
const TOKEN_PATTERN = new RegExp(`^${TOKEN_PREFIX}([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);
/** Characters shown to tell tokens apart: the prefix and the first 8 of the secret (~47 of its 256 bits). */
const DISPLAY_LENGTH = TOKEN_PREFIX.length + 8;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function base62(value: bigint, length: number): string {
  let out = '';
  for (let n = value; n > 0n; n /= 62n) out = BASE62[Number(n % 62n)] + out;
  return out.padStart(length, '0');
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE 802.3, as zlib computes it). */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const checksumOf = (body: string): string => base62(BigInt(crc32(body)), CHECKSUM_LENGTH);

/** True when `value` has the token format and a valid checksum (no database involved). */
export function isWellFormedToken(value: string): boolean {
  const match = TOKEN_PATTERN.exec(value);
  return match !== null && checksumOf(TOKEN_PREFIX + match[1]) === match[2];
}

/** A new random token in the documented format. */
export function generateToken(): string {
  const body = TOKEN_PREFIX + base62(BigInt('0x' + randomBytes(32).toString('hex')), SECRET_LENGTH);
  return body + checksumOf(body);
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Validate requested scopes; 'write' brings 'read' along. */
export function normalizeScopes(requested: readonly string[]): TokenScope[] {
  const scopes = new Set<TokenScope>();
  for (const raw of requested) {
    const scope = raw.trim().toLowerCase();
    if (scope === '') continue;
    if (!(TOKEN_SCOPES as readonly string[]).includes(scope)) {
      throw new InvalidInputError(`Unknown scope "${raw}". Scopes are: ${TOKEN_SCOPES.join(', ')}.`);
    }
    scopes.add(scope as TokenScope);
  }
  if (scopes.size === 0) throw new InvalidInputError('Choose at least one scope.');
  if (scopes.has('write')) scopes.add('read');
  return TOKEN_SCOPES.filter((s) => scopes.has(s));
}

/** Parse a lifetime such as `30d` (or a bare number of days): 1 to 365 days. */
export function parseExpiryDays(text: string): number {
  const match = /^\s*(\d{1,4})\s*d?\s*$/i.exec(text);
  const days = match ? Number(match[1]) : NaN;
  if (!Number.isInteger(days) || days < 1 || days > TOKEN_MAX_DAYS) {
    throw new InvalidInputError(`Expiry must be 1 to ${TOKEN_MAX_DAYS} days, like "30d".`);
  }
  return days;
}

function normalizeName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > TOKEN_NAME_MAX_LENGTH || /[\0-\x1f\x7f]/.test(trimmed)) {
    throw new InvalidInputError(`Give the token a name of 1 to ${TOKEN_NAME_MAX_LENGTH} characters (one line).`);
  }
  return trimmed;
}

/** A token as its owner sees it in lists: never the token or its hash. */
export interface TokenSummary {
  id: string;
  userId: string;
  name: string;
  /** The first characters of the token, e.g. `dcpat_3Jk8aQ2z`. */
  prefix: string;
  scopes: TokenScope[];
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** 'active', or why the token no longer works. */
export function tokenStatus(token: TokenSummary, now = Date.now()): 'active' | 'expired' | 'revoked' {
  if (token.revokedAt) return 'revoked';
  return token.expiresAt.getTime() <= now ? 'expired' : 'active';
}

const SUMMARY_COLUMNS = [
  'id',
  'user_id',
  'name',
  'prefix',
  'scopes',
  'created_at',
  'expires_at',
  'last_used_at',
  'revoked_at',
] as const;

type SummaryRow = {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  scopes: unknown;
  created_at: Date | string;
  expires_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
};

const toDate = (value: Date | string): Date => new Date(value);

function toSummary(row: SummaryRow): TokenSummary {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    scopes: parseScopes(row.scopes),
    createdAt: toDate(row.created_at),
    expiresAt: toDate(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : toDate(row.last_used_at),
    revokedAt: row.revoked_at === null ? null : toDate(row.revoked_at),
  };
}

/** text[] arrives as an array from node-postgres and PGlite; accept the literal form too, defensively. */
function parseScopes(value: unknown): TokenScope[] {
  const list = Array.isArray(value) ? value : String(value).replace(/^\{|\}$/g, '').split(',');
  return TOKEN_SCOPES.filter((scope) => list.includes(scope));
}

/** Who did it, for the audit log (default: the system, e.g. an administrator at the command line). */
export interface AuditContext {
  actor: AuditEventInput['actor'];
  requestId?: string | null;
  ip?: string | null;
}

const SYSTEM: AuditContext = { actor: { type: 'system', id: null, label: 'command line' } };

/** Record a token event in the audit chain of every organization of the owner (see recordAccountEvent). */
async function auditTokenEvent(
  trx: Transaction<Database>,
  context: AuditContext,
  action: 'token.created' | 'token.revoked',
  token: TokenSummary,
): Promise<void> {
  await recordAccountEvent(trx, token.userId, {
    actor: context.actor,
    action,
    target: { type: 'personal_access_token', id: token.id, label: token.name },
    outcome: 'success',
    requestId: context.requestId ?? null,
    ip: context.ip ?? null,
    details: { owner_id: token.userId, display_prefix: token.prefix, scopes: token.scopes.join(','), expires_at: token.expiresAt.toISOString() },
  });
}

export interface CreateTokenInput {
  userId: string;
  name: string;
  scopes: readonly string[];
  /** Lifetime in days, 1..365 (default 30). */
  expiresInDays?: number;
  now?: number;
  audit?: AuditContext;
}

/** Create a token. The plaintext is in the result and nowhere else: show it once, never store or log it. */
export async function createToken(db: Db, input: CreateTokenInput): Promise<{ token: string; summary: TokenSummary }> {
  const name = normalizeName(input.name);
  const scopes = normalizeScopes(input.scopes);
  const days = input.expiresInDays ?? TOKEN_DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > TOKEN_MAX_DAYS) {
    throw new InvalidInputError(`Expiry must be 1 to ${TOKEN_MAX_DAYS} days.`);
  }
  const now = input.now ?? Date.now();
  const token = generateToken();
  return inTransaction(db, async (trx) => {
    const row = await trx
      .insertInto('personal_access_tokens')
      .values({
        user_id: input.userId,
        name,
        prefix: token.slice(0, DISPLAY_LENGTH),
        token_hash: hashToken(token),
        scopes,
        created_at: new Date(now),
        expires_at: new Date(now + days * DAY_MS),
      })
      .returning(SUMMARY_COLUMNS)
      .executeTakeFirstOrThrow();
    const summary = toSummary(row);
    await auditTokenEvent(trx, input.audit ?? SYSTEM, 'token.created', summary);
    return { token, summary };
  });
}

/**
 * The actor a token stands for, or null when the token is malformed, unknown, expired, revoked, or its owner
 * is disabled. Checked against the database on every call (no cache), so revoking a token or disabling its
 * owner takes effect on the very next request, in every process.
 */
export async function verifyToken(db: Db, token: string, now = Date.now()): Promise<UserActor | null> {
  // The checksum weeds out garbage and guesses before any database work.
  if (!isWellFormedToken(token)) return null;
  const row = await db
    .selectFrom('personal_access_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id', 't.scopes', 't.expires_at', 't.last_used_at', 't.revoked_at', 'u.id as user_id', 'u.email', 'u.name', 'u.disabled_at'])
    .where('t.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row || row.revoked_at !== null || row.disabled_at !== null) return null;
  if (toDate(row.expires_at).getTime() <= now) return null;
  const memberships = await withUser(db, row.user_id, (trx) =>
    // an organization scheduled for deletion is closed to its members (organizations/deletion.ts)
      trx
        .selectFrom('memberships')
        .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
        .select(['memberships.org_id', 'memberships.role'])
        .where('memberships.user_id', '=', row.user_id)
        .where('organizations.deletion_requested_at', 'is', null)
        .execute(),
  );
  const lastUsed = row.last_used_at === null ? null : toDate(row.last_used_at).getTime();
  if (lastUsed === null || now - lastUsed >= LAST_USED_INTERVAL_MS) {
    await db.updateTable('personal_access_tokens').set({ last_used_at: new Date(now) }).where('id', '=', row.id).execute();
  }
  return {
    kind: 'user',
    userId: row.user_id,
    email: row.email,
    name: row.name,
    memberships: new Map(memberships.map((m) => [m.org_id, m.role])),
    via: { kind: 'token', tokenId: row.id, scopes: parseScopes(row.scopes) },
  };
}

/** A user's tokens, newest first (revoked and expired ones included, marked by their dates). */
export async function listTokens(db: Db, userId: string): Promise<TokenSummary[]> {
  const rows = await db
    .selectFrom('personal_access_tokens')
    .select(SUMMARY_COLUMNS)
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
  return rows.map(toSummary);
}

/**
 * Revoke one of the user's own tokens. Someone else's token, or an unknown id, is a NotFoundError: the
 * answer never reveals that another user's token exists. Revoking twice keeps the first revocation time.
 */
export async function revokeToken(
  db: Db,
  input: { id: string; userId: string; now?: number; audit?: AuditContext },
): Promise<TokenSummary> {
  if (!UUID.test(input.id)) throw new NotFoundError('No such token.');
  const at = new Date(input.now ?? Date.now());
  return inTransaction(db, async (trx) => {
    const row = await trx
      .updateTable('personal_access_tokens')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
      .where('id', '=', input.id)
      .where('user_id', '=', input.userId)
      .returning(SUMMARY_COLUMNS)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('No such token.');
    const summary = toSummary(row);
    if (summary.revokedAt?.getTime() === at.getTime()) await auditTokenEvent(trx, input.audit ?? SYSTEM, 'token.revoked', summary);
    return summary;
  });
}

/** The token with this id, whoever owns it (for administrators at the command line). */
export async function findToken(db: Db, id: string): Promise<TokenSummary | null> {
  if (!UUID.test(id)) return null;
  const row = await db.selectFrom('personal_access_tokens').select(SUMMARY_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toSummary(row) : null;
}
