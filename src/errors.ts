/**
 * Typed errors, one per category. Services throw these; `web/error-handler.ts` maps them to HTTP in one place
 * and the CLI maps them to exit codes. Messages are safe to show to the person who caused them.
 */
export class AppError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request or input is malformed (HTTP 400). */
export class InvalidInputError extends AppError {
  constructor(message: string, readonly details: unknown[] = []) {
    super(message, 400, 'invalid_input');
  }
}

/** A list's `cursor` that was not handed out for this list, reader and filters, or was altered (HTTP 400). */
export class InvalidCursorError extends AppError {
  constructor(message = 'The cursor is not valid for this list. Start again without one.') {
    super(message, 400, 'invalid_cursor');
  }
}

/** No valid credentials were presented (HTTP 401). */
export class NotAuthenticatedError extends AppError {
  constructor(message = 'Sign in to continue.') {
    super(message, 401, 'not_authenticated');
  }
}

/**
 * A browser page that needs a signed-in person (src/web/open-resource.ts): answered, whatever the method, by a
 * redirect to the sign-in page that comes back to the address afterwards.
 */
export class SignInRequiredError extends NotAuthenticatedError {}

/** The actor is known but may not do this (HTTP 403). Use NotFoundError when existence itself is secret. */
export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do that.') {
    super(message, 403, 'forbidden');
  }
}

/** The thing does not exist, or the actor may not know that it does (HTTP 404). */
export class NotFoundError extends AppError {
  constructor(message = 'Not found.') {
    super(message, 404, 'not_found');
  }
}

/** The change conflicts with the current state (HTTP 409). */
export class ConflictError extends AppError {
  constructor(message: string) {
    super(message, 409, 'conflict');
  }
}

/** Too many attempts (HTTP 429). */
export class TooManyRequestsError extends AppError {
  constructor(message = 'Too many attempts. Try again later.', readonly retryAfterSeconds = 60) {
    super(message, 429, 'too_many_requests');
  }
}

/** A dependency (database, git) is unavailable (HTTP 503). */
export class UnavailableError extends AppError {
  constructor(message = 'Service temporarily unavailable.') {
    super(message, 503, 'unavailable');
  }
}
