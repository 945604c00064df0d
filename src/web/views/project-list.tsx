import type { JSX } from 'preact';
import { projectUrl } from '../urls.ts';
import { PlainLayout } from './components.tsx';
import { plural } from './format.ts';
import { toHtml } from './render.ts';
import type { ProjectListView } from './types.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

function EmptyState({ signedIn }: { signedIn: boolean }): JSX.Element {
  if (signedIn) {
    return (
      <div class="empty-state">
        <p class="empty-state-title">No projects yet</p>
        <p>You are not a member of any project. Ask an administrator of your organization to add you.</p>
      </div>
    );
  }
  return (
    <div class="empty-state">
      <p class="empty-state-title">Sign in to see your organization's projects</p>
      <p>Policies, handbooks and news live behind your organization's sign-in.</p>
      <p>
        <a class="button button-primary" href="/login">
          Sign in
        </a>
      </p>
    </div>
  );
}

function ProjectList({ view }: { view: ProjectListView }): JSX.Element {
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <div class="page-header-row">
          <h1>Projects</h1>
          {(view.newProjectIn ?? []).length > 0 ? (
            <p class="page-header-actions">
              {view.newProjectIn!.map((org) => (
                <a class="button button-primary" href={`/${encodeURIComponent(org.slug)}/-/projects/new`}>
                  {view.newProjectIn!.length > 1 ? `New project in ${org.name}` : 'New project'}
                </a>
              ))}
            </p>
          ) : null}
        </div>
        {view.projects.length > 0 ? (
          <p class="page-lead">
            {view.signedIn
              ? 'Everything your organization publishes here, one project per site.'
              : 'Public pages. Sign in to see everything your organization publishes.'}
          </p>
        ) : null}
      </header>
      {view.projects.length === 0 ? (
        <EmptyState signedIn={view.signedIn} />
      ) : (
        <ul class="card-grid">
          {view.projects.map((project) => (
            <li class="card">
              <h2 class="card-title">
                <a class="card-link" href={projectUrl(project)}>
                  {project.name}
                </a>
              </h2>
              <p class="card-org">{project.orgName}</p>
              {project.description ? <p class="card-description">{project.description}</p> : null}
              <p class="card-footer">{plural(project.documentCount, 'document', 'documents')}</p>
            </li>
          ))}
        </ul>
      )}
    </PlainLayout>
  );
}

/** The home page: the projects the reader may open. */
export function renderProjectListBody(view: ProjectListView): TrustedHtml {
  return toHtml(<ProjectList view={view} />);
}
