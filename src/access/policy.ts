import type { Classification } from '../content/types.ts';
import { mayManageAccount } from './account-policy.ts';
import { roleIn, type Actor } from './actor.ts';
import { clearanceCovers } from '../content/classification.ts';
import { roleAtLeast, ROLES, type Role } from './roles.ts';

/**
 * The permission policy: the one place that decides what an actor may do. Routes and services ask `can` or
 * `clearanceFor`; nothing else compares roles.
 *
 * Reading follows classification (DESIGN.md, "Access model"):
 *   public → anyone, no sign-in; internal → any member; confidential → manager and above;
 *   restricted → admin and above.
 */

export type Resource =
  | {
      kind: 'document';
      orgId: string;
      classification: Classification;
      /** With `grants`: the document's project and repository path, to match a live access grant. */
      projectId?: string;
      path?: string;
      /** `grantKey`s of the documents the actor holds a live access grant for (checked per request). */
      grants?: Grants;
    }
  | {
      kind: 'project';
      orgId: string;
      /** For 'clone': the highest classification of any document the repository holds or ever held (clone-clearance.ts). */
      highestClassification?: Classification;
    }
  | { kind: 'organization'; orgId: string }
  /** A pushed branch, for deleting it: owners delete any (but main); its pusher their own (git-http.ts). */
  | { kind: 'branch'; orgId: string }
  /** Who has and has not acknowledged the organization's documents (manager and above). */
  | { kind: 'acknowledgment-status'; orgId: string }
  /** The organization's audit log: reading and exporting it (admin and above). */
  | { kind: 'audit-log'; orgId: string }
  /** The organization's member list: invite, change roles, remove. */
  | { kind: 'members'; orgId: string }
  /** The organization's security settings (require MFA, session lifetimes, access-grant limit): admin and above. */
  | { kind: 'org-settings'; orgId: string }
  /** The organization's single sign-on (identity provider, required SSO, break-glass owner): admin and above. */
  | { kind: 'sso-connection'; orgId: string }
  /**
   * The organization as a whole: exporting all of it ('read': repositories, members, audit log, acknowledgments)
   * and deleting it or cancelling a scheduled deletion ('delete'). Owners only, signed in themselves in a browser
   * (never through an access token); the CLI's operator acts on the server's data without an actor.
   */
  | { kind: 'organization-data'; orgId: string }
  /** The organization's webhooks (endpoints, secrets, delivery log, redelivery): admin and above. */
  | { kind: 'webhooks'; orgId: string }
  /** One membership, for changing or ending it. */
  | { kind: 'membership'; orgId: string; userId: string; role: Role }
  /** A role being handed out (by a role change or an invitation). */
  | { kind: 'role'; orgId: string; role: Role }
  /** An access request; `classification` of its document ('restricted' when none exists at the path). */
  | { kind: 'access_request'; orgId: string; classification?: Classification; requesterId?: string }
  /** A change request, for reviewing it (approving or requesting changes: never its own author) or editing its draft. */
  | { kind: 'change_request'; orgId: string; authorId: string }
  /** One user's own account (password, email, second factor, tokens, sessions): see account-policy.ts. */
  | { kind: 'account'; userId: string }
  /**
   * Acknowledging a document: the person's own statement that they read it, made by themselves, signed in in
   * the browser (never through an access token, never for someone else).
   */
  | { kind: 'acknowledgment'; userId: string }
  /** An invitation, for accepting it signed in: only the account of the address it was sent to. */
  | { kind: 'invitation'; email: string };

/** `attest`: a statement in one's own name about a document (e.g. "reviewed, no changes"): whoever may edit it, signed in themselves, never through an access token. */
export type Action = 'read' | 'list' | 'edit' | 'manage' | 'grant' | 'create' | 'approve' | 'clone' | 'push' | 'declassify' | 'delete' | 'accept' | 'attest';

/**
 * The key of an access grant in `Resource.grants`: a grant opens one document at the classifications it covers
 * (grants.ts liveGrantKeys), so a stricter classification than the one approved finds no key.
 */
