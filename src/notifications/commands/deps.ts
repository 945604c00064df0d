import type { Db } from '../../db/connection.ts';
import type { EmailNotifications } from '../email-notifications.ts';
import type { RateLimit } from '../rate-limits.ts';

/** Limits of self-service password-reset requests. */
export interface PasswordResetLimits {
  perClient: RateLimit;
  perAddress: RateLimit;
}

/** Default: 3 emails an hour to one address, 20 requests an hour from one client address. */
export const DEFAULT_PASSWORD_RESET_LIMITS: PasswordResetLimits = {
  perClient: { limit: 20, windowMs: 3600_000 },
  perAddress: { limit: 3, windowMs: 3600_000 },
};

/** What the email use cases (src/notifications/commands/*) work with. */
export interface EmailCommandDeps {
  db: Db;
  email: EmailNotifications;
  limits: PasswordResetLimits;
  /** The instance's HMAC key (config.secret): rate-limit keys are keyed hashes of addresses. */
  keySecret: Buffer;
  now: () => number;
}
