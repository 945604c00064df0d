import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderMarkdown, slugify } from '../../src/content/markdown.ts';
import { renderDocument } from '../../src/content/render-document.ts';
import { sanitizeDocumentHtml } from '../../src/content/sanitize.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const render = (body: string, path = 'policies/page.md') => renderMarkdown(body, { path });
const idsOf = (html: string): string[] => [...html.matchAll(/<h[1-6] id="([^"]*)"/g)].map((m) => m[1]!);

describe('renderMarkdown: GFM features', () => {
  it('renders a pipe table as a <table>, with alignment as classes rather than inline styles', () => {
    const { html } = render('| Left | Middle | Right |\n|:-----|:------:|------:|\n| a | b | c |\n');
    assert.match(html, /<table>\s*<thead>\s*<tr>\s*<th class="align-left">Left<\/th>/);
    assert.match(html, /<td class="align-center">b<\/td>/);
    assert.match(html, /<td class="align-right">c<\/td>/);
    assert.doesNotMatch(html, /style=/);
  });

  it('renders ~~strikethrough~~ as <s>', () => {
    assert.match(render('Old ~~fax~~ number').html, /<s>fax<\/s>/);
  });

  it('renders task list items as disabled checkboxes', () => {
    const { html } = render('- [x] done\n- [ ] open\n- plain item\n');
    assert.match(html, /<ul class="contains-task-list">/);
    assert.match(html, /<li class="task-list-item"><input type="checkbox" disabled checked class="task-list-item-checkbox" \/> done<\/li>/);
    assert.match(html, /<li class="task-list-item"><input type="checkbox" disabled class="task-list-item-checkbox" \/> open<\/li>/);
    assert.match(html, /<li>plain item<\/li>/);
    assert.equal(html.match(/<input/g)?.length, 2);
  });

  it('does not turn brackets inside a sentence into a checkbox', () => {
    assert.doesNotMatch(render('- see [x] below\n- [y] is not a task\n').html, /<input/);
  });

  it('autolinks URLs, www. addresses and e-mail addresses', () => {
    const { html } = render('Visit https://example.com/docs, www.example.org or mail help@example.com.');
    assert.match(html, /<a href="https:\/\/example\.com\/docs">https:\/\/example\.com\/docs<\/a>,/);
    assert.match(html, /<a href="https:\/\/www\.example\.org">www\.example\.org<\/a> or/);
    assert.match(html, /<a href="mailto:help@example\.com">help@example\.com<\/a>\./);
  });

  it('does not autolink file names that look like domains', () => {
    assert.doesNotMatch(render('Edit incident-response.md and README.md directly.').html, /<a /);
  });

  it('keeps a fenced code block escaped, with its language as a class', () => {
    const { html } = render('```ts\nconst x = "<b>";\n```\n');
    assert.match(html, /<pre><code class="language-ts">const x = "&lt;b&gt;";\n<\/code><\/pre>/);
  });

  it('passes allowed raw HTML through: details/summary and classes', () => {
    const { html } = render('<details open>\n<summary>More</summary>\n\nHidden *text*.\n</details>\n\n<div class="text-muted">Muted</div>\n');
    assert.match(html, /<details open>\s*<summary>More<\/summary>/);
    assert.match(html, /<em>text<\/em>/);
    assert.match(html, /<div class="text-muted">Muted<\/div>/);
  });
});

