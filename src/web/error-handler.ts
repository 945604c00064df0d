import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditRefusal, PolicyNotFoundError, policyDenialNote, refusalsRecorded, requestedPath } from '../access/denials.ts';
import { escapeHtml } from '../content/escape-html.ts';
import type { Db } from '../db/connection.ts';
import { AppError, ForbiddenError, NotAuthenticatedError, NotFoundError, SignInRequiredError, TooManyRequestsError } from '../errors.ts';
import { sendPage } from './page.ts';
import { TOKEN_CHALLENGE } from './token-auth.ts';
import { renderErrorBody } from './views/index.ts';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign in required',
  403: 'Not allowed',
  404: 'Page not found',
  409: 'Conflict',
  413: 'Too large',
  429: 'Too many attempts',
  503: 'Temporarily unavailable',
};

const NOT_FOUND_MESSAGE = 'There is no page at this address, or you do not have access to it.';

declare module 'fastify' {
  interface FastifyInstance {
    /** The database refusals by the permission policy are recorded in (`access.denied`); none: not recorded. */
    denialAuditDb: Db | null;
    /**
     * For a 404 seen by a signed-in member: the access-request form for the requested address when it lies
     * inside a project of their organization, else null (set by app.ts once the project catalog exists).
     */
    askForAccessHref: ((request: FastifyRequest) => Promise<string | null>) | null;
  }
}

/** Requests whose route handler started: every authentication and CSRF hook let them through. */
const handlerReached = new WeakSet<FastifyRequest>();

/** Map every error to HTTP in one place: typed errors keep their status and message; anything else is a 500
 *  whose details stay in the server log under the request id. */
export function registerErrorHandling(app: FastifyInstance, secret: Buffer, options: { db?: Db } = {}): void {
  app.decorate('denialAuditDb', options.db ?? null);
  // refusals are recorded off the reply path (access/denials.ts): closing waits for the writes in flight
  app.addHook('onClose', async () => {
    await refusalsRecorded();
  });
  app.decorate('askForAccessHref', null);
  // Registered after the CSRF check (app.ts): a 403 raised once this ran comes from the handler, i.e. from the
  // permission policy, not from a refused form token or origin.
  app.addHook('preHandler', (request, _reply, done) => {
    handlerReached.add(request);
    done();
  });
  // Node refuses a header value outside Latin-1 only when it writes the head, after every hook and handler:
  // Fastify then answers with its own raw JSON 500 and none of our headers. Caught here instead, while the
  // error page can still answer. A Location is percent-encoded (a redirect stays a redirect); any other
  // header with such characters is dropped and the response becomes the 500 error page.
  // A callback hook, not an async one: it runs for every response, and the promise an async hook costs showed in
  // the cached page's profile.
  app.addHook('onSend', (_request, reply, payload, done) => {
    const headers = reply.getHeaders();
    for (const name in headers) {
      const value = headers[name];
      if (typeof value === 'string' ? !NOT_HEADER_SAFE.test(value) : !Array.isArray(value) || !value.some((v) => typeof v === 'string' && NOT_HEADER_SAFE.test(v))) continue;
      const encoded = name === 'location' && typeof value === 'string' ? percentEncodeLocation(value) : null;
      if (encoded !== null) {
        reply.header('location', encoded);
        continue;
      }
      reply.removeHeader(name);
      done(new Error(`header ${name} holds characters a header cannot carry`));
      return;
    }
    done(null, payload);
  });
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const api = isApiRequest(request);
    if (!api && (error instanceof SignInRequiredError || (error instanceof NotAuthenticatedError && request.method === 'GET'))) return redirectToLogin(request, reply);
    let status: number;
    let message: string;
    let code: string;
    if (error instanceof AppError) {
      status = error.status;
      code = error.code;
      message = error.status === 404 ? NOT_FOUND_MESSAGE : error.message;
      if (error instanceof TooManyRequestsError) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error instanceof NotAuthenticatedError && api) reply.header('www-authenticate', API_CHALLENGE);
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      code = CODES[status] ?? 'invalid_request';
      message = 'The request could not be understood.';
    } else {
      status = 500;
      code = 'internal';
      message = 'Something went wrong on our side. If it keeps happening, report the request ID below.';
      request.log.error({ err: error, requestId: request.id }, 'request failed');
    }
    return sendError(request, reply, secret, status, message, error, code);
  });
  app.setNotFoundHandler({}, async (request, reply) => sendNotFound(request, reply, secret));
}

/** The challenge of a REST API request without a valid token. */
export const API_CHALLENGE = 'Bearer realm="DocuCommit API"';

