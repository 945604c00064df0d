import { Fragment, h, type VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** Renders a component tree to HTML: the escaping renderer (Preact escapes every text and attribute value). */
export function toHtml(node: VNode): TrustedHtml {
  return renderToString(node) as TrustedHtml;
}

/**
 * Text as the renderer writes it in element content and attribute values (Preact escapes `&`, `<` and `"`): the
 * page frame's per-request values (web/page.ts) are escaped by the renderer itself, byte for byte as in a render.
 */
export function renderText(value: string): string {
  return renderToString(h(Fragment, null, value));
}
