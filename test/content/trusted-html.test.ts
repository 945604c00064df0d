import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml } from '../../src/content/escape-html.ts';
import { renderDocument, TOO_LARGE_HTML } from '../../src/content/render-document.ts';
import { sanitizeDocumentHtml } from '../../src/content/sanitize.ts';
import type { TrustedHtml } from '../../src/content/trusted-html.ts';
import { filesMatching } from '../helpers/source-files.ts';

test('a plain string is not TrustedHtml: only the sanitizer and the renderer make one (checked by the compiler)', () => {
  // @ts-expect-error a string built by hand cannot be written as raw HTML
  const forged: TrustedHtml = '<img src=x onerror=alert(1)>';
  const sanitized: TrustedHtml = sanitizeDocumentHtml(forged);
  assert.equal(sanitized, '<img src="x" />');
  const rendered: TrustedHtml = renderDocument('a.md', '# A\n\n<script>x</script>text').html;
  assert.doesNotMatch(rendered, /script/);
});

test('TrustedHtml is made in the sanitizer, the escaping renderer, and where the sanitizer\'s stored output is read back', () => {
  const allowed = ['src/content/trusted-html.ts', 'src/content/sanitize.ts', 'src/web/views/render.ts', 'src/projects/html-packs.ts', 'src/web/page.ts'];
  assert.deepEqual(filesMatching(/(?<!\{ TrustedHtml )as TrustedHtml(String)?\b|[=(,]\s*<TrustedHtml(String)?>/, allowed), []);
  // the sanitizer's second door (Markdown's proven fast path) is used by Markdown only
  assert.deepEqual(filesMatching(/provenSanitized\(/, ['src/content/sanitize.ts', 'src/content/markdown.ts']), []);
});

test('the notice of a document too large to render passes the sanitizer unchanged', () => {
  assert.equal(TOO_LARGE_HTML, '<p class="too-large">This document is too large to render. Download its source to read it.</p>');
});

test('one HTML escaper in the code base: content/escape-html.ts', () => {
  assert.equal(escapeHtml(`<a href="x">Tom & Jerry's</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
  assert.deepEqual(filesMatching(/'&amp;'|'&lt;'|'&gt;'|'&#39;'/, ['src/content/escape-html.ts']), []);
});
