/** Pages that manage projects in the browser: create, settings (rename, description, delete) and clone. */
import type { JSX } from 'preact';
import { Flash, FormError, PlainLayout, CopyButton } from './components.tsx';
import { SubmitOrLeave } from './form-parts.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

export interface NewProjectView {
  csrfToken: string;
  orgSlug: string;
  orgName: string;
  values: { name: string; slug: string; description: string; starter: 'empty' | 'handbook' };
  error: string | null;
}

function NewProject({ view }: { view: NewProjectView }): JSX.Element {
  const { values } = view;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>New project</h1>
        <p class="page-lead">A project is one site of documents with its own git repository and history.</p>
      </header>
      <div class="panel">
        <FormError>{view.error}</FormError>
        <form class="form" method="post" action={`/${encodeURIComponent(view.orgSlug)}/-/projects`}>
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <div class="field">
            <label for="project-name">Name</label>
            <input id="project-name" name="name" required maxLength={100} value={values.name} placeholder="Employee handbook" />
          </div>
          <div class="field">
            <label for="project-slug">Address</label>
            <input
              id="project-slug"
              name="slug"
              required
              maxLength={63}
              pattern="[a-z0-9][a-z0-9\-]*"
              spellcheck={false}
              autocapitalize="none"
              value={values.slug}
              placeholder="handbook"
              aria-describedby="project-slug-hint"
            />
            <p class="field-hint" id="project-slug-hint">
              {`Lowercase letters, digits and dashes. Pages will live under /${view.orgSlug}/address/; it cannot be changed later.`}
            </p>
          </div>
          <div class="field">
            <label for="project-description">
              Description <span class="field-optional">(optional)</span>
            </label>
            <textarea id="project-description" name="description" maxLength={500} rows={2}>
              {values.description}
            </textarea>
          </div>
          <fieldset class="field starter-choice">
            <legend>Start with</legend>
            <label class="starter-option">
              <input type="radio" name="starter" value="empty" checked={values.starter === 'empty'} />
              <span>
                <strong>A home page</strong>
                <span class="field-hint">An empty project with only its home page.</span>
              </span>
            </label>
            <label class="starter-option">
              <input type="radio" name="starter" value="handbook" checked={values.starter === 'handbook'} />
              <span>
                <strong>Handbook starter</strong>
                <span class="field-hint">A home page and a policies section with two example policies to edit.</span>
              </span>
            </label>
          </fieldset>
          <SubmitOrLeave submit="Create project" href="/" />
        </form>
      </div>
    </PlainLayout>
  );
}

/** The form that creates a project (admins and owners). */
export function renderNewProjectBody(view: NewProjectView): TrustedHtml {
  return toHtml(<NewProject view={view} />);
}

/** A clone URL with its copy button (the button shows only once the script runs). */
function CloneBox({ url }: { url: string }): JSX.Element {
  return (
    <div class="clone-box">
      <label for="clone-url">Clone URL</label>
      <div class="clone-row">
        <input id="clone-url" class="clone-url" readOnly value={url} spellcheck={false} />
        <CopyButton target="clone-url" />
      </div>
      <p class="field-hint">
        {`git clone ${url}`} — sign in to git with your email and a personal access token (Account → Tokens).
      </p>
    </div>
  );
}

export interface ProjectSettingsView {
  csrfToken: string;
  orgSlug: string;
  slug: string;
  name: string;
  description: string;
  projectHref: string;
  /** Null when the viewer's clearance does not cover the repository's most sensitive document. */
  cloneUrl: string | null;
  notice: string | null;
  error: string | null;
  deleteError: string | null;
}

function ProjectSettings({ view }: { view: ProjectSettingsView }): JSX.Element {
  const base = `/${encodeURIComponent(view.orgSlug)}/${encodeURIComponent(view.slug)}/-`;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">
          <a href={view.projectHref}>{view.name}</a>
        </p>
        <h1>Project settings</h1>
      </header>
      <Flash>{view.notice}</Flash>
      <section class="page-section" aria-labelledby="details-heading">
        <h2 class="section-heading" id="details-heading">
          Name and description
        </h2>
        <div class="panel">
          <FormError>{view.error}</FormError>
          <form class="form" method="post" action={`${base}/settings`}>
            <input type="hidden" name="_csrf" value={view.csrfToken} />
            <div class="field">
              <label for="project-name">Name</label>
              <input id="project-name" name="name" required maxLength={100} value={view.name} />
            </div>
            <div class="field">
              <label for="project-description">
                Description <span class="field-optional">(optional)</span>
              </label>
              <textarea id="project-description" name="description" maxLength={500} rows={2}>
                {view.description}
              </textarea>
            </div>
            <div class="form-actions">
              <button type="submit" class="button button-primary">
                Save
              </button>
            </div>
          </form>
        </div>
      </section>
      {view.cloneUrl ? (
        <section class="page-section" aria-labelledby="clone-heading">
          <h2 class="section-heading" id="clone-heading">
            Clone with git
          </h2>
          <div class="panel">
            <CloneBox url={view.cloneUrl} />
          </div>
        </section>
      ) : null}
      <section class="page-section" aria-labelledby="delete-heading">
        <h2 class="section-heading" id="delete-heading">
          Delete this project
        </h2>
        <div class="panel danger-panel">
          <p>
            Its pages disappear at once, with its access requests and grants. The repository is kept for 30 days; an
            operator can bring it back with <code>docucommit project restore</code>.
          </p>
          <FormError>{view.deleteError}</FormError>
          <form class="form" method="post" action={`${base}/delete`}>
            <input type="hidden" name="_csrf" value={view.csrfToken} />
            <div class="field">
              <label for="delete-confirm">
                Type <strong>{view.name}</strong> to confirm
              </label>
              <input id="delete-confirm" name="confirm" required autocomplete="off" spellcheck={false} />
            </div>
            <div class="form-actions">
              <button type="submit" class="button button-danger">
                Delete project
              </button>
            </div>
          </form>
        </div>
      </section>
    </PlainLayout>
  );
}

/** A project's settings (admins and owners). */
export function renderProjectSettingsBody(view: ProjectSettingsView): TrustedHtml {
  return toHtml(<ProjectSettings view={view} />);
}

export interface ProjectCloneView {
  name: string;
  projectHref: string;
  cloneUrl: string | null;
}

function ProjectClone({ view }: { view: ProjectCloneView }): JSX.Element {
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">
          <a href={view.projectHref}>{view.name}</a>
        </p>
        <h1>Clone with git</h1>
        <p class="page-lead">Every document and its whole history, to read and edit with your own tools.</p>
      </header>
      <div class="panel">
        {view.cloneUrl ? (
          <CloneBox url={view.cloneUrl} />
        ) : (
          <p>
            A clone hands out every document this repository holds or ever held, and some of them are above what your
            role may read. Read the documents here instead, or ask an admin.
          </p>
        )}
      </div>
    </PlainLayout>
  );
}

/** The clone page of a project (members). */
export function renderProjectCloneBody(view: ProjectCloneView): TrustedHtml {
  return toHtml(<ProjectClone view={view} />);
}
