import type { JSX } from 'preact';
import { ProjectLayout } from './components.tsx';
import { Notices } from './document.tsx';
import { toHtml } from './render.ts';
import type { ProblemsView } from './types.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

function ProblemsBody({ view }: { view: ProblemsView }): JSX.Element {
  const total = view.notices.errors.length + view.notices.brokenLinks.length;
  return (
    <ProjectLayout chrome={view}>
      <div class="listing">
        <header class="doc-header">
          <h1 class="doc-title">Source problems</h1>
          <p class="doc-lead">
            {total === 0
              ? 'No front-matter errors, broken links, missing images or unknown anchors in the documents you can read.'
              : `${view.notices.errors.length} front-matter ${view.notices.errors.length === 1 ? 'error' : 'errors'} and ${view.notices.brokenLinks.length} link ${view.notices.brokenLinks.length === 1 ? 'problem' : 'problems'} (broken links, missing images, unknown anchors) in the documents you can read.`}
          </p>
        </header>
        <Notices notices={view.notices} />
      </div>
    </ProjectLayout>
  );
}

/** The project-wide list of source problems, for editors. */
export function renderProblemsBody(view: ProblemsView): TrustedHtml {
  return toHtml(<ProblemsBody view={view} />);
}
