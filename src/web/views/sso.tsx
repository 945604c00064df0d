import type { JSX } from 'preact';
import { Flash, FormError, PlainLayout } from './components.tsx';
import { PanelPage } from './form-parts.tsx';
import { SignInFrame } from './login.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** The first step of single sign-on: which organization's identity provider to use. */
export interface SsoStartView {
  csrfToken: string;
  org: string;
  next: string;
  error: string | null;
}

function SsoStart({ view }: { view: SsoStartView }): JSX.Element {
  const invalid = view.error !== null;
  return (
    <SignInFrame
      title="Sign in with SSO"
      lead="Your organization’s identity provider signs you in. Enter the organization’s short name, as in its addresses."
      errorId="sso-error"
      error={view.error}
      other={{ href: `/login?next=${encodeURIComponent(view.next)}`, label: 'Sign in with a password instead' }}
    >
      <form class="form" method="post" action="/login/sso">
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <input type="hidden" name="next" value={view.next} />
        <div class="field">
          <label for="sso-org">Organization</label>
          <input
            id="sso-org"
            name="org"
            type="text"
            required
            maxLength={100}
            autocomplete="organization"
            autocapitalize="none"
            spellcheck={false}
            value={view.org}
            aria-invalid={invalid ? 'true' : undefined}
            aria-describedby={invalid ? 'sso-error' : undefined}
          />
        </div>
        <button type="submit" class="button button-primary button-block">
          Continue
        </button>
      </form>
    </SignInFrame>
  );
}

/** The SSO start page (POST /login/sso sends the browser to the identity provider). */
export function renderSsoStartBody(view: SsoStartView): TrustedHtml {
  return toHtml(<SsoStart view={view} />);
}

/** On the way to the identity provider (the Refresh header goes there at once; the link without it). */
export function renderSsoContinueBody(view: { href: string; host: string; purpose?: 'sign-in' | 'reauthentication' }): TrustedHtml {
  return toHtml(
    <PanelPage
      width="narrow"
      title="Continue to your identity provider"
      lead={<>You are being sent to {view.host} {view.purpose === 'reauthentication' ? 'to sign in again and confirm it’s you' : 'to sign in'}.</>}
    >
      <a class="button button-primary button-block" id="sso-continue" href={view.href}>
        Continue to {view.host}
      </a>
    </PanelPage>,
  );
}

/** Why a re-authentication through the identity provider did not work, with the way back (`retry`: /-/reauth?next=…). */
export function renderSsoReauthRefusedBody(view: { message: string; retry: string }): TrustedHtml {
  return toHtml(
    <PlainLayout width="narrow">
      <div class="panel">
        <h1 class="panel-title">Your identity was not confirmed</h1>
        <div class="form-error" role="alert" id="sso-reauth-error">
          {view.message}
        </div>
        <div class="form-actions">
          <a class="button button-primary" href={view.retry}>
            Start again
          </a>
          <a class="button button-quiet" href="/-/account/security">
            Cancel
          </a>
        </div>
      </div>
    </PlainLayout>,
  );
}

/** Why a single sign-on did not work, with the way back. */
export function renderSsoRefusedBody(view: { message: string; org: string | null; next: string }): TrustedHtml {
  const again = `/login/sso?next=${encodeURIComponent(view.next)}${view.org ? `&org=${encodeURIComponent(view.org)}` : ''}`;
  return toHtml(
    <PanelPage width="narrow" title="Single sign-on did not work">
      <div class="form-error" role="alert">
        {view.message}
      </div>
      <div class="form-actions">
        <a class="button button-primary" href={again}>
          Start again
        </a>
        <a class="button button-quiet" href={`/login?next=${encodeURIComponent(view.next)}`}>
          Sign in with a password
        </a>
      </div>
    </PanelPage>,
  );
}

/** The organization's single sign-on settings (admins and owners). */
export interface SsoSettingsView {
  csrfToken: string;
  orgSlug: string;
  orgName: string;
  /** Where the identity provider must send people back (register it there). */
  redirectUri: string;
  values: {
    enabled: string;
    issuer: string;
    client_id: string;
    allowed_domains: string;
    role_claim: string;
    role_mapping: string;
    default_role: string;
    require_sso: string;
    break_glass_user_id: string;
  };
  /** A client secret is stored (the field may stay empty to keep it). It is never shown. */
  hasSecret: boolean;
  owners: { userId: string; email: string; name: string }[];
  roles: readonly string[];
  notice: string | null;
  error: string | null;
  fieldErrors: Partial<Record<string, string>>;
  recentlyAuthenticated: boolean;
}

