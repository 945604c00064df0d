import type { UserActor } from '../access/actor.ts';
import { clearanceFor } from '../access/policy.ts';
import { clearanceCovers } from '../content/classification.ts';
import type { Classification } from '../content/types.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Acknowledgments } from '../evidence/acknowledgments.ts';
import type { Reviews } from '../evidence/reviews.ts';
import { listOrganizationProjects } from '../projects/projects.ts';
import { enqueueEmail, type EmailNotification } from './email-outbox.ts';

/**
 * The email feed of what waits for people by date or by state: acknowledgments due and overdue, reviews due and
 * overdue, change requests waiting for their review. Each pass asks the same services the product's own lists
 * use, for each member, so an email names only what that member's page shows them (hidden is missing):
 * acknowledgment and review titles come from lists filtered by what the member may read; change requests are
 * named by number only. A dedupe key per item and state queues each once, whichever process looks.
 */

export interface DueSources {
  acknowledgments: Acknowledgments;
  reviews: Reviews;
}

export interface DueFeedDeps {
  db: Db;
  box: SecretBox;
  baseUrl: string;
  sources: DueSources;
  now?: () => number;
}

/** Queue what is due for every member of every organization. Returns how many emails were queued. */
export async function runDueFeed(deps: DueFeedDeps): Promise<number> {
  const now = (deps.now ?? Date.now)();
  const base = deps.baseUrl.replace(/\/+$/, '');
  let queued = 0;
  const orgs = await deps.db.selectFrom('organizations').select(['id', 'slug', 'name']).orderBy('id').execute();
  for (const org of orgs) {
    const members = await withOrg(deps.db, org.id, (trx) =>
      trx
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.user_id', 'm.role', 'u.email', 'u.name', 'u.email_opt_out', 'u.disabled_at'])
        .where('m.org_id', '=', org.id)
        .execute(),
    );
    const projects = await listOrganizationProjects(deps.db, org.id);
    const waiting = await changeRequestsWaiting(deps.db, org.id);
    for (const member of members) {
      // nothing here is urgent: people who opted out are not asked about at all
      if (member.email_opt_out || member.disabled_at) continue;
      const actor: UserActor = { kind: 'user', userId: member.user_id, email: member.email, name: member.name, memberships: new Map([[org.id, member.role]]) };
      const notifications: EmailNotification[] = [];
      for (const task of await deps.sources.acknowledgments.tasksFor(actor, org.id)) {
        if (task.status !== 'open') continue;
        const state = task.overdue ? 'overdue' : 'due';
        notifications.push({
          userId: actor.userId,
          kind: 'acknowledgment_due',
          subject: task.overdue ? `Overdue: acknowledge “${task.title}”` : `Please acknowledge “${task.title}”`,
          body: `${task.overdue ? 'Your acknowledgment is overdue' : 'A new version asks for your acknowledgment'}: “${task.title}” in ${task.projectName} (due ${task.dueAt.toISOString().slice(0, 10)}).\nRead and acknowledge it: ${base}/${org.slug}/-/acknowledgments`,
          dedupeKey: `ack:${task.projectId}:${task.path}:${task.currentBlob}:${state}`,
        });
      }
      for (const review of await deps.sources.reviews.dueFor(actor, org.id, projects)) {
        if (review.state !== 'due' && review.state !== 'overdue') continue;
        notifications.push({
          userId: actor.userId,
          kind: 'review_due',
          subject: review.state === 'overdue' ? `Review overdue: “${review.title}”` : `Review due: “${review.title}”`,
          body: `The review of “${review.title}” in ${review.projectName} is ${review.state === 'overdue' ? 'overdue' : 'due'} (${review.next}).\nReviews due: ${base}/${org.slug}/-/reviews`,
          dedupeKey: `review:${review.projectId}:${review.path}:${review.next}:${review.state}`,
        });
      }
      for (const cr of waiting) {
        if (cr.authorId === actor.userId || cr.reviewedBy.has(actor.userId)) continue;
        if (!cr.roles.includes(member.role) && !cr.emails.includes(member.email.toLowerCase())) continue;
        // a request touching a document they may not read does not exist for them (grants aside: not mailed)
        if (!cr.classifications.every((c) => clearanceCovers(clearanceFor(actor, org.id), c))) continue;
        notifications.push({
          userId: actor.userId,
          kind: 'change_request_review',
          subject: `Change request #${cr.number} waits for your review in ${org.name}`,
          body: `Change request #${cr.number} waits for your review: ${base}/${org.slug}/${cr.projectSlug}/-/changes/${cr.number}`,
          dedupeKey: `cr:${cr.id}:${cr.head}`,
        });
      }
      for (const notification of notifications) {
        if (await deps.db.transaction().execute((trx) => enqueueEmail(trx, notification, { box: deps.box, now }))) queued += 1;
      }
    }
  }
  return queued;
}

interface WaitingChangeRequest {
  id: string;
  number: number;
  projectSlug: string;
  authorId: string;
  head: string;
  roles: string[];
  emails: string[];
  reviewedBy: Set<string>;
  /** The classification of every version of every document it touches. */
  classifications: Classification[];
}

/** Open change requests of an organization with whose approval counts, and who approved their head already. */
async function changeRequestsWaiting(db: Db, orgId: string): Promise<WaitingChangeRequest[]> {
  return withOrg(db, orgId, async (trx) => {
    const rows = await trx
      .selectFrom('change_requests as cr')
      .innerJoin('projects as p', 'p.id', 'cr.project_id')
      .select(['cr.id', 'cr.number', 'cr.author_id', 'cr.head_commit', 'cr.approver_roles', 'cr.approver_emails', 'p.slug'])
      .where('cr.org_id', '=', orgId)
      .where('cr.state', '=', 'open')
      .where('cr.requirement', 'is not', null)
      .execute();
    if (rows.length === 0) return [];
    const reviews = await trx
      .selectFrom('change_request_reviews')
      .select(['change_request_id', 'user_id', 'commit'])
      .where('change_request_id', 'in', rows.map((r) => r.id))
      .where('dismissed_at', 'is', null)
      .execute();
    const documents = await trx
      .selectFrom('change_request_documents')
      .select(['change_request_id', 'classification'])
      .where('change_request_id', 'in', rows.map((r) => r.id))
      .execute();
    return rows.map((r) => ({
      id: r.id,
      number: r.number,
      projectSlug: r.slug,
      authorId: r.author_id,
      head: r.head_commit,
      roles: r.approver_roles,
      emails: r.approver_emails,
      classifications: documents.filter((d) => d.change_request_id === r.id).map((d) => d.classification),
      reviewedBy: new Set(reviews.filter((v) => v.change_request_id === r.id && v.commit === r.head_commit).map((v) => v.user_id)),
    }));
  });
}
