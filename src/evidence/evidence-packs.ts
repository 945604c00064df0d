import type { Writable } from 'node:stream';
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { NotFoundError } from '../errors.ts';
import { findOrganization } from '../organizations/organizations.ts';
import { listOrganizationProjects } from '../projects/projects.ts';
import { policyRegister, startEvidencePack, type EvidenceDeps, type EvidenceSummary, type PolicyRegister } from './evidence-pack.ts';
import { publicKeyFingerprint, publicKeyOf } from './signing-key.ts';

/** The evidence page's service: what an admin may export, the download itself, and the public key. */
export class EvidencePacks {
  constructor(private readonly deps: EvidenceDeps) {}

  /** The projects an admin or owner may export from, and the organization's key fingerprint (null: none yet). */
  async overview(actor: UserActor, orgId: string): Promise<{ projects: { slug: string; name: string }[]; fingerprint: string | null }> {
    authorize(actor, 'read', { kind: 'audit-log', orgId }, { hidden: true });
    const projects = (await listOrganizationProjects(this.deps.db, orgId)).map((p) => ({ slug: p.slug, name: p.name }));
    const key = await publicKeyOf(this.deps.db, orgId);
    return { projects, fingerprint: key ? publicKeyFingerprint(key) : null };
  }

  /**
   * Check and record an export (see evidence-pack.ts startEvidencePack); invalid dates or an unknown project throw
   * before anything is recorded. The returned function streams the pack into `out`.
   */
  async start(
    actor: UserActor,
    org: { id: string; slug: string; name: string },
    input: { from: string; to: string; projectSlug: string | null },
    context: { requestId: string; ip: string },
  ): Promise<(out: Writable) => Promise<EvidenceSummary>> {
    const pack = await startEvidencePack(this.deps, { org, reader: actor, ...input, ...context });
    return (out) => pack.write(out);
  }

  /**
   * The policy register of a period (its PDF): the pack's checks and rows, recorded as `evidence.register_exported`
   * before it is read. Invalid dates or an unknown project throw before anything is recorded.
   */
  async register(
    actor: UserActor,
    org: { id: string; slug: string; name: string },
    input: { from: string; to: string; projectSlug: string | null },
    context: { requestId: string; ip: string },
  ): Promise<PolicyRegister> {
    return policyRegister(this.deps, { org, reader: actor, ...input, ...context });
  }

  /** The public key (SPKI PEM) of an organization that has signed a pack; NotFoundError otherwise (as for none). */
  async publicKey(orgSlug: string): Promise<string> {
    const org = await findOrganization(this.deps.db, orgSlug);
    // an organization scheduled for deletion answers as one that does not exist (organizations/deletion.ts)
    const key = org && org.deletion_requested_at === null ? await publicKeyOf(this.deps.db, org.id) : null;
    if (!key) throw new NotFoundError();
    return key;
  }
}
