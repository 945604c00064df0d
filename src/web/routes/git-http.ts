/**
 * git clone / fetch / pull / push over smart HTTP at `/{org}/{project}.git`.
 *
 * Only personal access tokens authenticate here (HTTP Basic, the token as password): the session cookie is
 * never consulted, so a cross-site form cannot push with a browser's session, and CSRF tokens do not apply.
 * Answers: no or bad credentials → 401 with a Basic challenge, the same whether or not the project exists;
 * not a member (or no such project) → 404; a member whose role may not read every document → 403 for fetch;
 * a token without 'write' or a role below member → 403 for push. Only upload-pack and receive-pack are served.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PassThrough, type Readable } from 'node:stream';
import type { UserActor } from '../../access/actor.ts';
import { auditRefusal } from '../../access/denials.ts';
import { can } from '../../access/policy.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { Throttle } from '../../auth/throttle.ts';
import { withOrg, type Db } from '../../db/connection.ts';
import { ConflictError, NotAuthenticatedError } from '../../errors.ts';
import { checkPush, parseRefUpdates, PUSH_LIMITS, type CheckedUpdate, type PushLimits } from '../../git/push-checks.ts';
import { refCreator } from '../../git/ref-journal.ts';
import type { BranchMoves } from '../../changes/branch-moves.ts';
import { PUBLISHED_REF } from '../../content/published-branch.ts';
import type { ChangeRequests } from '../../changes/change-requests.ts';
import type { PendingRefAudit } from '../../changes/ref-audit.ts';
import {
  advertisementContentType,
  advertiseRefs,
  gitProtocolFrom,
  MAX_FETCH_REQUEST_BYTES,
  MAX_PUSH_BYTES,
  receivePack,
  requestBody,
  requestContentType,
  RequestTooLargeError,
  resultContentType,
  uploadPack,
  type GitService,
  type PushVerdict,
  type RunningService,
} from '../../git/smart-http.ts';
import type { ProjectCatalog } from '../../projects/catalog.ts';
import { CloneClearance } from '../../projects/clone-clearance.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import type { Publisher } from '../../projects/publisher.ts';
import type { LinkGate } from '../../projects/link-gate.ts';
import { linkCheckForPush } from '../../projects/push-link-check.ts';
import type { RepositoryRegistry } from '../../projects/repositories.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import { authenticateByTokenThrottled, CredentialsThrottledError, TOKEN_CHALLENGE } from '../token-auth.ts';

export interface GitHttpDeps {
  db: Db;
  catalog: ProjectCatalog;
  repositories: RepositoryRegistry;
  publisher: Publisher;
  /** The branch-move protocol: an accepted push is recorded, published and announced through it. */
  branchMoves: BranchMoves;
  /** `git push -o change.open` opens change requests for the pushed drafts. */
  changeRequests: ChangeRequests;
  /** The organization's "refuse changes that add broken links" setting (off: the problems are warnings). */
  linkGate: Pick<LinkGate, 'refuses'>;
  /** Clock of the bad-credentials throttle (tests move it forward). */
  now?: () => number;
  /** Limits on the objects of one push (push-checks.ts PUSH_LIMITS; tests lower them). */
  pushLimits?: Partial<PushLimits>;
}

interface RepoParams {
  org: string;
  project: string;
}

const ROUTE = { config: { access: 'policy' as const, csrf: false as const } };

