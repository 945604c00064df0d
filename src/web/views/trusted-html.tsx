/**
 * THE ONLY RAW-HTML DOOR OF THE VIEWS.
 *
 * Everything else in `src/web/views/` is rendered by Preact, which escapes text and attribute values. This
 * component is the single place that writes a string into the page without escaping it. It is meant for two
 * inputs only, both of which are already safe by construction:
 *
 *  1. the sanitized document HTML produced by the content pipeline (`RenderedDocument.html`, `DocumentView.html`);
 *  2. a page body that one of the body renderers of this folder has already rendered to a string
 *     (`PageFrame.body`), which is itself escaped Preact output plus (1).
 *
 * Its `html` is typed TrustedHtml (content/trusted-html.ts), which only the sanitizer and the escaping renderer
 * produce: the compiler refuses anything else. Never pass it anything built from request data, database text or
 * front matter. To audit the raw doors of the
 * views: `grep -rn "TrustedHtml\|dangerouslySetInnerHTML" src/web/views` — the second word must appear in this
 * file only (a test checks that).
 */
import type { JSX } from 'preact';
import type { TrustedHtml as TrustedHtmlString } from '../../content/trusted-html.ts';

type Container = 'div' | 'main' | 'section' | 'article';

export interface TrustedHtmlProps {
  /** Already sanitized or already rendered HTML (see the file comment): the type only they produce. */
  html: TrustedHtmlString;
  /** The element that wraps the HTML. */
  as?: Container;
  id?: string;
  class?: string;
  tabIndex?: number;
}

export function TrustedHtml({ html, as = 'div', id, class: className, tabIndex }: TrustedHtmlProps): JSX.Element {
  const Tag = as;
  return <Tag id={id} class={className} tabIndex={tabIndex} dangerouslySetInnerHTML={{ __html: html }} />;
}