export const grantKey = (projectId: string, path: string, classification: Classification): string =>
  `${classification}:${projectId}:${path}`;

/**
 * The live access grants of one actor in one project, as the policy reads them: the `grantKey`s of the documents
 * (at the classifications) they open. Looked up per request (grants.ts liveGrantKeys), never cached.
 */
export type Grants = ReadonlySet<string>;

/** Roles that may hold or manage an organization's members (invite, change roles, remove). */
const MANAGE_MEMBERS_ROLE: Role = 'admin';
/** Roles that create, rename and delete the organization's projects. */
const MANAGE_PROJECTS_ROLE: Role = 'admin';
/** Roles that see and change the organization's security settings. */
const MANAGE_SETTINGS_ROLE: Role = 'admin';

/**
 * The lowest role that approves an access request, by the classification of its document: confidential needs a
 * manager, restricted an admin. A path with no such document (or any other classification) counts as restricted.
 */
const APPROVE_ROLE = { confidential: 'manager', restricted: 'admin' } as const satisfies Record<string, Role>;
const approveRoleFor = (classification: Classification | undefined): Role =>
  classification === 'confidential' ? APPROVE_ROLE.confidential : APPROVE_ROLE.restricted;

/**
 * The roles whose approvals count for a request about a document of `classification` (checked again when the
 * approvals are counted, so an approver who lost the role since no longer counts). The same rule as 'approve'.
 */
export function approverRoles(classification: Classification): Role[] {
  return ROLES.filter((role) => roleAtLeast(role, approveRoleFor(classification)));
}

/** The lowest role that reads each classification (public needs no role at all). */
const READ_ROLE: Record<Exclude<Classification, 'public'>, Role> = {
  internal: 'viewer',
  confidential: 'manager',
  restricted: 'admin',
};

/** The most sensitive classification the actor may read in an organization. */
export function clearanceFor(actor: Actor, orgId: string): Classification {
  const role = roleIn(actor, orgId);
  if (!role) return 'public';
  if (roleAtLeast(role, READ_ROLE.restricted)) return 'restricted';
  if (roleAtLeast(role, READ_ROLE.confidential)) return 'confidential';
  return 'internal';
}

/**
 * Whether the credential the actor came with allows `action` at all: a personal access token does no more than
 * its scopes allow (without 'write' it may only read, list and clone); a browser session is not narrowed. The
 * REST API asks it for writes the role alone would allow (a comment), so a read-only token never writes.
 */
export function credentialAllows(actor: Actor, action: Action): boolean {
  if (actor.kind === 'user' && actor.via?.kind === 'token' && !actor.via.scopes.includes('write')) {
    return action === 'read' || action === 'list' || action === 'clone';
  }
  return true;
}

