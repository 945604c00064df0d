import type { JSX } from 'preact';
import type { Role } from '../../db/schema.ts';
import { Breakable, CopyButton, Flash, FormError, PageSection, PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

export interface MemberRow {
  userId: string;
  name: string;
  email: string;
  role: Role;
  joinedAt: string;
  isSelf: boolean;
  /** Roles the viewer may give this member; empty when they may not change or remove them. */
  assignableRoles: Role[];
}

/** The members page of an organization (admins and owners). */
export interface MembersView {
  csrfToken: string;
  orgSlug: string;
  orgName: string;
  notice: string | null;
  error: string | null;
  members: MemberRow[];
  invitations: { id: string; email: string; role: Role; expiresAt: string }[];
  /** Roles the viewer may invite with. */
  invitableRoles: Role[];
  /** Shown once, right after creating an invitation. */
  newInvitation: { email: string; link: string; expiresAt: string } | null;
  /** Shown once, right after issuing a password-reset link. */
  newPasswordReset: { email: string; link: string; expiresAt: string } | null;
}

const ROLE_LABEL: Record<Role, string> = { owner: 'Owner', admin: 'Admin', manager: 'Manager', member: 'Member', viewer: 'Viewer' };

const day = (iso: string) => new Date(iso).toISOString().slice(0, 10);

function MemberActions({ row, view, base }: { row: MemberRow; view: MembersView; base: string }): JSX.Element {
  if (row.isSelf) return <span class="cell-sub">You</span>;
  if (row.assignableRoles.length === 0) return <span class="cell-sub">—</span>;
  const id = row.userId;
  return (
    <div class="member-actions">
      <form class="inline-form" method="post" action={`${base}/${id}/role`}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <label class="visually-hidden" for={`role-${id}`}>{`Role of ${row.name}`}</label>
        <select id={`role-${id}`} name="role">
          {row.assignableRoles.map((role) => (
            <option value={role} selected={role === row.role}>
              {ROLE_LABEL[role]}
            </option>
          ))}
        </select>
        <button type="submit" class="button button-small">
          Change role
        </button>
      </form>
      <form class="inline-form" method="post" action={`${base}/${id}/password-reset`}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <button type="submit" class="button button-quiet button-small">
          Reset password
        </button>
      </form>
      <form class="inline-form" method="post" action={`${base}/${id}/remove`}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <button type="submit" class="button button-quiet button-small button-danger">
          Remove
        </button>
      </form>
    </div>
  );
}

function Members({ view }: { view: MembersView }): JSX.Element {
  const base = `/${encodeURIComponent(view.orgSlug)}/-/members`;
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Members</h1>
        <p class="page-lead">
          Who belongs to {view.orgName} and with which role. Role changes and removals take effect on the member's
          next request.
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      <FormError>{view.error}</FormError>
      {view.newInvitation ? (
        <div class="invite-link" role="status">
          <p>
            <strong>Invitation for {view.newInvitation.email}.</strong> Send them this link yourself — it is shown only
            once, works once, and expires on {day(view.newInvitation.expiresAt)}.
          </p>
          <div class="copy-row">
            <input id="invite-link" class="invite-link-value" readOnly value={view.newInvitation.link} aria-label="Invitation link" />
            <CopyButton target="invite-link" label="Copy link" />
          </div>
        </div>
      ) : null}
      {view.newPasswordReset ? (
        <div class="invite-link" role="status">
          <p>
            <strong>Password-reset link for {view.newPasswordReset.email}.</strong> Give it to them yourself — it is
            shown only once, works once, expires at {view.newPasswordReset.expiresAt.slice(0, 16).replace('T', ' ')} UTC
            and signs them out everywhere when used.
          </p>
          <input class="invite-link-value" readOnly value={view.newPasswordReset.link} aria-label="Password-reset link" />
        </div>
      ) : null}
      <PageSection id="members" title={`${view.members.length} member${view.members.length === 1 ? '' : 's'}`}>
        <div class="table-wrap">
          <table class="data-table members-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {view.members.map((row) => (
                <tr data-user-id={row.userId}>
                  <td class="member-name">{row.name}</td>
                  <td class="member-email">
                    <Breakable text={row.email} />
                  </td>
                  <td>
                    <span class={`role role-${row.role}`}>{ROLE_LABEL[row.role]}</span>
                  </td>
                  <td>
                    <time dateTime={row.joinedAt}>{day(row.joinedAt)}</time>
                  </td>
                  <td>
                    <MemberActions row={row} view={view} base={base} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </PageSection>
      <PageSection id="invite" title="Invite someone">
        <form class="inline-form invite-form" method="post" action={`/${encodeURIComponent(view.orgSlug)}/-/invitations`}>
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <div class="field">
            <label for="invite-email">Email</label>
            <input id="invite-email" name="email" type="email" required autocomplete="off" />
          </div>
          <div class="field">
            <label for="invite-role">Role</label>
            <select id="invite-role" name="role">
              {view.invitableRoles.map((role) => (
                <option value={role} selected={role === 'member'}>
                  {ROLE_LABEL[role]}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="button button-primary">
            Create invitation link
          </button>
        </form>
        {view.invitations.length > 0 ? (
          <ul class="invitation-list" aria-label="Open invitations">
            {view.invitations.map((inv) => (
              <li>
                <span>
                  {inv.email} · {ROLE_LABEL[inv.role]} · expires {day(inv.expiresAt)}
                </span>
                <form class="inline-form" method="post" action={`/${encodeURIComponent(view.orgSlug)}/-/invitations/${inv.id}/revoke`}>
                  <input type="hidden" name="_csrf" value={view.csrfToken} />
                  <button type="submit" class="button button-quiet button-small">
                    Withdraw
                  </button>
                </form>
              </li>
            ))}
          </ul>
        ) : null}
      </PageSection>
    </PlainLayout>
  );
}

/** The members page. */
export function renderMembersBody(view: MembersView): TrustedHtml {
  return toHtml(<Members view={view} />);
}

/** The page an invitation link opens. */
export type InvitationView =
  | { state: 'unusable'; message: string }
  | { state: 'join'; csrfToken: string; token: string; orgName: string; role: Role; email: string }
  | { state: 'wrong-account'; orgName: string; email: string }
  | { state: 'sign-in'; orgName: string; email: string; next: string }
  | { state: 'create'; csrfToken: string; token: string; orgName: string; role: Role; email: string; name: string; error: string | null };

function Invitation({ view }: { view: InvitationView }): JSX.Element {
  if (view.state === 'unusable') {
    return (
      <div class="panel">
        <h1 class="panel-title">Invitation not valid</h1>
        <p class="panel-lead">{view.message}</p>
        <a class="button" href="/">
          Go to the home page
        </a>
      </div>
    );
  }
  if (view.state === 'wrong-account') {
    return (
      <div class="panel">
        <h1 class="panel-title">Join {view.orgName}</h1>
        <p class="panel-lead">
          This invitation is for {view.email}. Sign out, then open the link again and sign in with that address.
        </p>
      </div>
    );
  }
  if (view.state === 'sign-in') {
    return (
      <div class="panel">
        <h1 class="panel-title">Join {view.orgName}</h1>
        <p class="panel-lead">{view.email} already has an account. Sign in to accept the invitation.</p>
        <a class="button button-primary button-block" href={`/login?next=${encodeURIComponent(view.next)}`}>
          Sign in
        </a>
      </div>
    );
  }
  const action = `/invite/${view.token}`;
  if (view.state === 'join') {
    return (
      <div class="panel">
        <h1 class="panel-title">Join {view.orgName}</h1>
        <p class="panel-lead">
          You are invited as {ROLE_LABEL[view.role].toLowerCase()} ({view.email}).
        </p>
        <form class="form" method="post" action={action}>
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <button type="submit" class="button button-primary button-block">
            Accept invitation
          </button>
        </form>
      </div>
    );
  }
  return (
    <div class="panel">
      <h1 class="panel-title">Join {view.orgName}</h1>
      <p class="panel-lead">
        Create your account for {view.email} ({ROLE_LABEL[view.role].toLowerCase()}).
      </p>
      <div class="form-error" role="alert">
        {view.error}
      </div>
      <form class="form" method="post" action={action}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <div class="field">
          <label for="invite-name">Your name</label>
          <input id="invite-name" name="name" required maxLength={100} autocomplete="name" value={view.name} />
        </div>
        <div class="field">
          <label for="invite-password">Password</label>
          <input
            id="invite-password"
            name="password"
            type="password"
            required
            minLength={12}
            maxLength={128}
            autocomplete="new-password"
            aria-describedby="invite-password-hint"
          />
          <p class="field-hint" id="invite-password-hint">
            12 to 128 characters. A few unrelated words make a good one.
          </p>
        </div>
        <button type="submit" class="button button-primary button-block">
          Create account and join
        </button>
      </form>
    </div>
  );
}

/** The invitation accept page. */
export function renderInvitationBody(view: InvitationView): TrustedHtml {
  return toHtml(
    <PlainLayout width="narrow">
      <Invitation view={view} />
    </PlainLayout>,
  );
}
