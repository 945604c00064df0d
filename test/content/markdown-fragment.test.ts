/**
 * Descriptions and comments of change requests (renderMarkdownFragment, content/markdown.ts): the documents'
 * Markdown and sanitizer, with every heading kept, ids under a prefix, links to the project's files written
 * from its root URL; and hostile input comes out as harmless as in a document.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderMarkdown, renderMarkdownFragment } from '../../src/content/markdown.ts';
import { sanitizeDocumentHtml } from '../../src/content/sanitize.ts';
import { XSS_PAYLOADS } from './xss-payloads.ts';

const OPTIONS = { idPrefix: 'c7-', linkBase: '/acme/handbook/' };

/** No active content: no script-like tag, no handler, no dangerous URL, and nothing the sanitizer would still change. */
function assertHarmless(html: string, input: string): void {
  const context = `${JSON.stringify(input).slice(0, 120)} gave ${JSON.stringify(html).slice(0, 400)}`;
  assert.equal(sanitizeDocumentHtml(html), html, `already what the sanitizer writes: ${context}`);
  assert.doesNotMatch(html, /<\/?\s*(script|style|iframe|object|embed|svg|math|base|form|meta|link|template|textarea|button)\b/i, context);
  for (const tag of html.match(/<[a-zA-Z][^>]*>/g) ?? []) {
    // the sanitizer writes every value double-quoted, with `"` escaped inside: names are what precedes `=` outside quotes
    for (const [, name, value = ''] of tag.matchAll(/\s([^\s="/>]+)(?:="([^"]*)")?/g)) {
      assert.doesNotMatch(name!, /^(on|style$|srcdoc$|formaction$)/i, context);
      const url = value.replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/[\x00-\x20]+/g, '');
      if (['href', 'src', 'cite'].includes(name!)) assert.doesNotMatch(url, /^((javascript|vbscript|data):|\/\/|\\\\)/i, context);
    }
  }
}

describe('Markdown fragments (change request descriptions and comments)', () => {
  it('renders Markdown like a document and keeps the first heading (a comment has no title to take)', () => {
    const html = renderMarkdownFragment('# Why\n\n**Bold** and _soft_.\n\n- one\n- two\n', OPTIONS);
    assert.match(html, /<h1 id="c7-why">Why<\/h1>/);
    assert.match(html, /<strong>Bold<\/strong> and <em>soft<\/em>/);
    assert.match(html, /<li>one<\/li>/);
    // a document takes the same heading as its title
    assert.doesNotMatch(renderMarkdown('# Why\n\ntext\n', { path: 'a.md' }).html, /<h1/);
  });

  it('prefixes heading ids, so texts on one page neither repeat ids nor take the page\'s own', () => {
    const html = renderMarkdownFragment('## cr comment\n\n## cr comment\n', OPTIONS);
    assert.deepEqual([...html.matchAll(/id="([^"]+)"/g)].map((m) => m[1]), ['c7-cr-comment', 'c7-cr-comment-2']);
  });

  it('writes links to the project\'s files from its root URL; other links stay as written', () => {
    const html = renderMarkdownFragment(
      '[policy](policies/data-handling.md#scope) [up](../other/x.md) [root](/news/index.md) [img](diagram.png) [web](https://example.com/a) [here](#top) <a href="hr/reviews.md">raw</a>',
      OPTIONS,
    );
    assert.match(html, /href="\/acme\/handbook\/policies\/data-handling#scope"/);
    assert.match(html, /href="\/acme\/other\/x"/);
    assert.match(html, /href="\/acme\/handbook\/news\/"/);
    assert.match(html, /href="\/acme\/handbook\/diagram\.png"/);
    assert.match(html, /href="https:\/\/example\.com\/a"/);
    assert.match(html, /href="#top"/);
    assert.match(html, /href="\/acme\/handbook\/hr\/reviews"/, 'links in raw HTML are resolved the same way');
  });

  it('front matter is text, not metadata', () => {
    const html = renderMarkdownFragment('---\ntitle: X\nclassification: public\n---\nBody\n', OPTIONS);
    assert.match(html, /Body/);
    assert.match(html, /classification: public/);
  });

  it('script tags, javascript: links, event handlers and data: URLs come out harmless', () => {
    const attacks = [
      '<script>alert(1)</script>',
      '[click](javascript:alert(1))',
      '[click](JaVaScRiPt:alert(1))',
      '<a href="javascript:alert(1)">x</a>',
      '<a href="&#106;avascript:alert(1)">x</a>',
      '<img src=x onerror=alert(1)>',
      '<p onclick="alert(1)">hi</p>',
      '![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)',
      '<a href="data:text/html,<script>alert(1)</script>">x</a>',
      '<iframe src="https://evil.example"></iframe>',
      '<form action="/x"><button>go</button></form>',
      '[x](//evil.example/a)',
      ...XSS_PAYLOADS,
    ];
    for (const attack of attacks) {
      assertHarmless(renderMarkdownFragment(attack, OPTIONS), attack);
      assertHarmless(renderMarkdownFragment(`Intro **text**\n\n${attack}\n\nAfter [a](policies/x.md).`, OPTIONS), attack);
    }
  });

  it('huge and pathological input renders, bounded by the comment limit', () => {
    for (const text of ['['.repeat(20_000), '> '.repeat(10_000), '*a'.repeat(10_000), '<div>'.repeat(4_000), `${'x'.repeat(19_990)}<script>`]) {
      const started = performance.now();
      const html = renderMarkdownFragment(text, OPTIONS);
      assertHarmless(html, text);
      // printed, not asserted: the machine is shared
      console.log(`fragment of ${text.length} chars (${JSON.stringify(text.slice(0, 6))}…): ${(performance.now() - started).toFixed(1)} ms`);
    }
  });
});
