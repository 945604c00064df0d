import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderDocument } from '../../src/content/render-document.ts';
import { Snapshot, type SnapshotAttachment, type SnapshotDocument } from '../../src/projects/snapshot.ts';

function snapshotOf(files: Record<string, string>, attachmentPaths: string[] = []): Snapshot {
  const documents = new Map<string, SnapshotDocument>();
  for (const [path, source] of Object.entries(files)) {
    const { html: _html, ...meta } = renderDocument(path, source);
    documents.set(path, { path, blobId: `blob-${path}`, meta });
  }
  const attachments = new Map<string, SnapshotAttachment>(attachmentPaths.map((path) => [path, { path, blobId: `blob-${path}`, size: 1 }]));
  return new Snapshot('p', 'c', 't', documents, undefined, attachments);
}

const messages = (snapshot: Snapshot, clearance: 'internal' | 'restricted') =>
  [...snapshot.linkProblemsFor(clearance).values()].flat().map((p) => `${p.from}:${p.line}: ${p.message}`);

describe('link problems per clearance', () => {
  const snapshot = snapshotOf(
    {
      'handbook.md': '# Handbook\n\n[Plan](secret.md#layoffs) [Missing](gone.md#x)\n\n![Chart](chart.png)\n',
      'secret.md': '---\nclassification: restricted\n---\n# Secret\n\n## Layoffs\n\n[Nope](nope.md)\n',
    },
    ['chart.png'],
  );

  it('checks everything for a reader cleared for everything', () => {
    assert.deepEqual(messages(snapshot, 'restricted'), [
      'handbook.md:3: link gone.md#x leads to a page that does not exist',
      'secret.md:8: link nope.md leads to a page that does not exist',
    ]);
  });

  it('treats a document the reader may not read as missing: no problem reveals it exists, or which headings it has', () => {
    // the same answer whether or not secret.md exists, or has a "Layoffs" heading
    const without = snapshotOf({ 'handbook.md': '# Handbook\n\n[Plan](secret.md#layoffs) [Missing](gone.md#x)\n\n![Chart](chart.png)\n' }, ['chart.png']);
    assert.deepEqual(messages(snapshot, 'internal'), messages(without, 'internal'));
    assert.deepEqual(messages(snapshot, 'internal'), [
      'handbook.md:3: link secret.md#layoffs leads to a page that does not exist',
      'handbook.md:3: link gone.md#x leads to a page that does not exist',
    ]);
  });

  it('knows which documents embed an attachment', () => {
    assert.deepEqual(snapshot.linkersOf('chart.png').map((d) => d.path), ['handbook.md']);
    assert.deepEqual(snapshot.linkersOf('other.png'), []);
  });
});