/** The `code` of an error that is not one of ours (Fastify's own 4xx: a malformed body, a wrong content type). */
const CODES: Record<number, string> = {
  400: 'invalid_input',
  401: 'not_authenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** Requests of the REST API (`/api/v1/…`): their errors are JSON with a code, and nobody is sent to sign in. */
export function isApiRequest(request: FastifyRequest): boolean {
  return request.url === '/api/v1' || request.url.startsWith('/api/v1/') || request.url.startsWith('/api/v1?');
}

/**
 * The same typed errors for a git client over smart HTTP (web/routes/git-http.ts, one scope): plain text, which
 * git shows to its user. No or bad credentials → 401 with a Basic challenge (the same whether or not the
 * repository exists); a blocked address → 429; a missing project or one of another organization → 404
 * "Repository not found."; a member's token or role below the bar → 403 with what is needed. A refusal of a
 * signed-in token is recorded as `access.denied` like a page's, its target the repository asked for. Anything
 * else goes on to the app's handler.
 */
export function registerGitErrorHandling(scope: FastifyInstance): void {
  scope.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof TooManyRequestsError) {
      reply.header('retry-after', String(error.retryAfterSeconds));
      return sendPlain(reply, 429, error.message);
    }
    if (error instanceof NotAuthenticatedError) {
      reply.header('www-authenticate', TOKEN_CHALLENGE);
      return sendPlain(reply, 401, 'Authentication required: use a personal access token as the password.');
    }
    if (!(error instanceof NotFoundError || error instanceof ForbiddenError)) throw error;
    const status = error instanceof ForbiddenError ? 403 : 404;
    const params = request.params as { org?: unknown; project?: unknown };
    const db = request.server.denialAuditDb;
    if (db && request.actor?.kind === 'user' && typeof params.org === 'string') {
      auditRefusal(db, request.log, {
        actor: request.actor,
        org: { slug: params.org },
        byPolicy: status === 403 || error instanceof PolicyNotFoundError,
        target: { type: 'repository', id: `/${params.org}/${String(params.project)}.git`.slice(0, 300) },
        status,
        method: request.method,
        requestId: String(request.id),
        ip: request.ip,
      });
    }
    return sendPlain(reply, status, status === 404 ? 'Repository not found.' : error.message);
  });
}

/** A plain-text answer for a git client (git prints it). */
export function sendPlain(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${message}\n`);
}

/** The one "not found" answer: identical whether the thing is missing or hidden from this reader. */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply, secret: Buffer) {
  return sendError(request, reply, secret, 404, NOT_FOUND_MESSAGE);
}

/** Send an anonymous reader to sign in, coming back here afterwards. */
export function redirectToLogin(request: FastifyRequest, reply: FastifyReply) {
  reply.header('cache-control', 'no-store');
  return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
}

async function sendError(request: FastifyRequest, reply: FastifyReply, secret: Buffer, status: number, message: string, error?: unknown, code?: string) {
  // Started, not awaited: the answer leaves after the same work whether or not the refusal is recorded, and stays
  // exactly the one for a thing that does not exist (hidden is missing, in time too).
  if (status === 403 || status === 404) recordRefusal(request, status, error);
  const title = TITLES[status] ?? (status >= 500 ? 'Server error' : 'Error');
  if (isApiRequest(request)) {
    // The REST API's one error shape (docs/api.md): a stable `code` per typed error, never HTML.
    reply.header('cache-control', 'no-store');
    return reply.code(status).send({ error: { code: code ?? CODES[status] ?? 'error', status, message, requestId: String(request.id) } });
  }
  if (wantsJson(request)) {
    reply.header('cache-control', 'no-store');
    return reply.code(status).send({ error: { status, title, message, requestId: request.id } });
  }
  try {
    const ask = status === 404 ? request.server.askForAccessHref : null;
    const askForAccessHref = ask && request.actor?.kind === 'user' && request.method === 'GET' ? await ask(request) : null;
    const body = renderErrorBody({ status, title, message, requestId: String(request.id), askForAccessHref });
    return await sendPage(request, reply, secret, { title, body, status });
  } catch (renderFailure) {
    // The error page itself failed: a fixed page, so no error text ever reaches the client.
    request.log.error({ err: renderFailure, requestId: request.id }, 'error page failed');
    reply.header('cache-control', 'no-store').header('content-type', 'text/html; charset=utf-8');
    return reply.code(status).send(fallbackErrorPage(status, title, String(request.id)));
  }
}

/** The last-resort error page: no template, no data but the status and the request id. */
export function fallbackErrorPage(status: number, title: string, requestId: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · DocuCommit</title></head><body><h1>${escapeHtml(title)}</h1><p>Error ${status}. Request ID: <code>${escapeHtml(requestId)}</code></p></body></html>`;
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

/**
 * `access.denied` for a signed-in user or token refused on a resource of an organization that exists (the one
 * in the route's `:org`, or the one a route noted), when the refusal is the permission policy's; see
 * access/denials.ts for the rule.
 */
function recordRefusal(request: FastifyRequest, status: 403 | 404, error: unknown): void {
  const actor = request.actor;
  const db = request.server.denialAuditDb;
  if (!db || actor?.kind !== 'user') return;
  const note = policyDenialNote(request);
  const slug = (request.params as Record<string, unknown> | undefined)?.org;
  const org = note?.orgId !== undefined ? { id: note.orgId } : typeof slug === 'string' ? { slug } : null;
  if (!org) return;
  auditRefusal(db, request.log, {
    actor,
    org,
    byPolicy:
      note !== undefined ||
      error instanceof PolicyNotFoundError ||
      (status === 403 && error instanceof ForbiddenError && handlerReached.has(request)),
    target: note?.target ?? (error instanceof PolicyNotFoundError ? error.target : undefined) ?? requestedPath(request),
    status,
    method: request.method,
    requestId: String(request.id),
    ip: request.ip,
  });
}

/** Characters outside printable ASCII (and tab): sent raw they are refused by Node or garbled by clients. */
const NOT_HEADER_SAFE = /[^\t\x20-\x7e]/;

/** A Location with its non-ASCII characters percent-encoded, or null when it cannot be (control characters). */
function percentEncodeLocation(location: string): string | null {
  if (/[\0-\x1f\x7f]/.test(location)) return null;
  try {
    return location.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
  } catch {
    return null;
  }
}