describe('renderMarkdown: heading ids and table of contents', () => {
  it('gives headings slug ids, numbering duplicates -2, -3', () => {
    const { html } = render('## Scope\n\n## Scope\n\n### Scope\n\n## What we never do\n');
    assert.deepEqual(idsOf(html), ['scope', 'scope-2', 'scope-3', 'what-we-never-do']);
  });

  it('produces the same ids on every render (no state leaks between documents)', () => {
    const body = '## Intro\n\n## Intro\n';
    assert.deepEqual(idsOf(render(body).html), ['intro', 'intro-2']);
    assert.deepEqual(idsOf(render(body).html), ['intro', 'intro-2']);
  });

  it('slugs punctuation away and keeps non-ASCII letters', () => {
    assert.equal(slugify("What stays in the tenant's region"), 'what-stays-in-the-tenants-region');
    assert.equal(slugify('Données personnelles & RGPD'), 'données-personnelles-rgpd');
    assert.equal(slugify('  Step 2: `npm install`  '), 'step-2-npm-install');
    assert.equal(slugify('???'), 'section');
  });

  it('keeps ids after sanitizing, and headings with markup get the ids of their text', () => {
    const { html, toc } = render('## **In a breach**\n\n## Use `git push`\n');
    assert.match(html, /<h2 id="in-a-breach"><strong>In a breach<\/strong><\/h2>/);
    assert.deepEqual(
      toc.map((e) => [e.id, e.text]),
      [
        ['in-a-breach', 'In a breach'],
        ['use-git-push', 'Use git push'],
      ],
    );
  });

  it('nests h3 entries under the preceding h2 and ignores other levels', () => {
    const { toc } = render('### Orphan\n\n## One\n\n### One A\n\n#### Deep\n\n### One B\n\n## Two\n\n##### Five\n');
    assert.deepEqual(toc, [
      { id: 'orphan', text: 'Orphan', children: [] },
      {
        id: 'one',
        text: 'One',
        children: [
          { id: 'one-a', text: 'One A', children: [] },
          { id: 'one-b', text: 'One B', children: [] },
        ],
      },
      { id: 'two', text: 'Two', children: [] },
    ]);
  });

  it('leaves headings inside block quotes out of the table of contents', () => {
    const { toc, html } = render('> ## Quoted\n\n## Real\n');
    assert.deepEqual(toc.map((e) => e.text), ['Real']);
    assert.match(html, /<h2 id="quoted">Quoted<\/h2>/);
  });

  it('plain text for the TOC decodes entities', () => {
    assert.equal(render('## Terms &amp; conditions\n').toc[0]?.text, 'Terms & conditions');
  });
});

describe('renderMarkdown: the title heading', () => {
  it('takes the first H1 as the title and removes it from the HTML', () => {
    const result = render('# Data handling\n\nIntro.\n\n## Scope\n');
    assert.equal(result.headingTitle, 'Data handling');
    assert.doesNotMatch(result.html, /<h1/);
    assert.match(result.html, /^<p>Intro\.<\/p>/);
  });

  it('does not let the removed title reserve its slug', () => {
    assert.deepEqual(idsOf(render('# Scope\n\n## Scope\n').html), ['scope']);
  });

  it('removes a leading H1 equal to the front matter title, and keeps a different one', () => {
    const same = renderMarkdown('# Data Handling\n\nText', { path: 'x.md', frontMatterTitle: 'Data handling' });
    assert.doesNotMatch(same.html, /<h1/);
    assert.equal(same.headingTitle, null);
    const different = renderMarkdown('# Overview\n\nText', { path: 'x.md', frontMatterTitle: 'Data handling' });
    assert.match(different.html, /<h1 id="overview">Overview<\/h1>/);
  });

  it('looks past leading HTML comments for the leading H1', () => {
    const result = renderMarkdown('<!-- owner: legal -->\n# Data handling\n\nText', { path: 'x.md', frontMatterTitle: 'Data handling' });
    assert.doesNotMatch(result.html, /<h1/);
  });

  it('has no heading title when there is no H1', () => {
    assert.equal(render('## Only a subsection\n').headingTitle, null);
  });
});

