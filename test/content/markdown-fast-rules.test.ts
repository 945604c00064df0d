/**
 * The faster replacements must change nothing: each is compared with the stock behaviour of the installed
 * markdown-it / linkify-it, and the post-processing fast paths with the code they replaced.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import MarkdownIt from 'markdown-it';
import type { MarkdownIt as MarkdownItInstance, Token } from 'markdown-it';
import { full as emoji } from 'markdown-it-emoji';
import { LINKIFY_SCHEMA_PREFIXES, mayHoldShortcode, TEXT_TERMINATORS } from '../../src/content/markdown-fast-rules.ts';
import { asSanitizerWrites, createMarkdownIt, inlineText, slugify } from '../../src/content/markdown.ts';
import { XSS_PAYLOADS } from './xss-payloads.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

type Rule = (...args: never[]) => unknown;
interface RulerInternals {
  __rules__: { name: string; fn: Rule }[];
}

/** A rule as markdown-it ships it (read from a fresh instance's ruler). */
function stockRule(ruler: unknown, name: string): Rule {
  const rule = (ruler as RulerInternals).__rules__.find((r) => r.name === name);
  assert.ok(rule, `markdown-it has no rule ${name}`);
  return rule.fn;
}

/**
 * The project's markdown-it, but with the stock `text` and `normalize` rules, linkify-it's own `test()` and
 * markdown-it-emoji's rule run on every document.
 */
function stockMarkdownIt(): MarkdownItInstance {
  const md = createMarkdownIt();
  const plain = new MarkdownIt();
  md.inline.ruler.at('text', stockRule(plain.inline.ruler, 'text') as never);
  md.core.ruler.at('normalize', stockRule(plain.core.ruler, 'normalize') as never);
  md.core.ruler.at('emoji', stockRule(new MarkdownIt().use(emoji, { shortcuts: {} }).core.ruler, 'emoji') as never);
  delete (md.linkify as { test?: unknown }).test; // back to the prototype's method
  assert.ok(typeof md.linkify.test === 'function');
  return md;
}

const rng = seededRandom;

function randomText(next: () => number, pieces: readonly string[], count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += pieces[Math.floor(next() * pieces.length)];
  return text;
}

const MARKDOWN_PIECES = [
  'word', 'Word ', ' ', ' ', '  ', '\n', '\n\n', '\r\n', '\r', '\0', '\t', '# ', '## Heading', '### Sub', '- ', '* ',
  '1. ', '> ', '- [ ] ', '- [x] ', '**', '*', '_', '__', '~~', '`', '```\ncode\n```\n', '    indented', '\\*', '\\',
  '[link](other.md)', '[a](../b/index.md#x)', '[x](https://example.com)', '![img](pic.png)', '[ref]', '[ref]: /u\n',
  '<b>', '</b>', '<!-- c -->', '<div>', '&amp;', '&quot;', '&#58;', '"', "'", '<', '>', '&', ':', '@', '!', '#', '$',
  '%', '+', '=', '^', '{', '}', '|', '~', 'http://x.org/a', 'HTTPS://Example.com', 'hTtP:', 'ftp://f.net', '//host',
  'mailto:a@b.co', 'a@example.com', 'www.example.org', 'WWW.Example.ORG', 'wWw.x.io', 'www.', 'x.md', 'ÄÖü',
  '\u00a0', '\u3000', '😀', '|a|b|\n|:-|-:|\n|1|2|\n', '---\n', '***', 'ſ', 'K',
  ':smile:', ':+1:', ':-1:', ':Smile:', ':no_such_emoji:', ':smile', 'tada:', '10:30:45', ':---:', '|:---:|', '<:smile:>',
  '`:smile:`', '\\:smile:', '&#58;smile&#58;', 'https://x.org/:smile:', ':star::star:', ':-',
];

describe('markdown-fast-rules: the text rule', () => {
  it('stops at exactly the characters the stock rule stops at', () => {
    const md = new MarkdownIt();
    const stockText = stockRule(md.inline.ruler, 'text') as (state: unknown, silent: boolean) => boolean;
    for (let code = 0; code <= 0xffff; code++) {
      const char = String.fromCharCode(code);
      const state = new md.inline.State(`${char}a`, md, {}, []);
      const stops = !stockText(state, true);
      assert.equal(TEXT_TERMINATORS.includes(char), stops, `U+${code.toString(16)}`);
    }
  });
});

describe('markdown-fast-rules: linkify prefilter', () => {
  it('covers every schema linkify-it is configured with, and fuzzy links stay off', () => {
    const linkify = createMarkdownIt().linkify as unknown as { __schemas__: object; __opts__: { fuzzyLink: boolean } };
    for (const schema of Object.keys(linkify.__schemas__)) {
      assert.ok((LINKIFY_SCHEMA_PREFIXES as readonly string[]).includes(schema), schema);
    }
    assert.equal(linkify.__opts__.fuzzyLink, false);
  });

  it('answers as linkify-it does for every prefix in any letter case', () => {
    const fast = createMarkdownIt().linkify;
    const stock = stockMarkdownIt().linkify;
    const mixedCase = (prefix: string) => [...prefix].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
    for (const prefix of [...LINKIFY_SCHEMA_PREFIXES, '@']) {
      for (const variant of [prefix, prefix.toUpperCase(), mixedCase(prefix)]) {
        const texts = [`${variant}example.com/x`, `see ${variant}x.org.`, `(${variant}a.b)`, `x${variant}`, `u${variant}e.org`];
        for (const text of texts) assert.equal(fast.test(text), stock.test(text), text);
      }
    }
  });
});

