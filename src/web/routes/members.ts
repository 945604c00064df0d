import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UserActor } from '../../access/actor.ts';
import { can } from '../../access/policy.ts';
import { ROLES } from '../../access/roles.ts';
import { ensureRecentAuth } from '../../auth/reauth.ts';
import { SESSION_ABSOLUTE_MS } from '../../auth/sessions.ts';
import { AppError, InvalidInputError } from '../../errors.ts';
import type { OrganizationCommands } from '../../organizations/commands/index.ts';
import type { OrganizationDirectory } from '../../organizations/directory.ts';
import { InvitationUnusableError } from '../../organizations/invitations.ts';
import type { Organization } from '../../organizations/organizations.ts';
import { cookieNames, setCookie } from '../cookies.ts';
import { loginCsrfToken, sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { renderInvitationBody, renderMembersBody, type InvitationView, type MembersView } from '../views/members.tsx';

interface Deps {
  open: ResourceOpener;
  organizations: OrganizationDirectory;
  commands: OrganizationCommands;
  secret: Buffer;
  secure: boolean;
  publicUrl: string | null;
}

const NOTICES: Record<string, string> = {
  role: 'Role changed. It applies from the member’s next request.',
  removed: 'Member removed. Their access to this organization ended at once.',
  withdrawn: 'Invitation withdrawn.',
};

/** Only the role field is read from a role-change form; any other field (an organization id, say) is ignored. */
const roleForm = z.object({ role: z.string().max(20) });
const inviteForm = z.object({ email: z.string().max(320), role: z.string().max(20) });
const acceptForm = z.object({ name: z.string().max(400).default(''), password: z.string().max(1024).default('') });

/** The members page (admins and owners) and the invitation links it hands out. */
export function registerMemberRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, organizations, commands, secret, secure, publicUrl } = deps;

  async function sendMembers(
    request: FastifyRequest,
    reply: FastifyReply,
    org: Organization,
    actor: UserActor,
    extra: Partial<Pick<MembersView, 'notice' | 'error' | 'newInvitation' | 'newPasswordReset'>> = {},
    status = 200,
  ) {
    const [members, invitations] = await Promise.all([organizations.members(org.id), organizations.pendingInvitations(org.id)]);
    const grantable = ROLES.filter((role) => can(actor, 'grant', { kind: 'role', orgId: org.id, role })).reverse();
    const body = renderMembersBody({
      csrfToken: sessionCsrfToken(secret, request.session!.idHash),
      orgSlug: org.slug,
      orgName: org.name,
      notice: extra.notice ?? null,
      error: extra.error ?? null,
      newInvitation: extra.newInvitation ?? null,
      newPasswordReset: extra.newPasswordReset ?? null,
      members: members.map((m) => ({
        userId: m.userId,
        name: m.name,
        email: m.email,
        role: m.role,
        joinedAt: m.joinedAt.toISOString(),
        isSelf: m.userId === actor.userId,
        assignableRoles: can(actor, 'manage', { kind: 'membership', orgId: org.id, userId: m.userId, role: m.role }) ? grantable : [],
      })),
      invitations: invitations.map((i) => ({ id: i.id, email: i.email, role: i.role, expiresAt: i.expiresAt.toISOString() })),
      invitableRoles: grantable,
    });
    return sendPage(request, reply, secret, { title: `Members · ${org.name}`, body, status });
  }

  const membersUrl = (org: Organization) => `/${encodeURIComponent(org.slug)}/-/members`;

  app.get<{ Params: { org: string }; Querystring: { done?: string } }>(
    '/:org/-/members',
    { config: { access: 'policy' } },
    async (request, reply) => {
      // The page itself is hidden (404) from everyone but admins and owners.
      const ctx = await open.organization(request, 'list', 'members');
      return sendMembers(request, reply, ctx.org, ctx.actor, { notice: NOTICES[request.query.done ?? ''] ?? null });
    },
  );

  app.post<{ Params: { org: string; userId: string } }>(
    '/:org/-/members/:userId/role',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const ctx = await open.organization(request, 'read', 'organization');
      const form = roleForm.safeParse(request.body ?? {});
      if (!form.success) throw new InvalidInputError('Choose one of the roles.');
      // Changing roles needs a recent password (and TOTP) confirmation; the form is resubmitted afterwards.
      if (!ensureRecentAuth(request, reply, membersUrl(ctx.org))) return reply;
      await commands.changeRole(ctx.actor, { orgId: ctx.org.id, userId: request.params.userId, role: form.data.role });
      return reply.redirect(`${membersUrl(ctx.org)}?done=role`, 303);
    },
  );

  app.post<{ Params: { org: string; userId: string } }>(
    '/:org/-/members/:userId/remove',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const ctx = await open.organization(request, 'read', 'organization');
      await commands.removeMember(ctx.actor, { orgId: ctx.org.id, userId: request.params.userId });
      return reply.redirect(`${membersUrl(ctx.org)}?done=removed`, 303);
    },
  );

  app.post<{ Params: { org: string; userId: string } }>(
    '/:org/-/members/:userId/password-reset',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const ctx = await open.organization(request, 'read', 'organization');
      // Like a role change: a recent password (and TOTP) confirmation first; the form is resubmitted afterwards.
      if (!ensureRecentAuth(request, reply, membersUrl(ctx.org))) return reply;
      const { token, expiresAt, email } = await commands.issuePasswordReset(ctx.actor, {
        orgId: ctx.org.id,
        userId: request.params.userId,
        requestId: request.id,
        ip: request.ip,
      });
      const origin = (publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, '');
      // Shown in this response only (not a redirect), like an invitation link.
      reply.header('cache-control', 'no-store');
      return sendMembers(request, reply, ctx.org, ctx.actor, {
        newPasswordReset: { email, link: `${origin}/password-reset/${token}`, expiresAt: expiresAt.toISOString() },
      });
    },
  );

  app.post<{ Params: { org: string } }>('/:org/-/invitations', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await open.organization(request, 'read', 'organization');
    const form = inviteForm.safeParse(request.body ?? {});
    if (!form.success) throw new InvalidInputError('Enter an email address and a role.');
    try {
      const { token, email, expiresAt } = await commands.createInvitation(ctx.actor, { orgId: ctx.org.id, ...form.data });
      const origin = publicUrl ?? `${request.protocol}://${request.host}`;
      // Shown in this response only (not a redirect): the link never lands in a URL or the browser history.
      return sendMembers(request, reply, ctx.org, ctx.actor, {
        newInvitation: { email, link: `${origin.replace(/\/$/, '')}/invite/${token}`, expiresAt: expiresAt.toISOString() },
      });
    } catch (error) {
      if (error instanceof AppError && error.status !== 403 && error.status !== 404) {
        return sendMembers(request, reply, ctx.org, ctx.actor, { error: error.message }, error.status);
      }
      throw error;
    }
  });

  app.post<{ Params: { org: string; id: string } }>(
    '/:org/-/invitations/:id/revoke',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const ctx = await open.organization(request, 'read', 'organization');
      await commands.withdrawInvitation(ctx.actor, { orgId: ctx.org.id, invitationId: request.params.id });
      return reply.redirect(`${membersUrl(ctx.org)}?done=withdrawn`, 303);
    },
  );

  // The invitation link: open to anyone holding it (the token is the credential), signed in or not.
  app.get<{ Params: { token: string } }>('/invite/:token', { config: { access: 'public' } }, async (request, reply) => {
    return sendInvitation(request, reply, request.params.token, { name: '', error: null });
  });

  app.post<{ Params: { token: string } }>(
    '/invite/:token',
    { config: { access: 'public', csrf: 'signed-out-form' } },
    async (request, reply) => {
      const token = request.params.token;
      const actor = request.actor;
      const form = acceptForm.safeParse(request.body ?? {});
      if (!form.success) throw new InvalidInputError('The form could not be read.');
      try {
        const accepted = await commands.acceptInvitation(actor, { token, ...form.data, requestId: request.id, ip: request.ip });
        if (accepted.kind === 'joined') return reply.redirect(accepted.orgSlug ? `/#${encodeURIComponent(accepted.orgSlug)}` : '/', 303);
        const id = accepted.sessionId;
        setCookie(reply, cookieNames(secure).session, id, { secure, sameSite: 'lax', maxAgeSeconds: SESSION_ABSOLUTE_MS / 1000 });
        reply.header('cache-control', 'no-store');
        return reply.redirect('/', 303);
      } catch (error) {
        if (error instanceof InvalidInputError) {
          return sendInvitation(request, reply, token, { name: form.data.name, error: error.message }, 400);
        }
        if (error instanceof InvitationUnusableError) {
          return sendPage(request, reply, secret, {
            title: 'Invitation not valid',
            body: renderInvitationBody({ state: 'unusable', message: error.message }),
            status: error.status,
          });
        }
        throw error;
      }
    },
  );

  async function sendInvitation(
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
    values: { name: string; error: string | null },
    status = 200,
  ) {
    const found = await organizations.invitation(token);
    // The token is in this page's address: no Referer ever carries the path (not even to this site), yet the
    // form's POST still carries this site's Origin, which `no-referrer` would turn into `Origin: null`.
    reply.header('referrer-policy', 'strict-origin');
    let view: InvitationView;
    if (found.state !== 'valid') {
      view = { state: 'unusable', message: new InvitationUnusableError(found.state).message };
      status = 410;
    } else if (request.actor.kind === 'user') {
      view =
        request.actor.email === found.email
          ? { state: 'join', csrfToken: loginCsrfToken(request, reply, secret, secure), token, orgName: found.orgName, role: found.role, email: found.email }
          : { state: 'wrong-account', orgName: found.orgName, email: found.email };
    } else if (found.accountExists) {
      view = { state: 'sign-in', orgName: found.orgName, email: found.email, next: `/invite/${token}` };
    } else {
      view = {
        state: 'create',
        csrfToken: loginCsrfToken(request, reply, secret, secure),
        token,
        orgName: found.orgName,
        role: found.role,
        email: found.email,
        ...values,
      };
    }
    return sendPage(request, reply, secret, { title: 'Invitation', body: renderInvitationBody(view), status });
  }
}