describe('renderMarkdown: links between documents', () => {
  it('rewrites a sibling .md link to the page URL and records it', () => {
    const { html, links } = render('See the [runbook](incident-response.md).', 'policies/data-handling.md');
    assert.match(html, /<a href="incident-response">runbook<\/a>/);
    assert.deepEqual(links, [{ href: 'incident-response.md', target: 'policies/incident-response.md', line: 1 }]);
  });

  it('keeps anchors and resolves ../ paths', () => {
    const { html, links } = render('[Launch](../news/launch.md#x)', 'policies/data-handling.md');
    assert.match(html, /<a href="\.\.\/news\/launch#x">/);
    assert.deepEqual(links, [{ href: '../news/launch.md#x', target: 'news/launch.md', anchor: 'x', line: 1 }]);
  });

  it('maps index.md links to folder URLs', () => {
    const { html, links } = render('[Team](team/index.md) [Here](index.md) [Up](../index.md#top)', 'handbook/intro.md');
    assert.match(html, /<a href="team\/">Team<\/a>/);
    assert.match(html, /<a href="\.\/">Here<\/a>/);
    assert.match(html, /<a href="\.\.\/#top">Up<\/a>/);
    assert.deepEqual(
      links.map((l) => l.target),
      ['handbook/team/index.md', 'handbook/index.md', 'index.md'],
    );
  });

  it('resolves links in a folder index against its own folder (its URL ends with a slash)', () => {
    const { html, links } = render('[Data](data-handling.md)', 'policies/index.md');
    assert.match(html, /<a href="data-handling">/);
    assert.deepEqual(links, [{ href: 'data-handling.md', target: 'policies/data-handling.md', line: 1 }]);
  });

  it('records links escaping the repository with a ../ target', () => {
    const { links } = render('[Elsewhere](../../x.md)', 'top.md');
    assert.deepEqual(links, [{ href: '../../x.md', target: '../../x.md', line: 1 }]);
  });

  it('decodes percent-encoded paths for the target but keeps the URL encoded', () => {
    const { html, links } = render('[Plan](<road map.md>)', 'plans/index.md');
    assert.match(html, /<a href="road%20map">/);
    assert.deepEqual(links, [{ href: 'road map.md', target: 'plans/road map.md', line: 1 }]);
  });

  it('leaves absolute URLs, mail links, anchors and attachments as written, and records the local ones', () => {
    const body = '[a](https://example.com/x.md) [b](mailto:x@example.com) [c](#scope) [d](files/form.pdf)';
    const { html, links } = render(body);
    assert.deepEqual(links, [
      { href: '#scope', target: 'policies/page.md', anchor: 'scope', line: 1 },
      { href: 'files/form.pdf', target: 'policies/files/form.pdf', line: 1 },
    ]);
    for (const href of ['https://example.com/x.md', 'mailto:x@example.com', '#scope', 'files/form.pdf']) {
      assert.ok(html.includes(`href="${href}"`), href);
    }
  });

  it('records each distinct link once', () => {
    assert.equal(render('[a](x.md) and [again](x.md)').links.length, 1);
  });

  it('leaves relative images as written', () => {
    assert.match(render('![Map](images/map.png)').html, /<img src="images\/map\.png" alt="Map" \/>/);
  });
});

