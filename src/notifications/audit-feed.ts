import type { DocumentLookup } from '../access/access-requests.ts';
import { approverRoles } from '../access/policy.ts';
import { auditChains, eventsAfter, signedInFromBefore, type FeedEvent } from '../audit/event-feed.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { enqueueEmail, type EmailNotification } from './email-outbox.ts';

/**
 * The email feed of the audit log: follows every chain (audit/event-feed.ts) and queues the emails its events
 * call for, each chain's cursor advancing in the same transaction as the rows it queued, so a restart loses
 * nothing and a second process skips a chain another is reading (`FOR UPDATE SKIP LOCKED` on the cursor).
 *
 * What an email says: only the person's own account (security notices), or that something waits in an
 * organization they belong to, with a link. It never names a document, title or path: the page behind the link
 * shows what the reader may see (hidden is missing).
 */

/** Account-security events told by email at once. */
const SECURITY_SUBJECTS: Record<string, string> = {
  'auth.sign_in': 'New sign-in to your DocuCommit account',
  'auth.mfa_enrolled': 'Two-step verification was turned on for your DocuCommit account',
  'auth.mfa_disabled': 'Two-step verification was turned off for your DocuCommit account',
  'auth.recovery_codes_regenerated': 'New recovery codes were made for your DocuCommit account',
  'auth.password_changed': 'Your DocuCommit password was changed',
  'auth.password_reset_used': 'Your DocuCommit password was reset',
  'auth.email_changed': 'The email address of your DocuCommit account was changed',
};

const ACTIONS = [...Object.keys(SECURITY_SUBJECTS), 'access_request.created', 'access_request.approved', 'access_request.denied'];

/** A sign-in from an address seen in this window is not news. */
const KNOWN_DEVICE_DAYS = 90;
const BATCH = 200;

export interface AuditFeedDeps {
  db: Db;
  box: SecretBox;
  baseUrl: string;
  /** A published document's classification (who may approve a request for it). */
  lookup: DocumentLookup;
  now?: () => number;
}

/** Reads every chain's new events and queues their emails. Returns how many emails were queued. */
export async function runAuditFeed(deps: AuditFeedDeps): Promise<number> {
  const now = (deps.now ?? Date.now)();
  const since = await feedStart(deps.db, now);
  let queued = 0;
  for (const orgId of await auditChains(deps.db)) {
    for (;;) {
      const result = await followChain(deps, orgId, since, now);
      queued += result.queued;
      if (!result.more) break;
    }
  }
  return queued;
}

/** When email was first turned on; older events are history, not news. */
async function feedStart(db: Db, now: number): Promise<Date> {
  await db.insertInto('email_feed_state').values({ started_at: new Date(now) }).onConflict((oc) => oc.column('id').doNothing()).execute();
  const row = await db.selectFrom('email_feed_state').select('started_at').executeTakeFirstOrThrow();
  return new Date(row.started_at);
}

async function followChain(deps: AuditFeedDeps, orgId: string | null, since: Date, now: number): Promise<{ queued: number; more: boolean }> {
  const chain = orgId ?? 'system';
  return deps.db.transaction().execute(async (trx) => {
    await trx.insertInto('email_feed_cursors').values({ chain, seq: '0' }).onConflict((oc) => oc.column('chain').doNothing()).execute();
    const cursor = await trx.selectFrom('email_feed_cursors').select('seq').where('chain', '=', chain).forUpdate().skipLocked().executeTakeFirst();
    if (!cursor) return { queued: 0, more: false }; // another process is reading this chain
    const { events, lastSeq } = await eventsAfter(trx, orgId, { afterSeq: String(cursor.seq), actions: ACTIONS, since, limit: BATCH });
    if (lastSeq === null) return { queued: 0, more: false };
    let queued = 0;
    for (const event of events) {
      for (const notification of await notificationsFor(trx, deps, event, now)) {
        if (await enqueueEmail(trx, notification, { box: deps.box, now })) queued += 1;
      }
    }
    await trx.updateTable('email_feed_cursors').set({ seq: lastSeq }).where('chain', '=', chain).execute();
    return { queued, more: true };
  });
}

function when(event: FeedEvent): string {
  return event.occurredAt.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** The emails one event calls for. */
async function notificationsFor(trx: Db, deps: AuditFeedDeps, event: FeedEvent, now: number): Promise<EmailNotification[]> {
  const base = deps.baseUrl.replace(/\/+$/, '');
  // One event of an account is written to each of the user's chains: the same key queues it once.
  const dedupeKey = `audit:${event.requestId ?? event.id}:${event.action}`;
  const subject = SECURITY_SUBJECTS[event.action];
  if (subject !== undefined) {
    if (event.outcome !== 'success') return [];
    const userId = event.actorType === 'user' ? event.actorId : event.targetType === 'user' ? event.targetId : null;
    if (!userId) return [];
    if (event.action === 'auth.sign_in') {
      if (!event.ip) return [];
      const since = new Date(now - KNOWN_DEVICE_DAYS * 86_400_000);
      if (await signedInFromBefore(trx, event.orgId, { userId, ip: event.ip, beforeSeq: event.seq, since })) return [];
    }
    const lines = [
      `${subject} on ${when(event)}${event.ip ? ` from the address ${event.ip}` : ''}.`,
      '',
      'If this was you, there is nothing to do.',
      `If it was not, change your password at once (${base}/-/account/security/password) and tell your administrator.`,
      `Your recent security activity: ${base}/-/account/security`,
    ];
    return [{ userId, kind: 'security', subject, body: lines.join('\n'), dedupeKey }];
  }
  if (!event.orgId || event.targetType !== 'access_request' || !event.targetId) return [];
  const orgId = event.orgId;
  const org = await trx.selectFrom('organizations').select(['slug', 'name']).where('id', '=', orgId).executeTakeFirst();
  if (!org) return [];
  const request = await withOrg(trx, orgId, (scoped) =>
    scoped.selectFrom('access_requests').select(['requester_id', 'project_id', 'path', 'status']).where('id', '=', event.targetId!).where('org_id', '=', orgId).executeTakeFirst(),
  );
  if (!request) return [];
  const page = `${base}/${org.slug}/-/access-requests`;
  if (event.action === 'access_request.created') {
    const classification = deps.lookup(request.project_id, request.path)?.classification ?? 'restricted';
    const roles = approverRoles(classification === 'public' || classification === 'internal' ? 'confidential' : classification);
    const approvers = await withOrg(trx, orgId, (scoped) =>
      scoped
        .selectFrom('memberships')
        .select('user_id')
        .where('org_id', '=', orgId)
        .where('role', 'in', roles)
        .where('user_id', '<>', request.requester_id)
        .execute(),
    );
    return approvers.map((a) => ({
      userId: a.user_id,
      kind: 'access_request' as const,
      subject: `An access request waits for your decision in ${org.name}`,
      body: `Someone in ${org.name} asked for access to a document. See the request and decide: ${page}`,
      dedupeKey,
    }));
  }
  const decided = event.action === 'access_request.denied' ? 'denied' : event.details.granted === true ? 'approved' : null;
  if (decided === null) return [];
  return [
    {
      userId: request.requester_id,
      kind: 'access_decision',
      subject: `Your access request in ${org.name} was ${decided}`,
      body:
        decided === 'approved'
          ? `Your access request in ${org.name} was approved: you may read the document for a limited time. Your requests: ${page}`
          : `Your access request in ${org.name} was denied. Your requests: ${page}`,
      dedupeKey,
    },
  ];
}