/** May `actor` perform `action` on `resource`? */
export function can(actor: Actor, action: Action, resource: Resource): boolean {
  if (!credentialAllows(actor, action)) return false;
  if (resource.kind === 'account') return action === 'manage' && mayManageAccount(actor, resource.userId);
  if (resource.kind === 'invitation') return action === 'accept' && actor.kind === 'user' && actor.email === resource.email;
  if (resource.kind === 'acknowledgment') return action === 'create' && actor.kind === 'user' && actor.via === undefined && actor.userId === resource.userId;
  const role = roleIn(actor, resource.orgId);
  switch (resource.kind) {
    case 'document':
      if (action === 'read') {
        if (clearanceCovers(clearanceFor(actor, resource.orgId), resource.classification)) return true;
        // An access grant opens one confidential or restricted document to one member, only while they are
        // still a member and only at the classification it was approved for or a lower one (restricted grants
        // exist only after two approvals: access-requests.ts).
        return (
          role !== null &&
          resource.projectId !== undefined &&
          resource.path !== undefined &&
          resource.grants?.has(grantKey(resource.projectId, resource.path, resource.classification)) === true
        );
      }
      if (action === 'declassify') {
        // Lowering a classification (e.g. in a pushed front matter) widens who reads: manager and above, with clearance.
        return role !== null && roleAtLeast(role, 'manager') && clearanceCovers(clearanceFor(actor, resource.orgId), resource.classification);
      }
      if (action === 'edit' || action === 'attest') {
        // Editing needs clearance itself: an access grant is for reading only.
        if (action === 'attest' && (actor.kind !== 'user' || actor.via !== undefined)) return false;
        return role !== null && roleAtLeast(role, 'member') && clearanceCovers(clearanceFor(actor, resource.orgId), resource.classification);
      }
      return false;
    case 'project':
      // Members see their organization's projects in lists; outsiders reach only public pages by URL.
      if (action === 'list' || action === 'read') return role !== null;
      if (action === 'edit') return role !== null && roleAtLeast(role, 'member');
      // A clone hands out every document and its whole history: clearance must cover the most sensitive one
      // (unknown: restricted). A push needs a token with 'write' (checked above) and the right to edit.
      if (action === 'clone') {
        return role !== null && clearanceCovers(clearanceFor(actor, resource.orgId), resource.highestClassification ?? 'restricted');
      }
      if (action === 'push') return role !== null && roleAtLeast(role, 'member');
      // Creating, renaming, describing and deleting projects: admins and owners.
      if (action === 'create' || action === 'manage') return role !== null && roleAtLeast(role, MANAGE_PROJECTS_ROLE);
      return false;
    case 'organization':
      return action === 'read' && role !== null;
    case 'organization-data':
      return (action === 'read' || action === 'delete') && role !== null && roleAtLeast(role, 'owner') && actor.kind === 'user' && actor.via === undefined;
    case 'branch':
      return action === 'delete' && role !== null && roleAtLeast(role, 'owner');
    case 'audit-log':
      return action === 'read' && role !== null && roleAtLeast(role, 'admin');
    case 'acknowledgment-status':
      return action === 'read' && role !== null && roleAtLeast(role, 'manager');
    case 'org-settings':
      return (action === 'read' || action === 'manage') && role !== null && roleAtLeast(role, MANAGE_SETTINGS_ROLE);
    case 'sso-connection':
      return (action === 'read' || action === 'manage') && role !== null && roleAtLeast(role, MANAGE_SETTINGS_ROLE);
    case 'webhooks':
      return (action === 'read' || action === 'manage') && role !== null && roleAtLeast(role, MANAGE_SETTINGS_ROLE);
    case 'members':
      return (action === 'list' || action === 'manage') && role !== null && roleAtLeast(role, MANAGE_MEMBERS_ROLE);
    case 'membership':
      // Nobody changes or removes themselves here, and nobody touches a member ranked above them.
      return (
        action === 'manage' &&
        role !== null &&
        roleAtLeast(role, MANAGE_MEMBERS_ROLE) &&
        actor.kind === 'user' &&
        actor.userId !== resource.userId &&
        roleAtLeast(role, resource.role)
      );
    case 'role':
      // Owners hand out any role; admins up to admin. (Managers and below never reach the members page.)
      return action === 'grant' && role !== null && roleAtLeast(role, MANAGE_MEMBERS_ROLE) && roleAtLeast(role, resource.role);
    case 'change_request':
      // The author comments on their own change but neither approves nor blocks it. (Reviewing also needs the
      // right to edit the project's documents: 'edit' on the project, asked separately.)
      if (action === 'approve') return role !== null && actor.kind === 'user' && actor.userId !== resource.authorId;
      // Changing its draft (a commit in the browser): its author and any other writer, a person each time (never
      // a reader, nor an author whose role is now read-only). Each document changed needs 'edit' on the
      // document too, asked separately: clearance is checked per document.
      if (action === 'edit') return role !== null && roleAtLeast(role, 'member') && actor.kind === 'user';
      return false;
    case 'access_request':
      if (action === 'create' || action === 'list') return role !== null;
      if (action === 'approve') {
        // Confidential: manager and above; restricted (or no such document): admin and above; never one's own.
        return (
          role !== null &&
          roleAtLeast(role, approveRoleFor(resource.classification)) &&
          actor.kind === 'user' &&
          resource.requesterId !== undefined &&
          actor.userId !== resource.requesterId
        );
      }
      return false;
  }
}