describe('markdown-fast-rules: emoji shortcodes', () => {
  it('lets every name markdown-it-emoji knows through, alone and inside text', async () => {
    // the plugin's data module is not in its package exports; read by file
    const data = (await import(new URL('../../node_modules/markdown-it-emoji/lib/data/full.mjs', import.meta.url).href)) as { default: Record<string, string> };
    const names = Object.keys(data.default);
    assert.ok(names.length > 1000);
    const fast = createMarkdownIt();
    const stock = stockMarkdownIt();
    for (const name of names) {
      assert.ok(mayHoldShortcode(`:${name}:`), name);
      for (const source of [`:${name}:`, `a :${name}: b`, `| x |\n|:---:|\n| :${name}: |\n`]) {
        const env = () => ({ headingTitle: null });
        assert.equal(fast.render(source, env()), stock.render(source, env()), source);
      }
    }
  });

  it('finds no candidate where there is none to replace', () => {
    for (const text of ['', 'no colon', 'one: colon', '|:---:|:--|', ':::', ': smile :', ':Smile:', ':smile', 'a:b c:d']) assert.equal(mayHoldShortcode(text), false, text);
    for (const text of [':smile:', 'at 10:30:45', ':---:smile:', 'x :no_such: y']) assert.equal(mayHoldShortcode(text), true, text);
  });
});

describe('markdown-fast-rules: whole renders', () => {
  const fast = createMarkdownIt();
  const stock = stockMarkdownIt();
  const same = (source: string) => {
    const env = () => ({ headingTitle: null });
    assert.equal(fast.render(source, env()), stock.render(source, env()), JSON.stringify(source));
  };

  it('render the fixtures and the XSS payloads as stock markdown-it does', () => {
    for (const name of ['data-handling.md', 'gfm-tour.md', 'raw-html.md']) {
      same(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
    }
    for (const payload of XSS_PAYLOADS) same(payload);
  });

  it('render generated Markdown as stock markdown-it does', () => {
    const next = rng(7);
    for (let i = 0; i < 3000; i++) same(randomText(next, MARKDOWN_PIECES, 1 + Math.floor(next() * 40)));
  });
});

// The implementations the fast paths replaced, as oracles.
const oldSlugify = (text: string): string =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s+/g, '-') || 'section';
const oldAsSanitizerWrites = (html: string): string =>
  html.includes('&quot;')
    ? html.replace(/(?:^|>)[^<]+/g, (run) => (run.includes('&quot;') ? run.replaceAll('&quot;', '"') : run))
    : html;

describe('markdown: post-processing fast paths', () => {
  it('slugify: the ASCII path equals the Unicode one', () => {
    for (let code = 0; code < 128; code++) {
      const text = `A${String.fromCharCode(code)}b ${String.fromCharCode(code)}`;
      assert.equal(slugify(text), oldSlugify(text), JSON.stringify(text));
    }
    const next = rng(11);
    const pieces = ['Ab', 'Z9', ' ', '  ', '\t', '\n', '-', '_', '.', '&', 'É', 'ß', 'ﬁ', 'Ⅻ', '①', 'e\u0301', '\u00a0', '😀', "'", '?'];
    for (let i = 0; i < 5000; i++) {
      const text = randomText(next, pieces, Math.floor(next() * 12));
      assert.equal(slugify(text), oldSlugify(text), JSON.stringify(text));
    }
  });

  it('asSanitizerWrites: unescapes &quot; in text only, as the run-by-run replace did', () => {
    const next = rng(13);
    const pieces = ['<', '>', '&quot;', 'a', ' ', '&', 'quot;', '<p>', '</p>', '<a title="&quot;x&quot;">', '"'];
    for (let i = 0; i < 20_000; i++) {
      const html = randomText(next, pieces, Math.floor(next() * 16));
      assert.equal(asSanitizerWrites(html), oldAsSanitizerWrites(html), JSON.stringify(html));
    }
  });

  it('asSanitizerWrites: a long paragraph full of quotes, between tags with quoted attributes, as before', () => {
    // One search back per quote made this quadratic (a 1 MB paragraph took minutes); it must stay linear and exact.
    const html = `<p>${'say &quot;hi&quot; '.repeat(20_000)}</p>\n<a title="&quot;x&quot;" href="y">${'&quot;'.repeat(5_000)}</a>`;
    assert.equal(asSanitizerWrites(html), oldAsSanitizerWrites(html));
  });

  it('inlineText: collapses whitespace as before', () => {
    const next = rng(17);
    const pieces = ['a', 'B c', ' ', '  ', '\t', '\n', '\u00a0', '\u2003', '\ufeff', 'x'];
    for (let i = 0; i < 5000; i++) {
      const texts = Array.from({ length: Math.floor(next() * 4) }, () => randomText(next, pieces, 6));
      const children = texts.map((content) => ({ type: 'text', content })) as unknown as Token[];
      const expected = texts.join('').replace(/\s+/g, ' ').trim();
      assert.equal(inlineText(children), expected, JSON.stringify(texts));
    }
  });
});