function FieldError({ id, text }: { id: string; text: string | undefined }): JSX.Element | null {
  return text ? (
    <p class="form-error" id={id} role="alert">
      {text}
    </p>
  ) : null;
}

function describedBy(id: string, error: string | undefined, hint = true): string | undefined {
  const ids = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

function TextField(props: {
  view: SsoSettingsView;
  name: 'issuer' | 'client_id' | 'role_claim';
  label: string;
  hint: string;
  required?: boolean;
  type?: string;
}): JSX.Element {
  const id = `sso-${props.name}`;
  const error = props.view.fieldErrors[props.name];
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        required={props.required}
        spellcheck={false}
        autocapitalize="none"
        value={props.view.values[props.name]}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, error)}
      />
      <p class="field-hint" id={`${id}-hint`}>
        {props.hint}
      </p>
      <FieldError id={`${id}-error`} text={error} />
    </div>
  );
}

function SsoSettings({ view }: { view: SsoSettingsView }): JSX.Element {
  const base = `/${encodeURIComponent(view.orgSlug)}/-`;
  const errors = view.fieldErrors;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Single sign-on</h1>
        <p class="page-lead">
          Let people of {view.orgName} sign in with your OpenID Connect identity provider (Okta, Microsoft Entra ID,
          Google Workspace, Keycloak…). Other <a href={`${base}/settings`}>security settings</a>; changes are recorded
          in the <a href={`${base}/audit`}>audit log</a>.
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      <FormError>{view.error}</FormError>
      <section class="page-section" aria-labelledby="sso-register-heading">
        <h2 class="section-heading" id="sso-register-heading">
          At your identity provider
        </h2>
        <p class="field-hint section-intro">
          Register a web application (confidential client, authorization code flow) with this redirect URI, and
          allow the scopes openid, email and profile:
        </p>
        <p>
          <code id="sso-redirect-uri">{view.redirectUri}</code>
        </p>
      </section>
      <form class="form" method="post" action={`${base}/settings/sso`}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <section class="page-section" aria-labelledby="sso-provider-heading">
          <h2 class="section-heading" id="sso-provider-heading">
            Identity provider
          </h2>
          <label class="choice">
            <input type="checkbox" name="enabled" value="on" checked={view.values.enabled === 'on'} />
            <span class="choice-text">
              <span class="choice-title">Single sign-on is on</span>
              <span class="choice-hint">People can choose “Sign in with SSO” and enter {view.orgSlug}.</span>
            </span>
          </label>
          <TextField view={view} name="issuer" type="url" required label="Issuer URL" hint="The provider’s issuer, where /.well-known/openid-configuration is found (https)." />
          <TextField view={view} name="client_id" required label="Client id" hint="The application (client) id the provider gave." />
          <div class="field">
            <label for="sso-client_secret">Client secret</label>
            <input
              id="sso-client_secret"
              name="client_secret"
              type="password"
              autocomplete="new-password"
              required={!view.hasSecret}
              aria-invalid={errors.client_secret ? 'true' : undefined}
              aria-describedby={describedBy('sso-client_secret', errors.client_secret)}
            />
            <p class="field-hint" id="sso-client_secret-hint">
              {view.hasSecret
                ? 'A secret is stored (encrypted, never shown). Leave empty to keep it; enter a new one to replace it.'
                : 'Stored encrypted; never shown again.'}
            </p>
            <FieldError id="sso-client_secret-error" text={errors.client_secret} />
          </div>
        </section>
        <section class="page-section" aria-labelledby="sso-people-heading">
          <h2 class="section-heading" id="sso-people-heading">
            Who signs in, with which role
          </h2>
          <div class="field">
            <label for="sso-allowed_domains">Allowed email domains</label>
            <textarea
              id="sso-allowed_domains"
              name="allowed_domains"
              rows={2}
              maxLength={4000}
              required
              aria-invalid={errors.allowed_domains ? 'true' : undefined}
              aria-describedby={describedBy('sso-allowed_domains', errors.allowed_domains)}
            >
              {`\n${view.values.allowed_domains}`}
            </textarea>
            <p class="field-hint" id="sso-allowed_domains-hint">
              One per line, like example.com. Anyone else the provider signs in is refused.
            </p>
            <FieldError id="sso-allowed_domains-error" text={errors.allowed_domains} />
          </div>
          <div class="field">
            <label for="sso-default_role">Role at first sign-in</label>
            <select
              id="sso-default_role"
              name="default_role"
              aria-invalid={errors.default_role ? 'true' : undefined}
              aria-describedby={describedBy('sso-default_role', errors.default_role)}
            >
              {view.roles.map((role) => (
                <option value={role} selected={view.values.default_role === role}>
                  {role}
                </option>
              ))}
            </select>
            <p class="field-hint" id="sso-default_role-hint">
              Someone who signs in for the first time becomes a member with this role, unless the role claim says otherwise.
            </p>
            <FieldError id="sso-default_role-error" text={errors.default_role} />
          </div>
          <TextField view={view} name="role_claim" label="Role claim (optional)" hint="An ID token claim whose values give roles, like groups or roles." />
          <div class="field">
            <label for="sso-role_mapping">Role mapping (optional)</label>
            <textarea
              id="sso-role_mapping"
              name="role_mapping"
              rows={3}
              maxLength={6000}
              spellcheck={false}
              aria-invalid={errors.role_mapping ? 'true' : undefined}
              aria-describedby={describedBy('sso-role_mapping', errors.role_mapping)}
            >
              {`\n${view.values.role_mapping}`}
            </textarea>
            <p class="field-hint" id="sso-role_mapping-hint">
              One “claim value = role” per line, like docucommit-editors = member. The highest match applies at every
              sign-in; owners are never changed, and the provider never makes anyone an owner.
            </p>
            <FieldError id="sso-role_mapping-error" text={errors.role_mapping} />
          </div>
        </section>
        <section class="page-section" aria-labelledby="sso-require-heading">
          <h2 class="section-heading" id="sso-require-heading">
            Require single sign-on
          </h2>
          <label class="choice">
            <input
              type="checkbox"
              name="require_sso"
              value="on"
              checked={view.values.require_sso === 'on'}
              aria-describedby={errors.require_sso ? 'sso-require_sso-error' : undefined}
            />
            <span class="choice-text">
              <span class="choice-title">Refuse password sign-in for members</span>
              <span class="choice-hint">
                Members must sign in through the provider, which also decides about their second factor. One owner
                keeps their password, in case the provider fails.
              </span>
            </span>
          </label>
          <FieldError id="sso-require_sso-error" text={errors.require_sso} />
          <div class="field">
            <label for="sso-break_glass_user_id">Break-glass owner</label>
            <select
              id="sso-break_glass_user_id"
              name="break_glass_user_id"
              aria-invalid={errors.break_glass_user_id ? 'true' : undefined}
              aria-describedby={describedBy('sso-break_glass_user_id', errors.break_glass_user_id)}
            >
              <option value="">(none)</option>
              {view.owners.map((owner) => (
                <option value={owner.userId} selected={view.values.break_glass_user_id === owner.userId}>
                  {owner.name} ({owner.email})
                </option>
              ))}
            </select>
            <p class="field-hint" id="sso-break_glass_user_id-hint">
              This owner may still sign in with a password (and their two-step verification) when single sign-on is required.
            </p>
            <FieldError id="sso-break_glass_user_id-error" text={errors.break_glass_user_id} />
          </div>
        </section>
        <div class="form-actions">
          <button type="submit" class="button button-primary">
            Save single sign-on
          </button>
          {view.recentlyAuthenticated ? null : <span class="field-hint">You will be asked to confirm your password first.</span>}
        </div>
      </form>
    </PlainLayout>
  );
}

/** The single sign-on settings page. */
export function renderSsoSettingsBody(view: SsoSettingsView): TrustedHtml {
  return toHtml(<SsoSettings view={view} />);
}
