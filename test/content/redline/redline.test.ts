import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parser } from 'htmlparser2';
import { splitBlocks } from '../../../src/content/redline/blocks.ts';
import { markupDiff, wordDiff } from '../../../src/content/redline/markup-diff.ts';
import { redline } from '../../../src/content/redline/redline.ts';
import { sourceDiff } from '../../../src/content/redline/source-diff.ts';
import { summaryText } from '../../../src/content/redline/summary.ts';
import { renderDocument } from '../../../src/content/render-document.ts';

const html = (markdown: string) => renderDocument('policies/x.md', `---\ntitle: X\n---\n\n${markdown}\n`).html;

const BASE = [
  'Opening paragraph.',
  '## Access requests',
  'Ask your manager first.',
  '- one item\n- two items',
  '## Audits',
  'We audit yearly.',
  '## Storage',
  ...Array.from({ length: 12 }, (_, i) => `Unchanged paragraph number ${i}.`),
].join('\n\n');

test('a changed paragraph keeps its tag and marks deleted and inserted words', () => {
  const result = redline(html(BASE), html(BASE.replace('We audit yearly.', 'We audit every quarter.')));
  assert.equal(result.changed, true);
  assert.match(result.html, /<p class="rl-changed">We audit <del>yearly<\/del><ins>every quarter<\/ins>\.<\/p>/);
  assert.deepEqual(result.counts, { added: 0, removed: 0, changed: 1 });
});

test('a changed list item stays a list item inside its list', () => {
  const result = redline(html(BASE), html(BASE.replace('- two items', '- three items')));
  assert.match(result.html, /<ul>\s*<li>one item<\/li>\s*<li class="rl-changed"><del>two<\/del><ins>three<\/ins> items<\/li>\s*<\/ul>/);
});

test('long unchanged runs are collapsed and context is kept around changes', () => {
  const result = redline(html(BASE), html(BASE.replace('Opening paragraph.', 'Opening paragraph, revised.')));
  assert.match(result.html, /<p class="rl-collapsed">… \d+ unchanged blocks …<\/p>/);
  assert.match(result.html, /Ask your manager first/); // within two blocks of the change
  assert.doesNotMatch(result.html, /Unchanged paragraph number 11/);
});

test('the summary names changed, added and removed sections', () => {
  const changed = redline(html(BASE), html(BASE.replace('Ask your manager first.', 'Ask your lead first.').replace('yearly', 'monthly')));
  assert.deepEqual(changed.summary, { changed: ['Access requests', 'Audits'], added: [], removed: [] });
  assert.equal(summaryText(changed.summary), 'Changed: Access requests, Audits');

  const reshaped = redline(html(BASE), html(BASE.replace('## Audits\n\nWe audit yearly.', '') + '\n\n## Retention\n\nKeep it.'));
  assert.deepEqual(reshaped.summary.added, ['Retention']);
  assert.deepEqual(reshaped.summary.removed, ['Audits']);
  assert.match(summaryText(reshaped.summary)!, /Added: Retention · Removed: Audits/);
});

test('whole added and removed blocks are wrapped in ins and del', () => {
  const result = redline(html(BASE), html(BASE.replace('Opening paragraph.', 'Opening paragraph.\n\n> A new quote.')));
  assert.match(result.html, /<blockquote class="rl-added"><ins>[\s\S]*A new quote\.[\s\S]*<\/ins><\/blockquote>/);
  const removed = redline(html(BASE), html(BASE.replace('We audit yearly.', '')));
  assert.match(removed.html, /<p class="rl-removed"><del>We audit yearly\.<\/del><\/p>/);
});

test('hostile text in a changed block comes out escaped, never as markup', () => {
  const before = html('Use `safe` code.');
  const after = html('Use `<script>alert(1)</script>` and `<img src=x onerror=alert(1)>` code.');
  const result = redline(before, after);
  assert.doesNotMatch(result.html, /<script|<img|onerror=alert\(1\)>/i);
  assert.match(result.html, /&lt;script&gt;/);
  // raw HTML in the Markdown is already dropped by the renderer, and the redline is sanitized again
  const raw = redline(html('Plain.'), html('Plain. <script>alert(1)</script><a href="javascript:x">x</a>'));
  assert.doesNotMatch(raw.html, /<script|javascript:/i);
});

test('word diffs escape what they mark', () => {
  assert.equal(wordDiff('a <b>', 'a <i>'), 'a &lt;<del>b</del><ins>i</ins>&gt;');
});

