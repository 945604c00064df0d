import type { VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';

/** Renders a component tree to an HTML string (text and attributes escaped by Preact). */
export function toHtml(node: VNode): string {
  return renderToString(node);
}
