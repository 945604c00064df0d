import type { JSX } from 'preact';
import type { RequireMfa } from '../../db/schema.ts';
import type { Classification } from '../../content/types.ts';
import { Flash, FormError, PageSection, PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** The settings page of an organization (admins and owners). */
export interface SettingsView {
  csrfToken: string;
  orgSlug: string;
  orgName: string;
  /** The form's values as text: the saved settings, or what was submitted when it had errors. */
  values: {
    require_mfa: string;
    session_idle_minutes: string;
    session_absolute_minutes: string;
    access_grant_max_minutes: string;
    /** One host per line. */
    image_hosts: string;
    ack_due_days: string;
    audit_retention_days: string;
    /** 'yes' when ticked. */
    refuse_broken_links: string;
  };
  limits: {
    idle: { min: number; max: number };
    absolute: { min: number; max: number };
    grant: { min: number; max: number };
    ackDays: { min: number; max: number };
    auditRetention: { min: number; max: number };
  };
  notice: string | null;
  /** The summary above the form when it was not saved. */
  error: string | null;
  fieldErrors: Partial<Record<keyof SettingsView['values'], string>>;
  /** The viewer is affected by the saved MFA requirement and has not enrolled: they enroll at their next sign-in. */
  mustEnroll: boolean;
  /** False: saving asks for the password (and a code) first. */
  recentlyAuthenticated: boolean;
  /** The viewer may export or delete the whole organization (its owners): the page links to "Export and deletion". */
  mayManageData: boolean;
  /** Review before publishing: `review_<c>` ('on' or ''), `approvals_<c>`, `role_<c>` per classification. */
  review: {
    values: Record<string, string>;
    error: string | null;
    fieldErrors: Partial<Record<Classification, string>>;
  };
}

const REVIEWED: { classification: Classification; hint: string; fixed: boolean }[] = [
  { classification: 'public', hint: 'When off, public documents are published the moment they are saved or pushed.', fixed: false },
  { classification: 'internal', hint: 'When off, internal documents are published the moment they are saved or pushed.', fixed: false },
  { classification: 'confidential', hint: 'Always on: at least 1 approval by a manager or above.', fixed: true },
  { classification: 'restricted', hint: 'Always on: at least 2 approvals by two different admins or owners (the two-person rule).', fixed: true },
];
const REVIEW_ROLE_CHOICES = ['member', 'manager', 'admin', 'owner'] as const;

/** Review before publishing, per classification: its own form (POST /{org}/-/settings/review). */
function ReviewSettingsForm({ view, base }: { view: SettingsView; base: string }): JSX.Element {
  const { values, fieldErrors } = view.review;
  return (
    <section class="page-section review-settings" aria-labelledby="review-heading">
      <h2 class="section-heading" id="review-heading">
        Review before publishing
      </h2>
      <p class="field-hint section-intro">
        Changes to documents that need review reach readers only through an approved change request: saving or
        pushing them to main directly is refused. A document whose front matter names <code>approvers:</code> always
        needs one of them as well. The author's approval never counts.
      </p>
      <FormError>{view.review.error}</FormError>
      <form class="form" method="post" action={`${base}/settings/review`}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        {REVIEWED.map(({ classification: c, hint, fixed }) => (
          <fieldset class="field choice-group review-setting" aria-describedby={`review-${c}-hint${fieldErrors[c] ? ` review-${c}-error` : ''}`}>
            <legend>{`${c[0]!.toUpperCase()}${c.slice(1)} documents`}</legend>
            <label class="choice">
              {fixed ? (
                <input type="checkbox" name={`review_${c}`} value="on" checked disabled />
              ) : (
                <input type="checkbox" name={`review_${c}`} value="on" checked={values[`review_${c}`] === 'on'} />
              )}
              <span class="choice-text">
                <span class="choice-title">Review required</span>
                <span class="choice-hint" id={`review-${c}-hint`}>
                  {hint}
                </span>
              </span>
            </label>
            <div class="field-row">
              <label for={`review-${c}-approvals`}>Approvals</label>
              <input id={`review-${c}-approvals`} name={`approvals_${c}`} inputMode="numeric" pattern="[0-9]*" size={3} maxLength={2} value={values[`approvals_${c}`] ?? '1'} />
              <label for={`review-${c}-role`}>by a</label>
              <select id={`review-${c}-role`} name={`role_${c}`}>
                {REVIEW_ROLE_CHOICES.map((role) => (
                  <option value={role} selected={values[`role_${c}`] === role}>
                    {role}
                  </option>
                ))}
              </select>
              <span class="field-hint">or above</span>
            </div>
            <FieldError id={`review-${c}-error`} text={fieldErrors[c]} />
          </fieldset>
        ))}
        <div class="form-actions">
          <button type="submit" class="button button-primary">
            Save review settings
          </button>
        </div>
      </form>
    </section>
  );
}

const MFA_CHOICES: { value: RequireMfa; title: string; hint: string }[] = [
  { value: 'none', title: 'Not required', hint: 'Each person decides whether to use an authenticator app.' },
  {
    value: 'admins',
    title: 'Owners and admins',
    hint: 'Owners and admins without two-step verification must set it up at their next sign-in, and cannot turn it off.',
  },
  { value: 'everyone', title: 'Everyone', hint: 'Every member must set it up at their next sign-in, and cannot turn it off.' },
];

function FieldError({ id, text }: { id: string; text: string | undefined }): JSX.Element | null {
  return text ? (
    <p class="form-error" id={id} role="alert">
      {text}
    </p>
  ) : null;
}

function MinutesField({
  view,
  name,
  label,
  hint,
  range,
  optional,
}: {
  view: SettingsView;
  name: 'session_idle_minutes' | 'session_absolute_minutes' | 'access_grant_max_minutes' | 'ack_due_days' | 'audit_retention_days';
  label: string;
  hint: string;
  range: { min: number; max: number };
  optional: boolean;
}): JSX.Element {
  const error = view.fieldErrors[name];
  const id = `setting-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="number"
        inputMode="numeric"
        min={range.min}
        max={range.max}
        step={1}
        required={!optional}
        value={view.values[name]}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-hint ${id}-error` : `${id}-hint`}
      />
      <p class="field-hint" id={`${id}-hint`}>
        {hint}
      </p>
      <FieldError id={`${id}-error`} text={error} />
    </div>
  );
}

