import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderMarkdown } from '../../src/content/markdown.ts';
import { renderDocument } from '../../src/content/render-document.ts';
import { sanitizeDocumentHtml } from '../../src/content/sanitize.ts';
import { XSS_PAYLOADS } from './xss-payloads.ts';

const FORBIDDEN_TAG =
  /<\/?\s*(script|style|iframe|object|embed|svg|math|base|form|meta|link|frame|frameset|template|textarea|select|button|video|audio|source|noscript|xmp|title|isindex)\b/i;

/** Every tag in sanitized HTML; safe to find by pattern because the sanitizer escapes `<` and `>` in text and attributes. */
function tagsOf(html: string): string[] {
  return html.match(/<[a-zA-Z!/][^>]*>/g) ?? [];
}

function decodeAttribute(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Attribute names and decoded values of one tag (the sanitizer always writes double-quoted values). */
function attributesOf(tag: string): [string, string][] {
  return [...tag.matchAll(/\s([^\s="/>]+)(?:="([^"]*)")?/g)].map((m) => [m[1]!.toLowerCase(), decodeAttribute(m[2] ?? '')]);
}

function assertSafe(html: string, payload: string): void {
  const context = `payload ${JSON.stringify(payload)} gave ${JSON.stringify(html)}`;
  assert.doesNotMatch(html, FORBIDDEN_TAG, context);
  for (const tag of tagsOf(html)) {
    for (const [name, value] of attributesOf(tag)) {
      assert.doesNotMatch(name, /^on/, context);
      assert.doesNotMatch(name, /^(style|srcset|formaction|action|background|xlink:href|srcdoc|name)$/, context);
      // Browsers ignore control characters and whitespace inside URLs; so must the check.
       
      if (['href', 'src', 'cite'].includes(name)) assert.doesNotMatch(value.replace(/[\x00-\x20]+/g, ''), /^((javascript|vbscript|data):|\/\/|\\\\)/i, context);
    }
    // A stricter net: no dangerous scheme anywhere in a tag, not even in a title.
     
    assert.doesNotMatch(decodeAttribute(tag).replace(/[\x00-\x20]+/g, ''), /(javascript|vbscript):/i, context);
    if (/^<input\b/i.test(tag)) assert.match(tag, /^<input type="checkbox" disabled( checked)?( class="[^"]*")? \/>$/, context);
    if (/\starget=/.test(tag)) assert.match(tag, /target="_blank" rel="noopener noreferrer"/, context);
  }
}

describe('sanitizer against hostile input', () => {
  it('has a hostile list of at least 50 payloads', () => {
    assert.ok(XSS_PAYLOADS.length >= 50, `only ${XSS_PAYLOADS.length} payloads`);
    assert.equal(new Set(XSS_PAYLOADS).size, XSS_PAYLOADS.length, 'payloads are distinct');
  });

  for (const [index, payload] of XSS_PAYLOADS.entries()) {
    it(`payload ${index + 1}: ${JSON.stringify(payload).slice(0, 70)}`, () => {
      const direct = sanitizeDocumentHtml(payload);
      assertSafe(direct, payload);
      assert.equal(sanitizeDocumentHtml(direct), direct, 'sanitizing twice changes nothing (raw HTML)');

      const rendered = renderMarkdown(payload, { path: 'policies/page.md' }).html;
      assertSafe(rendered, payload);
      assert.equal(sanitizeDocumentHtml(rendered), rendered, 'sanitizing twice changes nothing (Markdown)');

      const inDocument = renderDocument('policies/page.md', `---\ntitle: T\n---\n\nBefore.\n\n${payload}\n\nAfter.\n`);
      assertSafe(inDocument.html, payload);
      assert.match(inDocument.html, /After\./, 'content after the payload survives');
    });
  }
});

describe('sanitizer allowlist', () => {
  it('keeps documentation markup', () => {
    const html =
      '<h2 id="scope">Scope</h2><p class="note">A <strong>b</strong> <em>c</em> <code>d</code> <kbd>e</kbd></p>' +
      '<blockquote><p>q</p></blockquote><dl><dt>t</dt><dd>d</dd></dl><hr />' +
      '<table class="wide"><caption>c</caption><thead><tr><th scope="col">h</th></tr></thead><tbody><tr><td rowspan="2">x</td></tr></tbody></table>';
    assert.equal(sanitizeDocumentHtml(html), html);
  });

  it('keeps http(s), mailto, relative and fragment links', () => {
    for (const href of ['https://example.com/a?b=1&amp;c=2', 'http://example.com', 'mailto:a@example.com', 'team/', '../x', '#scope', '?q=1']) {
      const html = `<a href="${href}">x</a>`;
      assert.equal(sanitizeDocumentHtml(html), html, href);
    }
  });

  it('drops data: images and keeps https and relative ones', () => {
    assert.equal(sanitizeDocumentHtml('<img src="data:image/png;base64,AAAA" alt="x" />'), '<img alt="x" />');
    assert.equal(sanitizeDocumentHtml('<img src="https://cdn.example.com/a.png" />'), '<img src="https://cdn.example.com/a.png" />');
    assert.equal(sanitizeDocumentHtml('<img src="img/a.png" />'), '<img src="img/a.png" />');
  });

  it('drops ids outside headings and the name attribute everywhere (no DOM clobbering of globals)', () => {
    assert.equal(sanitizeDocumentHtml('<div id="config" name="x"><img name="cookie" src="a.png" /></div>'), '<div><img src="a.png" /></div>');
  });

  it('turns any input into a disabled checkbox', () => {
    assert.equal(sanitizeDocumentHtml('<input type="password" name="p" value="x">'), '<input type="checkbox" disabled />');
    assert.equal(sanitizeDocumentHtml('<input type="checkbox" checked>'), '<input type="checkbox" disabled checked />');
  });

  it('adds rel="noopener noreferrer" to target=_blank and removes other targets and author rel values', () => {
    assert.equal(
      sanitizeDocumentHtml('<a href="https://x.example" target="_BLANK" rel="opener">x</a>'),
      '<a href="https://x.example" target="_blank" rel="noopener noreferrer">x</a>',
    );
    assert.equal(sanitizeDocumentHtml('<a href="https://x.example" target="_parent" rel="opener">x</a>'), '<a href="https://x.example">x</a>');
  });

  it('drops the content of script-like elements but keeps text of other removed tags', () => {
    assert.equal(sanitizeDocumentHtml('<p>a<script>b</script><style>c</style><noscript>d</noscript><font>e</font></p>'), '<p>ae</p>');
  });
});
