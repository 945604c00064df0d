/**
 * Which links a page shows, asked of the permission policy: routes and page builders pass these flags to the
 * views, and no view compares roles. A link shown is no permission in itself (its page asks the policy again);
 * a link hidden is one to a page that would answer 404.
 */
import type { Actor } from './actor.ts';
import { can, clearanceFor } from './policy.ts';

/** The links of a project's pages. */
export interface ProjectLinks {
  /** "Request access": members whose clearance hides some classification (below restricted) may ask for it. */
  requestAccess: boolean;
  /** "Project settings": those who manage the organization's projects. */
  projectSettings: boolean;
}

export function projectLinks(actor: Actor, orgId: string): ProjectLinks {
  return {
    requestAccess: can(actor, 'list', { kind: 'access_request', orgId }) && clearanceFor(actor, orgId) !== 'restricted',
    projectSettings: can(actor, 'manage', { kind: 'project', orgId }),
  };
}

/** The admin links of an organization (the account page lists them per organization). */
export interface OrganizationLinks {
  members: boolean;
  auditLog: boolean;
  settings: boolean;
}

export function organizationLinks(actor: Actor, orgId: string): OrganizationLinks {
  return {
    members: can(actor, 'list', { kind: 'members', orgId }),
    auditLog: can(actor, 'read', { kind: 'audit-log', orgId }),
    settings: can(actor, 'read', { kind: 'org-settings', orgId }),
  };
}
