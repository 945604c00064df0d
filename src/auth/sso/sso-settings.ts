import type { UserActor } from '../../access/actor.ts';
import type { Db } from '../../db/connection.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import type { SecretBox } from '../secret-box.ts';
import { ownersOf, readConnection, saveConnection, type SsoConnection, type SsoSettingsInput } from './connection-settings.ts';

/** The SSO settings page's use cases, for one database and key box (routes hold no database handle). */
export class SsoSettings {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** The organization of a slug (id, slug, name), or null. */
  async organization(slug: string): Promise<{ id: string; slug: string; name: string } | null> {
    const org = await findOrganization(this.db, slug);
    return org ? { id: org.id, slug: org.slug, name: org.name } : null;
  }

  /** The organization's connection, or null when none was set up. */
  connection(orgId: string): Promise<SsoConnection | null> {
    return readConnection(this.db, orgId);
  }

  /** The owners, for choosing the break-glass owner. */
  owners(orgId: string): Promise<{ userId: string; email: string; name: string }[]> {
    return ownersOf(this.db, orgId);
  }

  /** Save (authorized inside, on the role the database holds now); the names of changed fields. */
  save(actor: UserActor, orgId: string, input: SsoSettingsInput, audit: { requestId: string; ip: string }): Promise<string[]> {
    return saveConnection(this.db, this.box, actor, orgId, input, audit);
  }
}