/** Register the smart HTTP routes (in their own scope: the raw request bodies are theirs alone). */
export function registerGitHttpRoutes(app: FastifyInstance, deps: GitHttpDeps): void {
  const clearance = new CloneClearance(deps.repositories, deps.publisher);
  // Bad credentials are counted per client address in the database (every process sees the same numbers).
  const throttle = new Throttle(deps.db, deps.now ?? Date.now);

  void app.register(async (scope) => {
    // git's request bodies are streamed to git as they arrive, never buffered
    scope.addContentTypeParser(
      [requestContentType('git-upload-pack'), requestContentType('git-receive-pack')],
      (_request, payload, done) => done(null, payload),
    );

    // Everything else under a repository path (HEAD, config, objects/..., hooks/..., dumb HTTP): never a file.
    scope.route({
      method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
      url: '/:org/:project.git/*',
      config: { access: 'public', csrf: false },
      handler: async (_request, reply) => plain(reply, 404, 'Repository not found.'),
    });
    scope.route({
      method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
      url: '/:org/:project.git',
      config: { access: 'public', csrf: false },
      handler: async (_request, reply) => plain(reply, 404, 'Repository not found.'),
    });

    scope.get<{ Params: RepoParams; Querystring: { service?: string } }>('/:org/:project.git/info/refs', ROUTE, async (request, reply) => {
      const service = request.query.service;
      const access = await authorize(request, reply, service === 'git-receive-pack' ? 'git-receive-pack' : 'git-upload-pack');
      if (!access) return reply;
      // dumb HTTP (no service) and anything else: nothing under the repository is served as a file
      if (service !== 'git-upload-pack' && service !== 'git-receive-pack') return plain(reply, 404, 'Repository not found.');
      const running = advertiseRefs({
        service,
        repoPath: access.repoPath,
        gitProtocol: gitProtocolFrom(request.headers['git-protocol']),
        signal: abortOnClose(request, reply),
      });
      return streamService(request, reply, advertisementContentType(service), running);
    });

    scope.post<{ Params: RepoParams }>('/:org/:project.git/git-upload-pack', ROUTE, async (request, reply) => {
      const access = await authorize(request, reply, 'git-upload-pack');
      if (!access) return reply;
      const body = bodyOf(request, reply, 'git-upload-pack', MAX_FETCH_REQUEST_BYTES);
      if (!body) return reply;
      const running = uploadPack({
        repoPath: access.repoPath,
        body,
        gitProtocol: gitProtocolFrom(request.headers['git-protocol']),
        signal: abortOnClose(request, reply),
      });
      return streamService(request, reply, resultContentType('git-upload-pack'), running);
    });

    scope.post<{ Params: RepoParams }>('/:org/:project.git/git-receive-pack', ROUTE, async (request, reply) => {
      const access = await authorize(request, reply, 'git-receive-pack');
      if (!access) return reply;
      const body = bodyOf(request, reply, 'git-receive-pack', MAX_PUSH_BYTES);
      if (!body) return reply;
      const { actor, project, repoPath } = access;
      let checked: CheckedUpdate[] = [];
      let pending: PendingRefAudit | null = null;
      let openFor: { branch: string; commit: string }[] = [];
      const running = await receivePack({
        repoPath,
        body,
        gitProtocol: gitProtocolFrom(request.headers['git-protocol']),
        identity: { name: actor.name || actor.email, email: actor.email },
        allowDeletes: true,
        maxObjects: deps.pushLimits?.maxObjects ?? PUSH_LIMITS.maxObjects,
        signal: abortOnClose(request, reply),
        onCheckError: (error) => request.log.error({ err: error, requestId: request.id }, 'push check failed'),
        checkPush: async ({ updates, env, options }): Promise<PushVerdict> => {
          const result = await checkPush({
            repoPath,
            env,
            updates: parseRefUpdates(updates),
            mayChange: (classification) => can(actor, 'edit', { kind: 'document', orgId: project.orgId, classification }),
            mayDeclassify: (from) => can(actor, 'declassify', { kind: 'document', orgId: project.orgId, classification: from }),
            // owners, and whoever pushed the branch (its first reflog line names the pusher, see receivePack)
            mayDelete: async (ref) =>
              can(actor, 'delete', { kind: 'branch', orgId: project.orgId }) || emailOf(await refCreator(repoPath, ref)) === actor.email,
            limits: deps.pushLimits,
          });
          if (result.problems.length > 0) {
            await audit(request, actor, project, 'denied', { problems: result.problems.length, refs: parseRefUpdates(updates).map((u) => u.ref).join(' ') });
            return { ok: false, messages: ['DocuCommit refused this push:', ...result.problems.map((p) => `  ${p}`)] };
          }
          checked = result.updates;
          // links: warnings, or the reasons for refusing when the organization asks for it (the editor's rule too)
          const main = checked.find((u) => u.ref === PUBLISHED_REF && !/^0+$/.test(u.newOid));
          const links = main
            ? await linkCheckForPush({ repoPath, env, newCommit: main.newOid, previous: deps.publisher.snapshotOf(project.id), refuse: await deps.linkGate.refuses(project) })
            : { refused: false, lines: [] };
          if (links.refused) {
            await audit(request, actor, project, 'denied', { problems: links.lines.length, refs: parseRefUpdates(updates).map((u) => u.ref).join(' '), reason: 'broken links' });
            return { ok: false, messages: links.lines };
          }
          // noted durably before any ref moves, so a crash before the audit record below is caught up on start
          pending = await deps.branchMoves.notePush(project, checked, {
            actor: { type: 'token', id: actor.via?.tokenId ?? actor.userId, label: actor.email },
            target: { type: 'project', id: project.id, label: `${project.orgSlug}/${project.slug}` },
            requestId: String(request.id),
            ip: request.ip,
          });
          // `git push -o change.open`: each pushed draft branch gets a change request once its ref has moved
          const drafts = options.includes('change.open') ? checked.filter((u) => u.ref !== PUBLISHED_REF && u.ref.startsWith('refs/heads/') && !/^0+$/.test(u.newOid)) : [];
          openFor = drafts.map((u) => ({ branch: u.ref.slice('refs/heads/'.length), commit: u.newOid }));
          const origin = `${request.protocol}://${request.headers.host ?? 'localhost'}`;
          return {
            ok: true,
            messages: [
              ...links.lines,
              ...openFor.flatMap(({ branch }) => [
                `Change request for ${branch}:`,
                `  ${origin}/${encodeURIComponent(project.orgSlug)}/${encodeURIComponent(project.slug)}/-/changes?branch=${encodeURIComponent(branch)}`,
              ]),
            ],
          };
        },
        // under the repository's write lock, after receive-pack exited: record what it applied, publish, notify
        afterPush: async () => {
          const noted = pending;
          if (!noted) return;
          await deps.branchMoves.settlePush(project, noted, (error) => request.log.error({ err: error }, 'publish after push failed'));
          for (const draft of openFor) {
            await openChangeRequest(project, actor, draft).catch((error: unknown) => request.log.warn({ err: error }, 'opening a change request after a push failed'));
          }
        },
      });
      // the response ends only after the accepted push is recorded and published, so `git push` returning means "live"
      return streamService(request, reply, resultContentType('git-receive-pack'), running);
    });
  });

  /** Opens a change request for a pushed draft (titled by its head commit's subject), unless one is open. */
  async function openChangeRequest(project: ProjectRecord, actor: UserActor, draft: { branch: string; commit: string }): Promise<void> {
    const repository = await deps.repositories.get(project);
    if ((await repository.headOf(draft.branch)) !== draft.commit) return;
    const subject = (await repository.readCommit(draft.commit)).message.split('\n', 1)[0]!.trim() || `Changes from ${draft.branch}`;
    await deps.changeRequests.open(project, actor, { branch: draft.branch, title: subject.slice(0, 200) }, new Set()).catch((error: unknown) => {
      // a branch that already has an open change request keeps it (its head follows the push)
      if (error instanceof ConflictError) return;
      throw error;
    });
  }

  /** Authenticate by token and authorize the service; sends the refusal itself and returns null when refused. */
  async function authorize(
    request: FastifyRequest<{ Params: RepoParams }>,
    reply: FastifyReply,
    service: GitService,
  ): Promise<{ actor: UserActor; project: ProjectRecord; repoPath: string } | null> {
    let actor: UserActor;
    try {
      actor = await authenticateByTokenThrottled(request, deps.db, throttle, (retryAfterSeconds) => auditBlock(request, retryAfterSeconds));
    } catch (error) {
      if (error instanceof CredentialsThrottledError) {
        reply.header('retry-after', String(error.retryAfterSeconds));
        plain(reply, 429, error.message);
        return null;
      }
      if (!(error instanceof NotAuthenticatedError)) throw error;
      reply.header('www-authenticate', TOKEN_CHALLENGE);
      plain(reply, 401, 'Authentication required: use a personal access token as the password.');
      return null;
    }
    const project = await deps.catalog.find(request.params.org, request.params.project).catch(() => null);
    if (!project || !can(actor, 'read', { kind: 'project', orgId: project.orgId })) {
      recordRefusal(request, actor, project?.orgId ?? null, 404);
      plain(reply, 404, 'Repository not found.');
      return null;
    }
    if (service === 'git-receive-pack') {
      if (!can(actor, 'push', { kind: 'project', orgId: project.orgId })) {
        recordRefusal(request, actor, project.orgId, 403);
        plain(reply, 403, 'Pushing needs a token with the "write" scope and a role of member or above.');
        return null;
      }
    } else {
      const highestClassification = await clearance.highestClassification(project);
      if (!can(actor, 'clone', { kind: 'project', orgId: project.orgId, highestClassification })) {
        recordRefusal(request, actor, project.orgId, 403);
        // says nothing about which classification the project holds
        plain(reply, 403, 'Cloning this project needs a role that may read every document in it.');
        return null;
      }
    }
    return { actor, project, repoPath: deps.repositories.pathOf(project) };
  }

  /**
   * A refusal by the permission policy, recorded as access.denied (access/denials.ts): a token of a non-member of
   * an organization that exists (404, like a missing project), or a member's token below the bar (403). A
   * member's missing project is not recorded.
   */
  function recordRefusal(request: FastifyRequest<{ Params: RepoParams }>, actor: UserActor, orgId: string | null, status: 403 | 404) {
    return auditRefusal(deps.db, request.log, {
      actor,
      org: orgId ? { id: orgId } : { slug: request.params.org },
      byPolicy: status === 403,
      target: { type: 'repository', id: `/${request.params.org}/${request.params.project}.git`.slice(0, 300) },
      status,
      method: request.method,
      requestId: String(request.id),
      ip: request.ip,
    });
  }

  /**
   * A client address just reached the bad-credentials limit: one audit event per block (not per refused
   * request), in the chain of the organization named in the URL when it exists, else the system chain.
   * Never the credential: only the address, the repository path asked for and the wait.
   */
  async function auditBlock(request: FastifyRequest<{ Params: RepoParams }>, retryAfterSeconds: number): Promise<void> {
    const path = `${request.params.org}/${request.params.project}`.slice(0, 200);
    request.log.warn({ requestId: request.id, ip: request.ip, repository: path, retryAfterSeconds }, 'git authentication blocked for this address');
    const org = await findOrganization(deps.db, request.params.org).catch(() => null);
    const event = {
      actor: { type: 'anonymous' as const, id: null, label: null },
      action: 'git.auth_throttled',
      target: { type: 'address', id: request.ip },
      reason: 'too many failed git authentications from this address',
      outcome: 'denied' as const,
      requestId: String(request.id),
      ip: request.ip,
      details: { repository: path, retry_after_seconds: retryAfterSeconds },
    };
    if (org) await withOrg(deps.db, org.id, (trx) => recordAuditEvent(trx, { ...event, orgId: org.id }));
    else await recordAuditEvent(deps.db, { ...event, orgId: null });
  }

  async function audit(
    request: FastifyRequest,
    actor: UserActor,
    project: ProjectRecord,
    outcome: 'success' | 'denied',
    details: Record<string, string | number>,
  ): Promise<void> {
    await withOrg(deps.db, project.orgId, (trx) => recordAuditEvent(trx, {
      orgId: project.orgId,
      actor: { type: 'token', id: actor.via?.tokenId ?? actor.userId, label: actor.email },
      action: 'git.push',
      target: { type: 'project', id: project.id, label: `${project.orgSlug}/${project.slug}` },
      outcome,
      requestId: String(request.id),
      ip: request.ip,
      details,
    }));
  }
}

