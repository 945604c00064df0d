import type { Actor } from '../../access/actor.ts';
import { SecurityNotices } from '../../audit/security-notices.ts';
import type { MfaKeys } from '../../config/config.ts';
import type { Db } from '../../db/connection.ts';
import { AccountQueries } from '../account-queries.ts';
import { MfaService, mfaSecretBox } from '../mfa.ts';
import type { SessionStore } from '../sessions.ts';
import { Throttle } from '../throttle.ts';
import { changeEmail } from './change-email.ts';
import { changePassword } from './change-password.ts';
import { chooseFirstPassword } from './choose-first-password.ts';
import { createAccessToken } from './create-access-token.ts';
import type { AuthDeps } from './deps.ts';
import { disableMfa } from './disable-mfa.ts';
import { endOtherSessions } from './end-other-sessions.ts';
import { endSession } from './end-session.ts';
import { enrollMfa } from './enroll-mfa.ts';
import { enrollMfaAtSignIn } from './enroll-mfa-at-sign-in.ts';
import { issuePasswordReset } from './issue-password-reset.ts';
import { reauthenticate } from './reauthenticate.ts';
import { regenerateRecoveryCodes } from './regenerate-recovery-codes.ts';
import { revokeAccessToken } from './revoke-access-token.ts';
import { signIn } from './sign-in.ts';
import { signOut } from './sign-out.ts';
import { usePasswordReset } from './use-password-reset.ts';
import { verifySignInCode } from './verify-sign-in-code.ts';

type Command<I, R> = (deps: AuthDeps, actor: Actor, input: I) => Promise<R>;

/** A command with its dependencies bound: what a route calls, `(actor, input)`. */
const bind =
  <I, R>(deps: AuthDeps, command: Command<I, R>) =>
  (actor: Actor, input: I): Promise<R> =>
    command(deps, actor, input);

/** Every account use case, bound to one set of services. */
export function bindAccountCommands(deps: AuthDeps) {
  return {
    signIn: bind(deps, signIn),
    verifySignInCode: bind(deps, verifySignInCode),
    enrollMfaAtSignIn: bind(deps, enrollMfaAtSignIn),
    chooseFirstPassword: bind(deps, chooseFirstPassword),
    signOut: bind(deps, signOut),
    reauthenticate: bind(deps, reauthenticate),
    changePassword: bind(deps, changePassword),
    changeEmail: bind(deps, changeEmail),
    enrollMfa: bind(deps, enrollMfa),
    disableMfa: bind(deps, disableMfa),
    regenerateRecoveryCodes: bind(deps, regenerateRecoveryCodes),
    createAccessToken: bind(deps, createAccessToken),
    revokeAccessToken: bind(deps, revokeAccessToken),
    endSession: bind(deps, endSession),
    endOtherSessions: bind(deps, endOtherSessions),
    usePasswordReset: bind(deps, usePasswordReset),
    issuePasswordReset: bind(deps, issuePasswordReset),
  };
}

export type AccountCommands = ReturnType<typeof bindAccountCommands>;

/** The account services of one process: the commands routes call and the reads their pages show. */
export interface AccountServices {
  commands: AccountCommands;
  queries: AccountQueries;
}

/** Wire the account services over one database and session store; `now` is the clock of throttling and TOTP (tests). */
export function createAccountServices(db: Db, sessions: SessionStore, mfaKeys: MfaKeys, now: () => number = Date.now): AccountServices {
  const deps: AuthDeps = {
    db,
    sessions,
    mfa: new MfaService(db, mfaSecretBox(mfaKeys), now),
    throttle: new Throttle(db, now),
    notices: new SecurityNotices(db),
  };
  return { commands: bindAccountCommands(deps), queries: new AccountQueries(db, sessions, deps.mfa, deps.notices) };
}
