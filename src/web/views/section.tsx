import type { JSX } from 'preact';
import type { NavNode } from '../../content/types.ts';
import { documentUrl, sectionUrl } from '../urls.ts';
import { DateText, ProjectLayout } from './components.tsx';
import { Notices } from './document.tsx';
import { plural } from './format.ts';
import { toHtml } from './render.ts';
import type { EditorNotices, SectionView, ViewProject } from './types.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

function countDocuments(node: NavNode): number {
  if (node.kind === 'document') return 1;
  return (node.indexPath ? 1 : 0) + node.children.reduce((sum, child) => sum + countDocuments(child), 0);
}

function Entry({ node, project }: { node: NavNode; project: ViewProject }): JSX.Element {
  if (node.kind === 'document') {
    return (
      <li class="entry">
        {node.date ? <DateText class="entry-date" value={node.date} /> : null}
        <a class="entry-title" href={documentUrl(project, node.path)}>
          {node.title}
        </a>
      </li>
    );
  }
  return (
    <li class="entry entry-section">
      <a class="entry-title" href={sectionUrl(project, node.path)}>
        {node.title}
      </a>
      <span class="entry-detail">{plural(countDocuments(node), 'document', 'documents')}</span>
    </li>
  );
}

function SectionBody({ view, notices }: { view: SectionView; notices: EditorNotices | undefined }): JSX.Element {
  const dated = view.entries.some((entry) => entry.kind === 'document' && entry.date !== null);
  return (
    <ProjectLayout chrome={view}>
      <div class="listing">
        <header class="doc-header">
          <h1 class="doc-title">{view.title}</h1>
          <p class="doc-lead">
            {view.entries.length === 0 ? 'Nothing here yet.' : plural(view.entries.length, 'entry', 'entries')}
          </p>
        </header>
        {notices ? <Notices notices={notices} /> : null}
        {view.entries.length > 0 ? (
          <ul class={dated ? 'entry-list entry-list-dated' : 'entry-list'}>
            {view.entries.map((node) => (
              <Entry node={node} project={view.project} />
            ))}
          </ul>
        ) : null}
      </div>
    </ProjectLayout>
  );
}

/** A folder without its own index page (or a project home without index.md): the list of what is in it. */
export function renderSectionBody(view: SectionView, notices?: EditorNotices): TrustedHtml {
  return toHtml(<SectionBody view={view} notices={notices} />);
}
