import type { Actor } from '../../access/actor.ts';
import type { EmailCommandDeps } from './deps.ts';
import { requestPasswordReset } from './request-password-reset.ts';
import { emailOptedOut, setEmailPreference } from './set-email-preference.ts';

type Command<I, R> = (deps: EmailCommandDeps, actor: Actor, input: I) => Promise<R>;

const bind =
  <I, R>(deps: EmailCommandDeps, command: Command<I, R>) =>
  (actor: Actor, input: I): Promise<R> =>
    command(deps, actor, input);

/** The email use cases bound to one set of services; `emailOptedOut` is the account page's read. */
export function emailCommands(deps: EmailCommandDeps) {
  return {
    requestPasswordReset: bind(deps, requestPasswordReset),
    setEmailPreference: bind(deps, setEmailPreference),
    emailOptedOut: (userId: string) => emailOptedOut(deps, userId),
  };
}

export type EmailCommands = ReturnType<typeof emailCommands>;
