import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { addedLinkProblems, checkLinks, foldersOf, formatLinkProblem, type CheckedDocument, type LinkProblem } from '../../src/content/link-check.ts';
import { renderDocument } from '../../src/content/render-document.ts';

function check(files: Record<string, string>) {
  const docs = new Map<string, CheckedDocument>();
  const attachments = new Set<string>();
  for (const [path, source] of Object.entries(files)) {
    if (path.endsWith('.md')) docs.set(path, renderDocument(path, source));
    else attachments.add(path);
  }
  const folders = foldersOf(docs.keys());
  return checkLinks(docs.values(), {
    document: (path) => docs.get(path),
    hasAttachment: (path) => attachments.has(path),
    hasFolder: (path) => folders.has(path),
  }).map(formatLinkProblem);
}

describe('checkLinks', () => {
  it('finds nothing wrong in a project whose links all resolve', () => {
    assert.deepEqual(
      check({
        'index.md': '# Home\n\n[Team](team/index.md) [Folder](team/) [Guide](guide.md#setup) [No ext](guide) [Self](#home-section)\n\n## Home section\n',
        'guide.md': '# Guide\n\n## Setup\n\n![Diagram](img/d.png) <img src="/img/d.png"> [PDF](files/a.pdf)\n',
        'team/index.md': '# Team\n\n[Up](../index.md)\n',
        'img/d.png': 'png',
        'files/a.pdf': 'pdf',
      }),
      [],
    );
  });

  it('reports broken links, missing images and unknown anchors with file and line', () => {
    assert.deepEqual(
      check({
        'index.md': '---\ntitle: Home\n---\n[Gone](gone.md)\n\n![Pic](missing.png)\n\n[Bad anchor](guide.md#nowhere) [Here](#nope)\n\n<a href="../out.md">out</a>\n',
        'guide.md': '# Guide\n\n## Setup\n',
      }),
      [
        'index.md:4: link gone.md leads to a page that does not exist',
        'index.md:6: image missing.png does not exist',
        'index.md:8: link guide.md#nowhere: guide.md has no heading #nowhere',
        'index.md:8: link #nope: this document has no heading #nope',
        'index.md:10: link ../out.md points outside the project',
      ],
    );
  });

  it('does not take a document for an image, nor a folder of attachments only for a page', () => {
    assert.deepEqual(check({ 'a.md': '![x](b) [f](img/)\n', 'b.md': 'B', 'img/x.png': 'png' }), [
      'a.md:1: image b does not exist',
      'a.md:1: link img/ leads to a page that does not exist',
    ]);
  });

  it('lists folders at every depth', () => {
    assert.deepEqual([...foldersOf(['a/b/c.md', 'd.md'])], ['a', 'a/b']);
  });
});

test('addedLinkProblems: what a change adds, whatever line the old problems moved to; a second copy of an old one is new', () => {
  const problem = (from: string, href: string, line: number, kind: LinkProblem['kind'] = 'broken-link'): LinkProblem => ({ from, href, line, kind, message: `${href} at ${line}` });
  const before = [problem('a.md', 'gone.md', 3), problem('b.md', 'x.png', 1, 'missing-image')];
  const after = [problem('a.md', 'gone.md', 9), problem('a.md', 'gone.md', 12), problem('a.md', 'new.md', 2), problem('b.md', 'x.png', 1, 'missing-image'), problem('c.md', 'gone.md', 4)];
  assert.deepEqual(
    addedLinkProblems(after, before).map((p) => `${p.from}:${p.line} ${p.href}`),
    ['a.md:2 new.md', 'a.md:12 gone.md', 'c.md:4 gone.md'],
  );
  assert.deepEqual(addedLinkProblems(before, before), []);
  assert.deepEqual(addedLinkProblems([], before), []);
});
