/**
 * A project as a git remote: who may fetch from and push to it, and what an accepted push does. The smart-HTTP
 * route (web/routes/git-http.ts) authenticates the token, opens the project (web/open-resource.ts), asks
 * `authorizeService` and streams git; everything it decides or records lives here.
 *
 * - Fetch (clone, pull) hands out every document and its whole history: the role must read the most sensitive
 *   document the repository holds or ever held (projects/clone-clearance.ts). Push needs a token with 'write'
 *   and a role of member or above. A member refused either gets a 403 naming what is needed, never which
 *   classification the project holds.
 * - A push is checked in receive-pack's pre-receive step (git/push-checks.ts: the change rules per file, with
 *   the pusher's rights from the policy; who may delete a branch), noted through the branch-move protocol
 *   before any ref moves, and recorded, published and announced by it once receive-pack exited.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { can } from '../access/policy.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { PUBLISHED_REF } from '../content/published-branch.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { ConflictError } from '../errors.ts';
import { checkPush, parseRefUpdates, PUSH_LIMITS, type CheckedUpdate, type PushLimits } from '../git/push-checks.ts';
import { refCreator } from '../git/ref-journal.ts';
import type { PushCheckRequest, PushVerdict } from '../git/smart-http.ts';
import { CloneClearance } from '../projects/clone-clearance.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { LinkGate } from '../projects/link-gate.ts';
import { linkCheckForPush } from '../projects/push-link-check.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { BranchMoves } from './branch-moves.ts';
import type { ChangeRequests } from './change-requests.ts';
import type { PendingRefAudit } from './ref-audit.ts';

export interface GitRemoteDeps {
  db: Db;
  repositories: RepositoryRegistry;
  publisher: Publisher;
  /** The branch-move protocol: an accepted push is recorded, published and announced through it. */
  branchMoves: BranchMoves;
  /** `git push -o change.open` opens change requests for the pushed drafts. */
  changeRequests: ChangeRequests;
  /** The organization's "refuse changes that add broken links" setting (off: the problems are warnings). */
  linkGate: Pick<LinkGate, 'refuses'>;
  /** Limits on the objects of one push (push-checks.ts PUSH_LIMITS; tests lower them). */
  pushLimits?: Partial<PushLimits>;
}

/** What a git client asks of a repository: to fetch from it (upload-pack) or to push to it (receive-pack). */
export type GitServiceKind = 'fetch' | 'push';

export const PUSH_REFUSED = 'Pushing needs a token with the "write" scope and a role of member or above.';
// says nothing about which classification the project holds
export const FETCH_REFUSED = 'Cloning this project needs a role that may read every document in it.';

/** Where a push comes from, for its audit events and its messages. */
export interface PushContext {
  requestId: string;
  ip: string;
  /** `https://host` of the request, for the change-request links shown to the pusher. */
  origin: string;
  log: FastifyBaseLogger;
}

/** One push in progress: receive-pack's pre-receive check and the work after it exited (see `GitRemote.push`). */
export interface PushInProgress {
  /** The pusher as git records them in reflogs. */
  identity: { name: string; email: string };
  maxObjects: number;
  check(request: PushCheckRequest): Promise<PushVerdict>;
  /** Under the repository's write lock, after receive-pack exited: record what it applied, publish, notify. */
  settle(): Promise<void>;
}

export class GitRemote {
  readonly #clearance: CloneClearance;

  constructor(private readonly deps: GitRemoteDeps) {
    this.#clearance = new CloneClearance(deps.repositories, deps.publisher);
  }