/** The e-mail address of a reflog identity "Name <email>" (receive-pack is given the pusher's, above). */
function emailOf(identity: string | null): string | null {
  return identity ? (/<([^<>]*)>$/.exec(identity)?.[1] ?? null) : null;
}

function plain(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${message}\n`);
}

function bodyOf(request: FastifyRequest, reply: FastifyReply, service: GitService, limit: number): Readable | null {
  const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const raw = request.body as Readable | undefined;
  if (type !== requestContentType(service) || !raw || typeof raw.pipe !== 'function') {
    plain(reply, 415, `Expected ${requestContentType(service)}.`);
    return null;
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) {
    plain(reply, 413, new RequestTooLargeError(limit).message);
    return null;
  }
  try {
    return requestBody(raw, request.headers['content-encoding'], limit);
  } catch {
    plain(reply, 415, 'Unsupported Content-Encoding.');
    return null;
  }
}

/** Kills git when the client goes away before the response is complete. */
function abortOnClose(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  request.raw.on('aborted', () => controller.abort());
  return controller.signal;
}

/**
 * Streams git's output as the response. The status line is already sent when git fails midway, so a failure
 * ends the stream early (git's client reports it) and lands in the log. `after` runs once git exited cleanly,
 * before the response ends.
 */
function streamService(
  request: FastifyRequest,
  reply: FastifyReply,
  contentType: string,
  running: RunningService,
  after?: () => Promise<void>,
): FastifyReply {
  const output = new PassThrough();
  running.output.pipe(output, { end: false });
  const outputEnded = new Promise<void>((resolvePromise) => {
    running.output.once('end', resolvePromise);
    running.output.once('close', resolvePromise);
  });
  void Promise.all([running.done, outputEnded])
    .then(async () => {
      if (after) await after();
      output.end();
    })
    .catch((error: unknown) => {
      const tooLarge = error instanceof RequestTooLargeError || String((error as Error)?.message).includes('larger than');
      request.log.warn({ err: error, requestId: request.id, tooLarge }, 'git service failed');
      output.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  reply.code(200).header('content-type', contentType).header('cache-control', 'no-cache, max-age=0, must-revalidate');
  return reply.send(output);
}