test('identical bodies have no changes and no summary', () => {
  const result = redline(html(BASE), html(BASE));
  assert.equal(result.changed, false);
  assert.equal(summaryText(result.summary), null);
});

test('tables are compared as whole blocks by their text', () => {
  const table = (cell: string) => html(`| a | b |\n|---|---|\n| ${cell} | 2 |`);
  const result = redline(table('1'), table('3'));
  assert.match(result.html, /<div class="rl-changed rl-text">[\s\S]*<del>1<\/del><ins>3<\/ins>/);
});

test('blocks split at the top level, list items one by one, each with its section', () => {
  const blocks = splitBlocks(html(BASE));
  assert.deepEqual(
    blocks.slice(0, 6).map((b) => [b.tag, b.list, b.section]),
    [
      ['p', null, null],
      ['h2', null, 'Access requests'],
      ['p', null, 'Access requests'],
      ['li', 'ul', 'Access requests'],
      ['li', 'ul', 'Access requests'],
      ['h2', null, 'Audits'],
    ],
  );
});

test('the source diff is line based with context and skipped runs', () => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
  const after = before.replace('line 10', 'line ten');
  const lines = sourceDiff(before, after);
  assert.deepEqual(lines[0], { kind: 'skip', count: 7 });
  assert.deepEqual(
    lines.filter((l) => l.kind === 'added' || l.kind === 'removed'),
    [
      { kind: 'removed', oldNumber: 11, newNumber: null, text: 'line 10' },
      { kind: 'added', oldNumber: null, newNumber: 11, text: 'line ten' },
    ],
  );
  assert.deepEqual(lines.at(-1), { kind: 'skip', count: 6 });
});

/** The changed blocks of a redline, one per line. */
const changedBlocks = (result: { html: string }) => result.html.split('\n').filter((line) => line.includes('rl-changed'));

const VOID = new Set(['br', 'img', 'input', 'hr', 'wbr']);

