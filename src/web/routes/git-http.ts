/**
 * git clone / fetch / pull / push over smart HTTP at `/{org}/{project}.git`: parse, authenticate the token, open
 * the project (open-resource.ts), ask the git remote (changes/git-remote.ts) and stream git's answer.
 *
 * Only personal access tokens authenticate here (HTTP Basic, the token as password): the session cookie is
 * never consulted, so a cross-site form cannot push with a browser's session, and CSRF tokens do not apply.
 * Answers (error-handler.ts registerGitErrorHandling): no or bad credentials → 401 with a Basic challenge, the
 * same whether or not the project exists; not a member (or no such project) → 404; a member whose role may not
 * read every document → 403 for fetch; a token without 'write' or a role below member → 403 for push. Only
 * upload-pack and receive-pack are served.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PassThrough, type Readable } from 'node:stream';
import type { UserActor } from '../../access/actor.ts';
import type { GitRemote, GitServiceKind } from '../../changes/git-remote.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
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
  type RunningService,
} from '../../git/smart-http.ts';
import { registerGitErrorHandling, sendPlain as plain } from '../error-handler.ts';
import type { GitCredentials } from '../git-credentials.ts';
import type { ResourceOpener } from '../open-resource.ts';

export interface GitHttpDeps {
  open: ResourceOpener;
  /** The token of each request, behind the bad-credentials throttle. */
  credentials: GitCredentials;
  /** Who may fetch and push, and what an accepted push does. */
  remote: GitRemote;
}

interface RepoParams {
  org: string;
  project: string;
}

const ROUTE = { config: { access: 'policy' as const, csrf: false as const } };

/** Register the smart HTTP routes (in their own scope: the raw request bodies and the plain-text errors are theirs alone). */
export function registerGitHttpRoutes(app: FastifyInstance, deps: GitHttpDeps): void {
  const { open, credentials, remote } = deps;

  void app.register(async (scope) => {
    registerGitErrorHandling(scope);
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
      const { repoPath } = await openRepository(request, service === 'git-receive-pack' ? 'push' : 'fetch');
      // dumb HTTP (no service) and anything else: nothing under the repository is served as a file
      if (service !== 'git-upload-pack' && service !== 'git-receive-pack') return plain(reply, 404, 'Repository not found.');
      const running = advertiseRefs({
        service,
        repoPath,
        gitProtocol: gitProtocolFrom(request.headers['git-protocol']),
        signal: abortOnClose(request, reply),
      });
      return streamService(request, reply, advertisementContentType(service), running);
    });

    scope.post<{ Params: RepoParams }>('/:org/:project.git/git-upload-pack', ROUTE, async (request, reply) => {
      const { repoPath } = await openRepository(request, 'fetch');
      const body = bodyOf(request, reply, 'git-upload-pack', MAX_FETCH_REQUEST_BYTES);
      if (!body) return reply;
      const running = uploadPack({
        repoPath,
        body,
        gitProtocol: gitProtocolFrom(request.headers['git-protocol']),
        signal: abortOnClose(request, reply),
      });
      return streamService(request, reply, resultContentType('git-upload-pack'), running);
    });

    scope.post<{ Params: RepoParams }>('/:org/:project.git/git-receive-pack', ROUTE, async (request, reply) => {
      const { actor, project, repoPath } = await openRepository(request, 'push');
      const body = bodyOf(request, reply, 'git-receive-pack', MAX_PUSH_BYTES);
      if (!body) return reply;
      const push = remote.push(actor, project, {
        requestId: String(request.id),
        ip: request.ip,
        origin: `${request.protocol}://${request.headers.host ?? 'localhost'}`,
        log: request.log,
      });
      const running = await receivePack({
        repoPath,
        body,
        gitProtocol: gitProtocolFrom(request.headers['git-protocol']),
        identity: push.identity,
        allowDeletes: true,
        maxObjects: push.maxObjects,
        signal: abortOnClose(request, reply),
        onCheckError: (error) => request.log.error({ err: error, requestId: request.id }, 'push check failed'),
        checkPush: (check) => push.check(check),
        afterPush: () => push.settle(),
      });
      // the response ends only after the accepted push is recorded and published, so `git push` returning means "live"
      return streamService(request, reply, resultContentType('git-receive-pack'), running);
    });
  });

  /**
   * The token's actor (who becomes the request's actor: the session cookie never counts here), the project
   * opened for them, and the repository's path once the remote allows `service`. Every refusal is thrown and
   * answered by the scope's error handler.
   */
  async function openRepository(
    request: FastifyRequest<{ Params: RepoParams }>,
    service: GitServiceKind,
  ): Promise<{ actor: UserActor; project: ProjectRecord; repoPath: string }> {
    request.actor = await credentials.authenticate(request);
    const { actor, project } = await open.project(request, 'read');
    const repoPath = await remote.authorizeService(actor, project, service);
    return { actor, project, repoPath };
  }
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
