import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, NotAuthenticatedError, TooManyRequestsError } from '../errors.ts';
import { sendPage } from './page.ts';
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

/** Map every error to HTTP in one place: typed errors keep their status and message; anything else is a 500
 *  whose details stay in the server log under the request id. */
export function registerErrorHandling(app: FastifyInstance, secret: Buffer): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof NotAuthenticatedError && request.method === 'GET') return redirectToLogin(request, reply);
    let status: number;
    let message: string;
    if (error instanceof AppError) {
      status = error.status;
      message = error.status === 404 ? NOT_FOUND_MESSAGE : error.message;
      if (error instanceof TooManyRequestsError) reply.header('retry-after', String(error.retryAfterSeconds));
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      message = 'The request could not be understood.';
    } else {
      status = 500;
      message = 'Something went wrong on our side. If it keeps happening, report the request ID below.';
      request.log.error({ err: error, requestId: request.id }, 'request failed');
    }
    return sendError(request, reply, secret, status, message);
  });
  app.setNotFoundHandler({}, async (request, reply) => sendNotFound(request, reply, secret));
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

function sendError(request: FastifyRequest, reply: FastifyReply, secret: Buffer, status: number, message: string) {
  const title = TITLES[status] ?? (status >= 500 ? 'Server error' : 'Error');
  if (wantsJson(request)) {
    reply.header('cache-control', 'no-store');
    return reply.code(status).send({ error: { status, title, message, requestId: request.id } });
  }
  const body = renderErrorBody({ status, title, message, requestId: String(request.id) });
  return sendPage(request, reply, secret, { title, body, status });
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}
