import type { JSX } from 'preact';
import { documentUrl, tagUrl } from '../urls.ts';
import { DateText, ProjectLayout } from './components.tsx';
import { plural } from './format.ts';
import { toHtml } from './render.ts';
import type { TagIndexView, TagView } from './types.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

function TagBody({ view }: { view: TagView }): JSX.Element {
  const dated = view.documents.some((doc) => doc.date !== null);
  return (
    <ProjectLayout chrome={view}>
      <div class="listing">
        <header class="doc-header">
          <p class="eyebrow">Tag</p>
          <h1 class="doc-title">
            <span class="tag tag-large">{view.tag}</span>
          </h1>
          <p class="doc-lead">{plural(view.documents.length, 'document', 'documents')} with this tag.</p>
        </header>
        {view.documents.length > 0 ? (
          <ul class={dated ? 'entry-list entry-list-dated' : 'entry-list'}>
            {view.documents.map((doc) => (
              <li class="entry">
                {doc.date ? <DateText class="entry-date" value={doc.date} /> : null}
                <a class="entry-title" href={documentUrl(view.project, doc.path)}>
                  {doc.title}
                </a>
              </li>
            ))}
          </ul>
        ) : (
          <p class="empty">No document you can read carries this tag.</p>
        )}
      </div>
    </ProjectLayout>
  );
}

/** The documents of a project that carry one tag. */
export function renderTagBody(view: TagView): TrustedHtml {
  return toHtml(<TagBody view={view} />);
}

function TagIndexBody({ view }: { view: TagIndexView }): JSX.Element {
  return (
    <ProjectLayout chrome={view}>
      <div class="listing">
        <header class="doc-header">
          <h1 class="doc-title">Tags</h1>
          <p class="doc-lead">{plural(view.tags.length, 'tag', 'tags')} in the documents you can read.</p>
        </header>
        {view.tags.length > 0 ? (
          <ul class="entry-list">
            {view.tags.map(({ tag, count }) => (
              <li class="entry">
                <a class="tag" href={tagUrl(view.project, tag)}>
                  {tag}
                </a>{' '}
                <span class="entry-meta">{plural(count, 'document', 'documents')}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p class="empty">No document you can read has tags.</p>
        )}
      </div>
    </ProjectLayout>
  );
}

/** Every tag of a project with its count of documents. */
export function renderTagIndexBody(view: TagIndexView): string {
  return toHtml(<TagIndexBody view={view} />);
}
