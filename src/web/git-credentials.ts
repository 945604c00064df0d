/**
 * The credentials of a git request over smart HTTP: a personal access token (HTTP Basic, the token as password),
 * behind the bad-credentials throttle on the client address (token-auth.ts `authenticateByTokenThrottled`). The
 * session cookie is never consulted, so a cross-site form cannot push with a browser's session.
 */
import type { FastifyRequest } from 'fastify';
import type { UserActor } from '../access/actor.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { Throttle } from '../auth/throttle.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { findOrganization } from '../organizations/organizations.ts';
import { authenticateByTokenThrottled } from './token-auth.ts';

interface RepoParams {
  org: string;
  project: string;
}

export class GitCredentials {
  readonly #throttle: Throttle;

  /** `now`: the clock of the throttle (tests move it forward). */
  constructor(
    private readonly db: Db,
    now: () => number = Date.now,
  ) {
    // Bad credentials are counted per client address in the database (every process sees the same numbers).
    this.#throttle = new Throttle(db, now);
  }

  /**
   * The token's actor. Throws NotAuthenticatedError (no, bad or revoked credentials: the same for an existing
   * and a missing repository) or CredentialsThrottledError (the address is blocked, whatever it presents).
   */
  authenticate(request: FastifyRequest<{ Params: RepoParams }>): Promise<UserActor> {
    return authenticateByTokenThrottled(request, this.db, this.#throttle, (retryAfterSeconds) => this.#auditBlock(request, retryAfterSeconds));
  }

  /**
   * A client address just reached the bad-credentials limit: one audit event per block (not per refused
   * request), in the chain of the organization named in the URL when it exists, else the system chain.
   * Never the credential: only the address, the repository path asked for and the wait.
   */
  async #auditBlock(request: FastifyRequest<{ Params: RepoParams }>, retryAfterSeconds: number): Promise<void> {
    const path = `${request.params.org}/${request.params.project}`.slice(0, 200);
    request.log.warn({ requestId: request.id, ip: request.ip, repository: path, retryAfterSeconds }, 'git authentication blocked for this address');
    const org = await findOrganization(this.db, request.params.org).catch(() => null);
    const event = {
      actor: { type: 'anonymous' as const, id: null, label: null },
      action: 'git.auth_throttled',
      target: { type: 'address', id: request.ip },
      reason: 'too many failed git authentications from this address',
      outcome: 'denied' as const,
      requestId: String(request.id),
      ip: request.ip,
      details: { repository: path, retry_after_seconds: retryAfterSeconds },
    };
    if (org) await withOrg(this.db, org.id, (trx) => recordAuditEvent(trx, { ...event, orgId: org.id }));
    else await recordAuditEvent(this.db, { ...event, orgId: null });
  }
}