/** Asserts that every element of the HTML is closed explicitly, in order, and that no closing tag is stray. */
function assertBalanced(html: string): void {
  const problems: string[] = [];
  let explicitCloses = 0;
  const parser = new Parser(
    {
      onclosetag(name, isImplied) {
        if (VOID.has(name)) return;
        if (isImplied) problems.push(`<${name}> not closed in order`);
        else explicitCloses++;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  assert.deepEqual(problems, [], html);
  assert.equal(explicitCloses, (html.match(/<\//g) ?? []).length, `a stray closing tag in ${html}`);
}

test('inline markup in the unchanged part of a changed paragraph is kept', () => {
  const before = 'Keep **bold words**, *italics*, `code` and [a link](https://example.com/a) as they were.';
  const result = redline(html(before), html(before.replace('as they were', 'as they are')));
  const [block] = changedBlocks(result);
  assert.equal(
    block,
    '<p class="rl-changed">Keep <strong>bold words</strong>, <em>italics</em>, <code>code</code> and <a href="https://example.com/a">a link</a> as they <del>were</del><ins>are</ins>.</p>',
  );
  assertBalanced(result.html);
});

test('a word inserted inside a bold run is inside both strong and ins', () => {
  const result = redline(html('The **quick fox** jumps.'), html('The **quick brown fox** jumps, ~~slowly~~ <sup>2</sup>.'));
  const [block] = changedBlocks(result);
  assert.match(block!, /<strong>quick <ins>brown<\/ins> fox<\/strong>/);
  assert.match(block!, /<ins>, <s>slowly<\/s> <sup>2<\/sup><\/ins>/);
  assertBalanced(result.html);
});

test('a link whose target changed is shown as the old link deleted and the new one inserted', () => {
  const result = redline(html('See [the policy](https://example.com/old) now.'), html('See [the policy](https://example.com/new) now.'));
  const [block] = changedBlocks(result);
  assert.equal(
    block,
    '<p class="rl-changed">See <del><a href="https://example.com/old">the policy</a></del><ins><a href="https://example.com/new">the policy</a></ins> now.</p>',
  );
  assertBalanced(result.html);
});

test('a word made bold, or no longer italic, shows as changed', () => {
  const bolder = redline(html('A word here.'), html('A **word** here.'));
  assert.equal(changedBlocks(bolder)[0], '<p class="rl-changed">A <del>word</del><ins><strong>word</strong></ins> here.</p>');
  const plainer = redline(html('- one *two* three'), html('- one two three'));
  assert.equal(changedBlocks(plainer)[0], '<li class="rl-changed">one <del><em>two</em></del><ins>two</ins> three</li>');
  // markup moved around words: everything inside the changed elements is shown changed, and stays balanced
  const moved = redline(html('**a *b* c** d, then more text'), html('*a **b** c* d, then more text'));
  assert.match(changedBlocks(moved)[0]!, /^<p class="rl-changed"><del><strong>a <em>b<\/em> c<\/strong><\/del><ins><em>a <strong>b<\/strong> c<\/em><\/ins> d, then more text<\/p>$/);
  assertBalanced(moved.html);
});

test('changed blocks stay balanced whatever the markup does', () => {
  const pairs: [string, string][] = [
    ['*a* b c', '*a b* c'],
    ['**a `b` c** d', '**a** `b c` d'],
    ['x **y *z* w** v', 'x *y **z** w* v'],
    ['- [ ] task with [link](https://example.com/)', '- [x] task with [a link](https://example.com/) **now**'],
    ['> one **two**\n>\n> three', '> one **two** and\n>\n> three *four*'],
    ['line one  \nline **two**', 'line one line **two**'],
    ['## Heading `one`', '## Heading `two` **now**'],
  ];
  for (const [before, after] of pairs) {
    const result = redline(html(before), html(after));
    assert.equal(result.counts.changed, 1, `${before} → ${after}`);
    assertBalanced(result.html);
  }
  // unclosed and misnested input (the redline does not rely on its input being tidy)
  const marked = markupDiff('<strong>a <em>b</strong> c</em> <a href="https://example.com/">d', '<em>a <strong>b c</em></strong> <code>d');
  assertBalanced(marked);
});

test('a line break removed or added is shown', () => {
  assert.equal(changedBlocks(redline(html('line one  \nline two'), html('line one line two')))[0], '<p class="rl-changed">line one<del>¶</del> line two</p>');
  assert.match(redline(html('line one line two'), html('line one  \nline two')).html, /<p class="rl-changed">line one<ins>¶<br \/><\/ins>\s*line two<\/p>/);
});

test('hostile markup in either version never survives a changed block', () => {
  const before =
    '<p>Go <a href="javascript:alert(1)" onclick="steal()">here</a> <strong style="color:red" onmouseover="steal()">now</strong>' +
    ' <a href="JaVaScRiPt&colon;alert(2)">there</a> <img src="x" onerror="steal()"> <span class="x" id="y">kept</span></p>';
  const after =
    '<p>Go <a href="https://example.com/" data-x="1" target="_self">here</a> <strong class="evil">now</strong> <a href="java&#x09;script:alert(3)">there</a> please' +
    ' <code onclick="steal()">&lt;script&gt;alert(1)&lt;/script&gt;</code> <span class="x" id="y">kept</span></p>';
  const result = redline(before, after);
  assert.doesNotMatch(result.html, /javascript|onclick|onerror|onmouseover|style=|class="evil"|data-x|target=|id="y"|<script|<span/i);
  assert.match(result.html, /<code>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/code>/);
  assert.match(result.html, /<a href="https:\/\/example\.com\/">here<\/a>/);
  assertBalanced(result.html);
  // the same from Markdown: a javascript: link is never a link, raw attributes are dropped by the renderer
  const md = redline(html('Read [this](javascript:alert(1)) <b onclick="x()">now</b>.'), html('Read [this](https://example.com/) <b>now</b>, please.'));
  assert.doesNotMatch(md.html, /href="javascript|onclick=/i);
  assert.match(md.html, /<del>\[this\]\(javascript:alert\(1\)\)<\/del>/); // shown as the text it is
  assertBalanced(md.html);
});

test('a changed paragraph beyond the bounds is shown wholly replaced, its markup kept', () => {
  const words = (prefix: string) => Array.from({ length: 1500 }, (_, i) => (i % 50 === 0 ? `**${prefix}${i}**` : `${prefix}${i}`)).join(' ');
  const result = redline(html(words('old')), html(words('new')));
  const [block] = changedBlocks(result);
  assert.match(block!, /^<p class="rl-changed"><del><strong>old0<\/strong> old1 [^]*<\/del> <ins><strong>new0<\/strong> new1 [^]*<\/ins><\/p>$/);
  assert.equal((block!.match(/<del>/g) ?? []).length, 1);
  assertBalanced(result.html);
});
