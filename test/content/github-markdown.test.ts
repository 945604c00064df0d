import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderMarkdown } from '../../src/content/markdown.ts';
import { sanitizeDocumentHtml } from '../../src/content/sanitize.ts';
import { XSS_PAYLOADS } from './xss-payloads.ts';

const render = (body: string, path = 'handbook/guide.md', firstLine = 1) => renderMarkdown(body, { path, firstLine });
const bothPaths = (body: string, path = 'handbook/guide.md') => {
  const fast = renderMarkdown(body, { path }).html;
  const sanitized = renderMarkdown(body, { path, alwaysSanitize: true }).html;
  assert.equal(fast, sanitized, 'the skipped sanitizer would have changed nothing');
  assert.equal(sanitizeDocumentHtml(fast), fast);
  return fast;
};

describe('Markdown as GitHub renders it', () => {
  it('renders the five alerts as styled blocks with their titles', () => {
    for (const [marker, title] of [['NOTE', 'Note'], ['TIP', 'Tip'], ['IMPORTANT', 'Important'], ['WARNING', 'Warning'], ['CAUTION', 'Caution']]) {
      const html = bothPaths(`> [!${marker}]\n> Read this.\n`);
      assert.match(html, new RegExp(`<div class="markdown-alert markdown-alert-${marker!.toLowerCase()}"><p class="markdown-alert-title">${title}</p>\\n<p>Read this.</p>`));
    }
  });

  it('escapes an alert title written after the marker (it is not raw HTML)', () => {
    const html = bothPaths('> [!WARNING] <img src=x onerror=alert(1)>\n> text\n');
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  });

  it('leaves a plain blockquote alone', () => {
    assert.match(bothPaths('> Just a quote\n'), /^<blockquote>/);
  });

  it('renders footnotes with references both ways, numbered as GitHub does', () => {
    const html = bothPaths('Claim[^src].\n\n[^src]: The source.\n');
    assert.match(html, /<sup class="footnote-ref"><a href="#fn1" id="fnref1">1<\/a><\/sup>/);
    assert.match(html, /<section class="footnotes">\n<ol class="footnotes-list">\n<li id="fn1" class="footnote-item"><p>The source. <a href="#fnref1" class="footnote-backref">/);
  });

  it('turns emoji shortcodes into emoji, leaving unknown ones as text', () => {
    assert.equal(bothPaths('Done :tada: :white_check_mark: :not-an-emoji:'), '<p>Done 🎉 ✅ :not-an-emoji:</p>\n');
    // as GitHub: no text smileys
    assert.equal(bothPaths('Meet at 8:00) :) :-( <3'), '<p>Meet at 8:00) :) :-( &lt;3</p>\n');
  });

  it('keeps no id an author writes, only the footnotes ids', () => {
    const html = render('<a id="location" href="x">a</a><a id="fnref2">b</a>\n\n<ul><li id="config">c</li><li id="fn3">d</li></ul>\n').html;
    assert.doesNotMatch(html, /id="location"|id="config"/);
    assert.match(html, /<a id="fnref2">b<\/a>/);
    assert.match(html, /<li id="fn3">d<\/li>/);
  });

  it('drops classes on links, superscripts and rules other than the footnotes ones', () => {
    const html = render('<a class="button" href="x">a</a> <sup class="big">1</sup>\n<hr class="fancy">\n').html;
    assert.doesNotMatch(html, /button|big|fancy/);
  });
});

