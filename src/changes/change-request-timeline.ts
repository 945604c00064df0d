import type { Transaction } from 'kysely';
import type { ChangeRequestStepsTable, Database } from '../db/schema.ts';
import { withOrg, type Db } from '../db/connection.ts';

/**
 * The steps of a change request's timeline other than its reviews and comments (migration 044): a new head of the
 * draft, a resolution of conflicts with main, merged, closed, reopened. Each is written in the transaction of the
 * step itself, beside its audit event, by the one function that makes the step (`moveRequestHead`, `noteStep`).
 */
export type StepKind = ChangeRequestStepsTable['kind'];

export interface StepActor {
  /** The person (their name is shown while their account exists), or null: the system, or a person not found. */
  userId: string | null;
  /** The system's name ('' for a person: a person whose account is gone is shown as "a former member"). */
  label: string;
}

export interface TimelineStep {
  kind: StepKind;
  who: string;
  from: string | null;
  to: string | null;
  at: Date;
}

/** Steps a page shows (the newest; a draft pushed more often than this shows how many earlier ones there were). */
export const MAX_TIMELINE_STEPS = 300;

export async function noteStep(trx: Transaction<Database>, step: { orgId: string; requestId: string; kind: StepKind; actor: StepActor; from?: string | null; to?: string | null }): Promise<void> {
  await trx
    .insertInto('change_request_steps')
    .values({
      org_id: step.orgId,
      change_request_id: step.requestId,
      kind: step.kind,
      actor_id: step.actor.userId,
      actor_label: step.actor.userId ? '' : step.actor.label.slice(0, 320),
      from_commit: step.from ?? null,
      to_commit: step.to ?? null,
    })
    .execute();
}

/**
 * Who made a branch move, as a step names them: a person for a user and for a person's token (a push names its
 * pusher by email), else the label (the system: recovery, an import).
 */
export async function stepActorOf(trx: Transaction<Database>, actor: { type: string; id: string | null; label: string | null }): Promise<StepActor> {
  if (actor.type === 'user') return { userId: actor.id || null, label: '' };
  if (actor.type === 'token') {
    const person = actor.label ? await trx.selectFrom('users').select('id').where('email', '=', actor.label).executeTakeFirst() : undefined;
    return { userId: person?.id ?? null, label: '' };
  }
  return { userId: null, label: actor.label || 'DocuCommit' };
}

/**
 * An open request follows its draft to `to`, in the transaction of the move that made it (or of the listener that
 * caught up with one): approvals of the old head stop counting, and the timeline shows the step from the head the
 * request had. `stillCurrent`, asked once the request's row is locked: whether `to` is still what it should follow
 * (the listener asks git whether the branch is still there). Returns the head it moved from, or null when nothing
 * moved (no longer open, already at `to`, or no longer current).
 */
export async function moveRequestHead(
  trx: Transaction<Database>,
  request: { orgId: string; id: string },
  move: { to: string; actor: StepActor; kind?: 'updated' | 'conflicts_resolved'; stillCurrent?: () => Promise<boolean> },
): Promise<string | null> {
  const row = await trx.selectFrom('change_requests').select(['head_commit', 'state']).where('id', '=', request.id).forUpdate().executeTakeFirst();
  if (!row || row.state !== 'open' || row.head_commit === move.to) return null;
  if (move.stillCurrent && !(await move.stillCurrent())) return null;
  await trx.updateTable('change_requests').set({ head_commit: move.to, updated_at: new Date() }).where('id', '=', request.id).execute();
  await noteStep(trx, { orgId: request.orgId, requestId: request.id, kind: move.kind ?? 'updated', actor: move.actor, from: row.head_commit, to: move.to });
  return row.head_commit;
}

/** The request's steps, oldest first (at most the newest MAX_TIMELINE_STEPS), and how many earlier ones were left out. */
export async function timelineOf(db: Db, orgId: string, requestId: string): Promise<{ steps: TimelineStep[]; earlier: number }> {
  return withOrg(db, orgId, async (trx) => {
    const rows = await trx
      .selectFrom('change_request_steps as s')
      .leftJoin('users as u', 'u.id', 's.actor_id')
      .select(['s.kind', 's.actor_label', 'u.name', 'u.email', 's.from_commit', 's.to_commit', 's.created_at'])
      .where('s.change_request_id', '=', requestId)
      .orderBy('s.id', 'desc')
      .limit(MAX_TIMELINE_STEPS + 1)
      .execute();
    let earlier = 0;
    if (rows.length > MAX_TIMELINE_STEPS) {
      rows.pop();
      const counted = await trx.selectFrom('change_request_steps').select((eb) => eb.fn.countAll<string>().as('n')).where('change_request_id', '=', requestId).executeTakeFirstOrThrow();
      earlier = Number(counted.n) - MAX_TIMELINE_STEPS;
    }
    const steps = rows.reverse().map((r) => ({
      kind: r.kind,
      who: r.name || r.email || r.actor_label || 'a former member',
      from: r.from_commit,
      to: r.to_commit,
      at: new Date(r.created_at),
    }));
    return { steps, earlier };
  });
}
