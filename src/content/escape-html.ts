/**
 * THE HTML escaper of the code base: text for HTML content and attribute values (all five significant
 * characters). Views need none: Preact, the escaping renderer, escapes what they write (web/views/render.ts).
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** `&amp;` back to `&` (markdown-it escapes ampersands in the hrefs it hands to the link rewriter). */
export function decodeAmpersands(value: string): string {
  return value.includes('&amp;') ? value.replace(/&amp;/g, '&') : value;
}