  /**
   * Refuses (403, see the module comment) a member whose token or role may not fetch from or push to the
   * project; the caller has already opened the project for reading. Returns the repository's path.
   */
  async authorizeService(actor: UserActor, project: ProjectRecord, service: GitServiceKind): Promise<string> {
    if (service === 'push') {
      authorize(actor, 'push', { kind: 'project', orgId: project.orgId }, PUSH_REFUSED);
    } else {
      const highestClassification = await this.#clearance.highestClassification(project);
      authorize(actor, 'clone', { kind: 'project', orgId: project.orgId, highestClassification }, FETCH_REFUSED);
    }
    return this.deps.repositories.pathOf(project);
  }

  /** A push by `actor` (authorized for 'push') to `project`: hand its `check` and `settle` to receive-pack. */
  push(actor: UserActor, project: ProjectRecord, context: PushContext): PushInProgress {
    const { deps } = this;
    const repoPath = deps.repositories.pathOf(project);
    const auditActor = { type: 'token' as const, id: actor.via?.tokenId ?? actor.userId, label: actor.email };
    const target = { type: 'project', id: project.id, label: `${project.orgSlug}/${project.slug}` };
    let pending: PendingRefAudit | null = null;
    let openFor: { branch: string; commit: string; number: number }[] = [];
    /** Whether the pusher may see change request n (every document it touches, both versions); any failure: no. */
    const mayPusherSee = (n: number) => deps.changeRequests.get(project, actor, n, new Set()).then(() => true, () => false);
    return {
      identity: { name: actor.name || actor.email, email: actor.email },
      maxObjects: deps.pushLimits?.maxObjects ?? PUSH_LIMITS.maxObjects,
      check: async ({ updates, env, options }) => {
        const repository = await deps.repositories.get(project);
        const result = await checkPush({
          // what the repository had before the push is read through its long-lived reader (no process per folder)
          existing: { readTree: (oid) => repository.readTree(oid), treeOfCommit: async (oid) => (await repository.readCommit(oid)).tree },
          // protected main: what the organization's review settings say needs review is proposed, not pushed
          review: await deps.branchMoves.reviewSettings(project.orgId),
          repoPath,
          env,
          updates: parseRefUpdates(updates),
          mayChange: (classification) => can(actor, 'edit', { kind: 'document', orgId: project.orgId, classification }),
          mayDeclassify: (from) => can(actor, 'declassify', { kind: 'document', orgId: project.orgId, classification: from }),
          // owners, and whoever pushed the branch (its first reflog line names the pusher, see receivePack)
          mayDelete: async (ref) =>
            can(actor, 'delete', { kind: 'branch', orgId: project.orgId }) || emailOf(await refCreator(repoPath, ref)) === actor.email,
          // nothing of a change request is ever lost: the draft of an open or closed request stays (a merged one lives on in main)
          keepBranch: async (ref) => {
            const n = await deps.changeRequests.keeperOf(project, ref.slice('refs/heads/'.length));
            if (n === null) return null;
            // the number only to whoever may see the request (hidden is missing)
            return (await mayPusherSee(n)) ? `the draft of change request !${n} cannot be deleted (nothing of a change request is lost)` : 'the draft of a change request cannot be deleted (nothing of a change request is lost)';
          },
          limits: deps.pushLimits,
        });
        if (result.problems.length > 0) {
          await withOrg(deps.db, project.orgId, (trx) => recordAuditEvent(trx, {
            orgId: project.orgId,
            actor: auditActor,
            action: 'git.push',
            target,
            outcome: 'denied',
            requestId: context.requestId,
            ip: context.ip,
            details: { problems: result.problems.length, refs: parseRefUpdates(updates).map((u) => u.ref).join(' ') },
          }));
          return { ok: false, messages: ['DocuCommit refused this push:', ...result.problems.map((p) => `  ${p}`)] };
        }
        const checked: CheckedUpdate[] = result.updates;
        // links: warnings, or the reasons for refusing when the organization asks for it (the editor's rule too)
        const main = checked.find((u) => u.ref === PUBLISHED_REF && !/^0+$/.test(u.newOid));
        const links = main
          ? await linkCheckForPush({ repoPath, env, newCommit: main.newOid, previous: deps.publisher.snapshotOf(project.id), refuse: await deps.linkGate.refuses(project), known: result.publishedDiff, prerender: (files) => deps.publisher.prerender(project, files) })
          : { refused: false, lines: [] };
        if (links.refused) {
          await withOrg(deps.db, project.orgId, (trx) => recordAuditEvent(trx, {
            orgId: project.orgId,
            actor: auditActor,
            action: 'git.push',
            target,
            outcome: 'denied',
            requestId: context.requestId,
            ip: context.ip,
            details: { problems: links.lines.length, refs: parseRefUpdates(updates).map((u) => u.ref).join(' '), reason: 'broken links' },
          }));
          return { ok: false, messages: links.lines };
        }
        // `git push -o change.open`: each pushed draft branch gets a change request once its ref has moved; its number
        // is handed out now, before anything is noted, so that the lines below are its address
        const drafts = options.includes('change.open') ? checked.filter((u) => u.ref !== PUBLISHED_REF && u.ref.startsWith('refs/heads/') && !/^0+$/.test(u.newOid)) : [];
        const requests: string[] = [];
        const toOpen: typeof openFor = [];
        const changesUrl = `${context.origin}/${encodeURIComponent(project.orgSlug)}/${encodeURIComponent(project.slug)}/-/changes`;
        for (const u of drafts) {
          const branch = u.ref.slice('refs/heads/'.length);
          const { number, open } = await deps.changeRequests.numberForPush(project, branch);
          if (!open) {
            toOpen.push({ branch, commit: u.newOid, number });
            requests.push(`Change request !${number} for ${branch}:`, `  ${changesUrl}/${number}`);
          } else if (await mayPusherSee(number)) {
            requests.push(`Change request !${number} for ${branch} (updated):`, `  ${changesUrl}/${number}`);
          } else {
            // a request the pusher may not see (it touches a document they may not read) is not confirmed: the
            // neutral address shows it only to whoever may see it
            requests.push(`Change request for ${branch}:`, `  ${changesUrl}?branch=${encodeURIComponent(branch)}`);
          }
        }
        // noted durably before any ref moves, so a crash before the audit record is caught up on start
        pending = await deps.branchMoves.notePush(project, checked, { actor: auditActor, target, requestId: context.requestId, ip: context.ip });
        openFor = toOpen;
        return { ok: true, messages: [...links.lines, ...requests] };
      },
      settle: async () => {
        const noted = pending;
        if (!noted) return;
        await deps.branchMoves.settlePush(project, noted, (error) => context.log.error({ err: error }, 'publish after push failed'));
        for (const draft of openFor) {
          await this.#openChangeRequest(project, actor, draft).catch((error: unknown) => context.log.warn({ err: error }, 'opening a change request after a push failed'));
        }
      },
    };
  }

  /** Opens a change request for a pushed draft (titled by its head commit's subject), unless one is open. */
  async #openChangeRequest(project: ProjectRecord, actor: UserActor, draft: { branch: string; commit: string; number: number }): Promise<void> {
    const repository = await this.deps.repositories.get(project);
    if ((await repository.headOf(draft.branch)) !== draft.commit) return;
    const subject = (await repository.readCommit(draft.commit)).message.split('\n', 1)[0]!.trim() || `Changes from ${draft.branch}`;
    await this.deps.changeRequests.open(project, actor, { branch: draft.branch, title: subject.slice(0, 200), reserved: draft.number }, new Set()).catch((error: unknown) => {
      // a branch that already has an open change request keeps it (its head follows the push)
      if (error instanceof ConflictError) return;
      throw error;
    });
  }
}

/** The e-mail address of a reflog identity "Name <email>" (receive-pack is given the pusher's, above). */
function emailOf(identity: string | null): string | null {
  return identity ? (/<([^<>]*)>$/.exec(identity)?.[1] ?? null) : null;
}
