import type { SessionPending } from '../db/schema.ts';

/** A sign-in step still outstanding, which a pending session waits for. */
export type SignInStep = SessionPending;

/** What is known about a user when one sign-in step is done. */
export interface SignInState {
  /** A TOTP second factor is enrolled. */
  enrolled: boolean;
  /** The second factor was proved in this sign-in. */
  secondFactorDone: boolean;
  /** The password was chosen by someone else and must be replaced before the session grants anything. */
  passwordMustChange: boolean;
  /** An organization of the user requires MFA of their role (account-policy.ts mfaRequiredBy). */
  mfaRequired: boolean;
}

/**
 * The step still outstanding, in order: the second factor when enrolled, then a password someone else chose,
 * then an enrollment an organization requires; null when the user may have a full session.
 */
export function nextSignInStep(state: SignInState): SessionPending | null {
  if (state.enrolled && !state.secondFactorDone) return 'mfa';
  if (state.passwordMustChange) return 'password-change';
  if (!state.enrolled && state.mfaRequired) return 'mfa-enrollment';
  return null;
}
