import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findBrokenLinks, pageHrefFor, resolveRelativeLink } from '../../src/content/links.ts';

describe('resolveRelativeLink', () => {
  it('resolves siblings, subfolders and parents against the linking document', () => {
    assert.deepEqual(resolveRelativeLink('policies/data-handling.md', 'incident-response.md'), { target: 'policies/incident-response.md' });
    assert.deepEqual(resolveRelativeLink('policies/data-handling.md', './team/index.md'), { target: 'policies/team/index.md' });
    assert.deepEqual(resolveRelativeLink('policies/data-handling.md', '../news/launch.md#x'), { target: 'news/launch.md', anchor: 'x' });
    assert.deepEqual(resolveRelativeLink('a/b/c.md', '../../d.md'), { target: 'd.md' });
    assert.deepEqual(resolveRelativeLink('top.md', 'sub/../other.md'), { target: 'other.md' });
  });

  it('treats a folder index like any file of that folder', () => {
    assert.deepEqual(resolveRelativeLink('policies/index.md', 'data-handling.md'), { target: 'policies/data-handling.md' });
  });

  it('keeps ../ on targets that leave the repository', () => {
    assert.deepEqual(resolveRelativeLink('top.md', '../../x.md'), { target: '../../x.md' });
    assert.deepEqual(resolveRelativeLink('a/b.md', '../../x.md'), { target: '../x.md' });
  });

  it('decodes percent-encoding in the path and the anchor', () => {
    assert.deepEqual(resolveRelativeLink('plans/index.md', 'road%20map.md#n%C3%A4chste'), { target: 'plans/road map.md', anchor: 'nächste' });
  });

  it('resolves generated paths as joining split("/") segments does', () => {
    // The reference: every segment of folder and href in order; `.` and empty ones dropped, `..` pops a name.
    const reference = (from: string, href: string): string => {
      const parts: string[] = [];
      for (const segment of [...from.split('/').slice(0, -1), ...href.split('/')]) {
        if (segment === '' || segment === '.') continue;
        if (segment === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
        else parts.push(segment);
      }
      return parts.join('/');
    };
    const segments = ['a', 'bc', '..', '.', '', 'index.md'];
    let seed = 1;
    const pick = (): string => segments[(seed = (seed * 48271) % 2147483647) % segments.length]!;
    const path = (n: number): string => Array.from({ length: n }, pick).join('/');
    for (let i = 0; i < 5000; i++) {
      const from = `${path(i % 4)}/x.md`.replace(/^\/+/, '');
      const href = `${path(i % 5)}/y.md`.replace(/^\/+/, '');
      assert.deepEqual(resolveRelativeLink(from, href), { target: reference(from, href) }, `${from} ${href}`);
    }
  });

  it('ignores a query string and an empty anchor', () => {
    assert.deepEqual(resolveRelativeLink('a.md', 'b.md?plain=1#'), { target: 'b.md' });
  });

  it('returns null for absolute URLs, mail, pure anchors, rooted paths and non-Markdown files', () => {
    for (const href of [
      'https://example.com/a.md',
      'HTTP://example.com/a.md',
      'mailto:someone@example.com',
      '#scope',
      '',
      '/policies/a.md',
      '//evil.example/a.md',
      '\\\\evil.example\\a.md',
      'files/form.pdf',
      'team/',
      'javascript:alert(1)//.md',
    ]) {
      assert.equal(resolveRelativeLink('policies/x.md', href), null, href);
    }
  });
});

describe('pageHrefFor', () => {
  it('drops .md and maps index.md to its folder, keeping query and anchor', () => {
    assert.equal(pageHrefFor('incident-response.md'), 'incident-response');
    assert.equal(pageHrefFor('../news/launch.md#x'), '../news/launch#x');
    assert.equal(pageHrefFor('team/index.md'), 'team/');
    assert.equal(pageHrefFor('index.md'), './');
    assert.equal(pageHrefFor('index.md#top'), './#top');
    assert.equal(pageHrefFor('../index.md'), '../');
    assert.equal(pageHrefFor('b.md?plain=1#y'), 'b?plain=1#y');
    assert.equal(pageHrefFor('reindex.md'), 'reindex');
  });
});

describe('findBrokenLinks', () => {
  it('reports links to missing documents and links leaving the repository, with their source', () => {
    const broken = findBrokenLinks(
      [
        {
          path: 'policies/data-handling.md',
          links: [
            { href: 'incident-response.md', target: 'policies/incident-response.md' },
            { href: 'retention.md', target: 'policies/retention.md' },
          ],
        },
        { path: 'index.md', links: [{ href: '../other/x.md', target: '../other/x.md' }] },
        { path: 'news/launch.md', links: [{ href: '../index.md#top', target: 'index.md', anchor: 'top' }] },
      ],
      new Set(['policies/data-handling.md', 'policies/incident-response.md', 'index.md', 'news/launch.md']),
    );
    assert.deepEqual(broken, [
      { from: 'policies/data-handling.md', href: 'retention.md', target: 'policies/retention.md' },
      { from: 'index.md', href: '../other/x.md', target: '../other/x.md' },
    ]);
  });

  it('reports nothing when every target exists', () => {
    assert.deepEqual(findBrokenLinks([{ path: 'a.md', links: [{ href: 'b.md', target: 'b.md' }] }], new Set(['a.md', 'b.md'])), []);
  });
});
