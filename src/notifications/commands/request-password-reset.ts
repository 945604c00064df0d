import type { Actor } from '../../access/actor.ts';
import { storePasswordReset } from '../../auth/password-resets.ts';
import { withOrg, withUser } from '../../db/connection.ts';
import { enqueueEmail, SECRET_LINK_MARK } from '../email-outbox.ts';
import { addressKey, clientKey, takeRateLimit } from '../rate-limits.ts';
import type { EmailCommandDeps } from './deps.ts';

/** How long a self-service reset link works. */
export const SELF_SERVICE_RESET_LIFETIME_MS = 30 * 60_000;

export interface RequestPasswordResetInput {
  email: string;
  origin: { requestId: string; ip: string };
}

/** `answered`: the same answer whatever happened; `throttled`: this client asked too often (whatever the address). */
export type RequestPasswordResetResult = { kind: 'answered' } | { kind: 'throttled' };

/**
 * "Forgot password?": email a single-use link (only its hash stored, SELF_SERVICE_RESET_LIFETIME_MS) to the
 * account with this address, if there is one that signs in with a password. Anyone may ask (the link goes to the
 * address, not to the asker), so there is nothing to authorize; the answer is the same whether an account exists,
 * and each request counts against its client address and its email address (atomically in the database) before
 * anything is looked up. A new link ends the account's earlier unused ones; a password change ends them all
 * (migration 035's trigger); using one ends every session (password-resets.ts).
 */
export async function requestPasswordReset(deps: EmailCommandDeps, _actor: Actor, input: RequestPasswordResetInput): Promise<RequestPasswordResetResult> {
  const now = deps.now();
  if (!(await takeRateLimit(deps.db, clientKey(deps.keySecret, input.origin.ip), deps.limits.perClient, now))) return { kind: 'throttled' };
  const email = input.email.trim().toLowerCase();
  if (email.length === 0 || email.length > 320 || !email.includes('@')) return { kind: 'answered' };
  if (!(await takeRateLimit(deps.db, addressKey(deps.keySecret, email), deps.limits.perAddress, now))) return { kind: 'answered' };
  const user = await deps.db.selectFrom('users').select(['id', 'password_hash', 'disabled_at']).where('email', '=', email).executeTakeFirst();
  // no account, a disabled one, or one that signs in only with SSO: nothing to send, the same answer
  if (!user || user.disabled_at || !user.password_hash) return { kind: 'answered' };
  const membership = await withUser(deps.db, user.id, (trx) =>
    trx.selectFrom('memberships').select('org_id').where('user_id', '=', user.id).orderBy('created_at').orderBy('org_id').limit(1).executeTakeFirst(),
  );
  if (!membership) return { kind: 'answered' };
  const base = deps.email.baseUrl.replace(/\/+$/, '');
  await withOrg(deps.db, membership.org_id, async (trx) => {
    const reset = await storePasswordReset(trx, { orgId: membership.org_id, userId: user.id, issuedBy: user.id, now, lifetimeMs: SELF_SERVICE_RESET_LIFETIME_MS });
    await enqueueEmail(
      trx,
      {
        userId: user.id,
        kind: 'password_reset',
        subject: 'Reset your DocuCommit password',
        body: [
          `Someone asked to reset the password of the DocuCommit account of this address (from ${input.origin.ip}).`,
          '',
          `To choose a new password, open this link within ${SELF_SERVICE_RESET_LIFETIME_MS / 60_000} minutes. It works once:`,
          '',
          SECRET_LINK_MARK,
          '',
          'If you did not ask for it, ignore this email: your password stays as it is.',
        ].join('\n'),
        secretLink: `${base}/password-reset/${reset.token}`,
        dedupeKey: `reset:${reset.id}`,
      },
      { box: deps.email.box, now },
    );
  });
  return { kind: 'answered' };
}