describe('references inside raw HTML are resolved like Markdown ones', () => {
  it('rewrites .md links and records them with their line', () => {
    const { html, links } = render('Intro\n\n<a href="../team/index.md">Team</a> and <a href=\'people.md#leave\'>leave</a>\n', 'handbook/guide.md', 5);
    assert.match(html, /<a href="\.\.\/team\/">Team<\/a>/);
    assert.match(html, /<a href="people#leave">leave<\/a>/);
    assert.deepEqual(links, [
      { href: '../team/index.md', target: 'team/index.md', line: 7 },
      { href: 'people.md#leave', target: 'handbook/people.md', anchor: 'leave', line: 7 },
    ]);
  });

  it('records images of an HTML block with the line they are on', () => {
    const { html, links } = render('<p align="center">\n  <img src="diagram.png" alt="Flow" width="400">\n</p>\n');
    assert.match(html, /<img src="diagram\.png" alt="Flow" width="400" \/>/);
    assert.deepEqual(links, [{ href: 'diagram.png', target: 'handbook/diagram.png', line: 2, kind: 'image' }]);
  });

  it('resolves paths from the repository root relative to the page', () => {
    const { html, links } = render('![Logo](/assets/logo.png) [Policy](/policies/x.md) <img src="/assets/logo.png">', 'handbook/team/a.md');
    assert.match(html, /<img src="\.\.\/\.\.\/assets\/logo\.png" alt="Logo" \/>/);
    assert.match(html, /<a href="\.\.\/\.\.\/policies\/x">Policy<\/a>/);
    assert.deepEqual(links.map((l) => l.target), ['assets/logo.png', 'policies/x.md']);
    assert.equal(render('[Home](/index.md)', 'top.md').html, '<p><a href="./">Home</a></p>\n');
  });

  it('leaves external, protocol-relative and dangerous URLs to the sanitizer', () => {
    const { html, links } = render('<a href="https://example.com/x.md">e</a> <img src="//evil.example/x.png"> <a href="javascript:alert(1)">j</a>');
    assert.deepEqual(links, []);
    assert.match(html, /href="https:\/\/example\.com\/x\.md"/);
    assert.doesNotMatch(html, /evil\.example|javascript/);
  });

  it('keeps a sanitizer-hostile attribute out even after rewriting', () => {
    const { html } = render('<a href="x.md" onclick="alert(1)">x</a><img src="a.png" onerror="alert(1)">');
    assert.equal(html, '<p><a href="x">x</a><img src="a.png" /></p>\n');
  });

  it('scans a long tag without an attribute in linear time', () => {
    const started = performance.now();
    render(`<div>${'<a '.repeat(50_000)}</div>`);
    // generous: a quadratic scan of 150 KB takes minutes
    assert.ok(performance.now() - started < 5000);
  });
});

describe('hostile input inside alerts, footnotes and raw-HTML links', () => {
  const FORBIDDEN = /<\/?\s*(script|style|iframe|object|embed|svg|math|base|form|meta|link|frame|template|textarea|button)\b/i;
  const assertSafe = (html: string, context: string) => {
    assert.doesNotMatch(html, FORBIDDEN, context);
    for (const tag of html.match(/<[a-zA-Z!/][^>]*>/g) ?? []) {
      for (const [, name] of tag.matchAll(/\s([^\s="/>]+)(?:="[^"]*")?/g)) assert.doesNotMatch(name!, /^on/i, context);
      // URLs are checked by their start (a relative path may hold any text); the rest of the tag holds no script scheme
      const decoded = tag.replace(/\s(?:href|src)="[^"]*"/g, '').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
      assert.doesNotMatch(decoded.replace(/[\x00-\x20]+/g, ''), /(javascript|vbscript):/i, context);
      for (const [, value] of tag.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
        const url = value!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/[\x00-\x20]+/g, '');
        assert.doesNotMatch(url, /^((javascript|vbscript|data):|\/\/|\\\\)/i, context);
      }
    }
  };
  for (const [index, payload] of XSS_PAYLOADS.entries()) {
    it(`payload ${index + 1} in every GitHub construct`, () => {
      const oneLine = payload.replace(/\n/g, ' ');
      for (const body of [
        `> [!NOTE] ${oneLine}\n> ${oneLine}\n`,
        `> [!WARNING]\n> ${payload.replace(/\n/g, '\n> ')}\n`,
        `Text[^x] :tada:\n\n[^x]: ${oneLine}\n`,
        `<a href="${oneLine.replace(/"/g, '&quot;')}.md">x</a> <img src="${oneLine.replace(/"/g, '&quot;')}">\n`,
      ]) {
        for (const alwaysSanitize of [false, true]) {
          const { html } = renderMarkdown(body, { path: 'handbook/page.md', alwaysSanitize });
          assertSafe(html, `${JSON.stringify(body)} gave ${JSON.stringify(html)}`);
        }
      }
    });
  }
});
