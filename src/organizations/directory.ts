import type { Db } from '../db/connection.ts';
import type { Organization } from '../db/schema.ts';
import { findInvitation, pendingInvitations, type InvitationLookup, type PendingInvitation } from './invitations.ts';
import { listMembers, type Member } from './members.ts';
import { findOrganization, organizationNames } from './organizations.ts';
import { mustEnrollAtNextSignIn, readSettings, type OrgSettings } from './settings.ts';
import { readReviewSettings } from './review-settings.ts';
import type { ReviewSettings } from '../changes/approval-rules.ts';

/**
 * Reading organizations, for the web layer: by the slug in an address, names by id, members, pending
 * invitations and settings. Routes hold this service instead of the database handle (src/web/open-resource.ts
 * opens through it); every change goes through a command (commands/).
 */
export class OrganizationDirectory {
  constructor(private readonly db: Db) {}

  /**
   * The organization at `/{slug}`, or null — also for one scheduled for deletion, which is closed: every page of it
   * answers as for an organization that does not exist (organizations/deletion.ts), except its owners' "Export and
   * deletion" page, which asks `includingScheduled`.
   */
  async bySlug(slug: string): Promise<Organization | null> {
    const org = await findOrganization(this.db, slug);
    return org && org.deletion_requested_at === null ? org : null;
  }

  /** The organization at `/{slug}`, scheduled for deletion or not (the owners' "Export and deletion" page). */
  includingScheduled(slug: string): Promise<Organization | null> {
    return findOrganization(this.db, slug);
  }

  /** Slug and name of the organizations with these ids, by name. */
  namesOf(ids: readonly string[]): Promise<{ slug: string; name: string }[]> {
    return organizationNames(this.db, ids);
  }

  /** Every member, owners first, then by name. */
  members(orgId: string): Promise<Member[]> {
    return listMembers(this.db, orgId);
  }

  /** Invitations not yet used, withdrawn or expired. */
  pendingInvitations(orgId: string): Promise<PendingInvitation[]> {
    return pendingInvitations(this.db, orgId);
  }

  /** The invitation behind a link token, or why it cannot be used. */
  invitation(token: string): Promise<InvitationLookup> {
    return findInvitation(this.db, token);
  }

  /** The organization's security settings. */
  settings(orgId: string): Promise<OrgSettings> {
    return readSettings(this.db, orgId);
  }

  /** The organization's review settings in force (per classification: approvals and the lowest role that counts). */
  reviewSettings(orgId: string): Promise<ReviewSettings> {
    return readReviewSettings(this.db, orgId);
  }

  /** Whether these settings make the user enroll in MFA at their next sign-in. */
  mustEnrollAtNextSignIn(settings: OrgSettings, userId: string, role: string): Promise<boolean> {
    return mustEnrollAtNextSignIn(this.db, settings, userId, role);
  }
}
