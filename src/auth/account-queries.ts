import type { SecurityActivity, SecurityNotices } from '../audit/security-notices.ts';
import type { Db } from '../db/connection.ts';
import type { SessionPending } from '../db/schema.ts';
import { membershipsOf, type AccountMembership } from './account-overview.ts';
import { pendingSession } from './commands/issue-sign-in-session.ts';
import type { MfaService } from './mfa.ts';
import { findPasswordReset, type PasswordResetLookup } from './password-resets.ts';
import type { Session, SessionStore } from './sessions.ts';
import { reauthenticationMethods, type ReauthenticationProvider } from './sso/reauthentication-options.ts';
import { listTokens, type TokenSummary } from './tokens.ts';

/**
 * What the sign-in and account pages read, so routes hold no database handle. Nothing here changes what a user
 * can do; the changes are the commands in ./commands/.
 */
export class AccountQueries {
  constructor(
    private readonly db: Db,
    private readonly sessions: SessionStore,
    private readonly mfa: MfaService,
    private readonly notices: SecurityNotices,
  ) {}

  /** The pending session a cookie names if it waits for `step`, else null. */
  pendingSignIn(sessionId: string | undefined, step: SessionPending): Promise<Session | null> {
    return pendingSession(this.sessions, sessionId, step);
  }

  /** How the person can confirm it is them (reauth.ts): their password, if they have one, and linked identity providers. */
  reauthenticationMethods(userId: string): Promise<{ password: boolean; providers: ReauthenticationProvider[] }> {
    return reauthenticationMethods(this.db, userId);
  }

  isMfaEnrolled(userId: string): Promise<boolean> {
    return this.mfa.isEnrolled(userId);
  }

  mfaStatus(userId: string): Promise<{ enrolled: boolean; enrolledAt: Date | null; recoveryCodesLeft: number }> {
    return this.mfa.status(userId);
  }

  /** The TOTP key being enrolled (the one already offered, so a reload shows the same QR code, or a new one). */
  enrollmentKey(userId: string): Promise<Buffer> {
    return this.mfa.enrollmentKey(userId);
  }

  findPasswordReset(token: string): Promise<PasswordResetLookup> {
    return findPasswordReset(this.db, token);
  }

  memberships(userId: string): Promise<AccountMembership[]> {
    return membershipsOf(this.db, userId);
  }

  liveSessions(userId: string): Promise<{ idHash: string; createdAt: number; lastSeenAt: number; expiresAt: number }[]> {
    return this.sessions.listFor(userId);
  }

  tokens(userId: string): Promise<TokenSummary[]> {
    return listTokens(this.db, userId);
  }

  securityActivity(userId: string): Promise<SecurityActivity> {
    return this.notices.activity(userId);
  }

  /** The top bar's dot: security events since the session started that the user has not looked at. */
  hasUnseenSecurityEvents(userId: string, sessionStart: number): Promise<boolean> {
    return this.notices.hasUnseen(userId, sessionStart);
  }

  /** The user viewed their security events: nothing up to now is new any more. */
  markSecurityEventsSeen(userId: string): Promise<void> {
    return this.notices.markSeen(userId);
  }
}