describe('fixtures', () => {
  it('renders seed 001 (data handling) with its table, muted div and rewritten link', () => {
    const doc = renderDocument('policies/data-handling.md', fixture('data-handling.md'));
    assert.deepEqual(doc.errors, []);
    assert.equal(doc.title, 'Data handling');
    assert.equal(doc.sort, 2);
    assert.deepEqual(doc.tags, ['policy', 'compliance']);
    assert.doesNotMatch(doc.html, /<h1/);
    assert.match(doc.html, /<table>[\s\S]*<th>Class<\/th>[\s\S]*<td>Restricted<\/td>[\s\S]*<\/table>/);
    assert.equal(doc.html.match(/<tr>/g)?.length, 5);
    assert.match(doc.html, /<div class="text-muted">Raw HTML passes through the renderer — this paragraph demonstrates that\.<\/div>/);
    assert.match(doc.html, /<a href="incident-response">incident response runbook<\/a>/);
    assert.deepEqual(
      doc.toc.map((e) => e.id),
      ['classification', 'what-stays-in-the-tenants-region', 'access-requests', 'what-we-never-do', 'in-a-breach', 'audits'],
    );
    assert.deepEqual(doc.links, [{ href: 'incident-response.md', target: 'policies/incident-response.md', line: 54 }]);
  });

  it('renders the GFM tour', () => {
    const doc = renderDocument('onboarding/checklist.md', fixture('gfm-tour.md'));
    assert.equal(doc.title, 'Onboarding checklist');
    assert.deepEqual(doc.tags, ['onboarding']);
    assert.equal(doc.html.match(/<input type="checkbox" disabled/g)?.length, 3);
    assert.match(doc.html, /<td class="align-left"><s>Fax<\/s><\/td>/);
    assert.deepEqual(
      doc.links.map((l) => l.target),
      ['policies/data-handling.md', 'onboarding/team/index.md', 'index.md', 'onboarding/incident-response.md', 'onboarding/images/office-map.png'],
    );
    assert.deepEqual(doc.toc[0]?.children.map((c) => c.id), ['accounts', 'accounts-2']);
    assert.match(doc.html, /<img src="images\/office-map\.png" alt="Office map" title="Second floor" \/>/);
  });

  it('keeps the documentation HTML authors write', () => {
    const doc = renderDocument('handbook/raw.md', fixture('raw-html.md'));
    assert.match(doc.html, /<p class="lead">A lead paragraph with <kbd>Ctrl<\/kbd>/);
    assert.match(doc.html, /<th scope="col" colspan="2">Contact<\/th>/);
    assert.match(doc.html, /<img src="https:\/\/cdn\.example\.com\/diagram\.png" alt="Data flow" width="600" \/>/);
    assert.match(doc.html, /<a href="https:\/\/status\.example\.com" target="_blank" rel="noopener noreferrer">/);
    assert.match(doc.html, /<ol start="3">/);
    assert.match(doc.html, /H<sub>2<\/sub>O/);
  });

  for (const name of ['data-handling.md', 'gfm-tour.md', 'raw-html.md']) {
    it(`sanitizing the rendered ${name} again changes nothing`, () => {
      const { html } = renderDocument(`policies/${name}`, fixture(name));
      assert.ok(html.length > 100);
      assert.equal(sanitizeDocumentHtml(html), html);
    });
  }
});

describe('renderMarkdown: the sanitizer shortcut', () => {
  const bodies = [
    fixture('data-handling.md'),
    fixture('gfm-tour.md'),
    fixture('raw-html.md'),
    '# Title\n\nText with "quotes" & <angles> and `code "x"`.\n\n---\n\nline  \nbreak ![alt "x"](https://x.test/a.png "t\\"t")\n',
    '- [ ] open\n- [x] done\n  - [ ] nested\n\n1. [x] ordered\n',
    '[rel](other.md) [abs](https://a.test/?x=1&y=2) [mail](mailto:a@b.test) [proto](//evil.test) [js](javascript:alert(1))\n',
    '![data](data:image/png;base64,AAAA) ![mail](mailto:a@b.test) [up](HTTPS://A.TEST) [spaced](<java script:x>)\n',
    '```ts "x"\nconst a = "b" && c < d;\n```\n\n| a "1" | b |\n|:--|--:|\n| "x" | y |\n',
  ];

  it('writes exactly what the sanitizer would, with or without raw HTML', async () => {
    const { XSS_PAYLOADS } = await import('./xss-payloads.ts');
    for (const body of [...bodies, ...XSS_PAYLOADS]) {
      const fast = renderMarkdown(body, { path: 'policies/page.md' });
      const sanitized = renderMarkdown(body, { path: 'policies/page.md', alwaysSanitize: true });
      assert.equal(fast.html, sanitized.html, body);
      assert.equal(sanitizeDocumentHtml(fast.html), fast.html, body);
    }
  });

  it('numbers many repeated headings the same way as before (linear, -2 … -n)', () => {
    const body = Array.from({ length: 400 }, (_, i) => `## Overview\n\n### Step ${i % 3}\n\nText.\n`).join('\n') + '\n## Overview-2\n';
    const ids = idsOf(render(body).html);
    assert.equal(ids[0], 'overview');
    assert.equal(ids[1], 'step-0');
    assert.equal(ids[2], 'overview-2');
    assert.equal(ids[7], 'step-0-2');
    assert.equal(ids[ids.length - 1], 'overview-2-2');
    assert.equal(new Set(ids).size, ids.length);
  });
});