function Settings({ view }: { view: SettingsView }): JSX.Element {
  const base = `/${encodeURIComponent(view.orgSlug)}/-`;
  const mfaError = view.fieldErrors.require_mfa;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Settings</h1>
        <p class="page-lead">
          Security settings for everyone in {view.orgName}. Changes are recorded in the <a href={`${base}/audit`}>audit log</a>;
          people are managed on the <a href={`${base}/members`}>members page</a>; sign-in through your identity provider
          on the <a href={`${base}/settings/sso`}>single sign-on page</a>; notifications to your systems on
          the <a href={`${base}/settings/webhooks`}>webhooks page</a>.
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      {view.mustEnroll ? (
        <p class="flash" role="status">
          This organization requires two-step verification for you, and you have not set it up: you will have to set it
          up at your next sign-in. <a href="/-/account/security">Set it up now</a>.
        </p>
      ) : null}
      <FormError>{view.error}</FormError>
      <form class="form" method="post" action={`${base}/settings`}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <section class="page-section" aria-labelledby="mfa-heading">
          <fieldset class="field choice-group" aria-describedby={mfaError ? 'setting-require_mfa-error' : undefined}>
            <legend id="mfa-heading">Require two-step verification</legend>
            {MFA_CHOICES.map((choice) => (
              <label class="choice">
                <input
                  type="radio"
                  name="require_mfa"
                  value={choice.value}
                  checked={view.values.require_mfa === choice.value}
                  aria-invalid={mfaError ? 'true' : undefined}
                />
                <span class="choice-text">
                  <span class="choice-title">{choice.title}</span>
                  <span class="choice-hint">{choice.hint}</span>
                </span>
              </label>
            ))}
            <FieldError id="setting-require_mfa-error" text={mfaError} />
          </fieldset>
        </section>
        <PageSection id="sessions" title="Sessions">
          <p class="field-hint section-intro">
            Empty fields keep the defaults: 30 minutes idle and 12 hours at most for owners and admins, 4 hours idle and
            24 hours at most for everyone else. A value applies to every member of {view.orgName}, whatever their role;
            someone in several organizations gets the strictest limit. Shorter limits also shorten sessions that are
            already open.
          </p>
          <MinutesField
            view={view}
            name="session_idle_minutes"
            label="Idle timeout (minutes)"
            hint={`Sign out after this long without a request: ${view.limits.idle.min} to ${view.limits.idle.max} minutes.`}
            range={view.limits.idle}
            optional
          />
          <MinutesField
            view={view}
            name="session_absolute_minutes"
            label="Maximum session length (minutes)"
            hint={`Sign out this long after signing in, however active: ${view.limits.absolute.min} to ${view.limits.absolute.max} minutes.`}
            range={view.limits.absolute}
            optional
          />
        </PageSection>
        <PageSection id="grants" title="Access requests">
          <MinutesField
            view={view}
            name="access_grant_max_minutes"
            label="Longest access grant (minutes)"
            hint={`An approved request opens its document for at most this long: ${view.limits.grant.min} to ${view.limits.grant.max} minutes (24 hours). Lowering it also shortens grants already given.`}
            range={view.limits.grant}
            optional={false}
          />
        </PageSection>
        <PageSection id="acknowledgments" title="Acknowledgments">
          <MinutesField
            view={view}
            name="ack_due_days"
            label="Days to acknowledge"
            hint={`When a document asks people to acknowledge a new version, it is due this many days after it is published: ${view.limits.ackDays.min} to ${view.limits.ackDays.max} days.`}
            range={view.limits.ackDays}
            optional={false}
          />
        </PageSection>
        <PageSection id="audit-retention" title="Audit log">
          <MinutesField
            view={view}
            name="audit_retention_days"
            label="Days to keep audit events"
            hint={`Older events are removed once a day; a checkpoint event keeps the log verifiable. ${view.limits.auditRetention.min} to ${view.limits.auditRetention.max} days. Export evidence packs before events you need are removed.`}
            range={view.limits.auditRetention}
            optional={false}
          />
        </PageSection>
        <PageSection id="links" title="Links">
          <div class="field">
            <label class="choice">
              <input
                type="checkbox"
                name="refuse_broken_links"
                value="yes"
                checked={view.values.refuse_broken_links === 'yes'}
                aria-describedby="setting-refuse_broken_links-hint"
              />
              <span class="choice-text">
                <span class="choice-title">Refuse changes that add broken links</span>
                <span class="choice-hint" id="setting-refuse_broken_links-hint">
                  A push or an editor save whose documents bring a new broken link, missing image or unknown anchor is
                  refused, with each problem as file:line: message. When off, the problems are shown as warnings and
                  on each project's problems page.
                </span>
              </span>
            </label>
          </div>
        </PageSection>
        <PageSection id="images" title="Images">
          <div class="field">
            <label for="setting-image_hosts">Image hosts</label>
            <textarea
              id="setting-image_hosts"
              name="image_hosts"
              rows={3}
              maxLength={6000}
              aria-invalid={view.fieldErrors.image_hosts ? 'true' : undefined}
              aria-describedby={view.fieldErrors.image_hosts ? 'setting-image_hosts-hint setting-image_hosts-error' : 'setting-image_hosts-hint'}
            >
              {/* the parser drops one newline right after <textarea>: this one, never the text's own */}
              {`\n${view.values.image_hosts}`}
            </textarea>
            <p class="field-hint" id="setting-image_hosts-hint">
              Documents show images stored in their project and inline images. List further hosts (one per line, like
              images.example.com) only if you trust them: every reader's browser fetches images from them over https
              whenever a page with such an image is opened.
            </p>
            <FieldError id="setting-image_hosts-error" text={view.fieldErrors.image_hosts} />
          </div>
        </PageSection>
        <div class="form-actions">
          <button type="submit" class="button button-primary">
            Save settings
          </button>
          {view.recentlyAuthenticated ? null : <span class="field-hint">You will be asked to confirm your password first.</span>}
        </div>
      </form>
      <ReviewSettingsForm view={view} base={base} />
      {view.mayManageData ? (
        <PageSection id="data" title="Export and deletion">
          <p>
            Download everything the organization keeps here, or delete the organization: <a href={`${base}/data`}>Export and deletion</a> (owners).
          </p>
        </PageSection>
      ) : null}
    </PlainLayout>
  );
}

/** The organization settings page. */
export function renderSettingsBody(view: SettingsView): TrustedHtml {
  return toHtml(<Settings view={view} />);
}
