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

describe('link problems after incremental publishes (differential: derived vs. checked from scratch)', () => {
  // A small deterministic generator: documents in a few folders linking to each other (with and without `.md`,
  // with anchors that exist or not), to folders, to images that come and go; classifications that change.
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state * 1664525 + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }
  const classifications = ['public', 'internal', 'confidential', 'restricted'] as const;
  const folders = ['', 'a/', 'a/b/', 'c/'];
  const names = ['one', 'two', 'three', 'four', 'index'];
  const headings = ['Scope', 'Rules', 'Owners'];
  const images = ['a/pic.png', 'c/chart.png', 'logo.svg'];

  function source(rand: () => number, pick: <T>(list: readonly T[]) => T, allPaths: string[]): string {
    const lines = [`---\nclassification: ${pick(classifications)}\n---`, `# Title ${Math.floor(rand() * 100)}`];
    for (const heading of headings) if (rand() < 0.6) lines.push(`\n## ${heading}\n`);
    const links = Math.floor(rand() * 5);
    for (let i = 0; i < links; i++) {
      const target = rand() < 0.8 ? pick(allPaths) : `${pick(folders)}missing.md`;
      const form = rand();
      const href = form < 0.2 ? `/${target.replace(/\.md$/, '')}` : form < 0.3 ? `/${target.replace(/[^/]*$/, '')}` : `/${target}`;
      const anchor = rand() < 0.3 ? `#${pick(headings).toLowerCase()}` : '';
      lines.push(`[link ${i}](${href}${anchor})`);
    }
    if (rand() < 0.4) lines.push(`![img](/${pick(images)})`);
    return lines.join('\n') + '\n';
  }

  function documentOf(path: string, text: string, n: number): SnapshotDocument {
    const { html: _html, ...meta } = renderDocument(path, text);
    return { path, blobId: `blob-${path}-${n}`, meta };
  }

  const everything = (snapshot: Snapshot, clearance: (typeof classifications)[number]) =>
    [...snapshot.linkProblemsFor(clearance).entries()].filter(([, list]) => list.length > 0).sort(([a], [b]) => (a < b ? -1 : 1));

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`matches a full check after 40 random changes (seed ${seed})`, () => {
      const rand = random(seed);
      const pick = <T,>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
      const allPaths = folders.flatMap((folder) => names.map((name) => `${folder}${name}.md`));
      let version = 0;
      const documents = new Map<string, SnapshotDocument>();
      for (const path of allPaths) if (rand() < 0.6) documents.set(path, documentOf(path, source(rand, pick, allPaths), version++));
      let attachments = new Map<string, SnapshotAttachment>(images.filter(() => rand() < 0.5).map((path) => [path, { path, blobId: `b-${path}`, size: 1 }]));
      let current = new Snapshot('p', 'c0', 't0', new Map([...documents].sort(([a], [b]) => (a < b ? -1 : 1))), undefined, attachments);
      // readers of some clearances have looked at the problems (a publish prepares those again)
      for (const clearance of classifications) if (rand() < 0.7) current.linkProblemsFor(clearance);
      for (let step = 1; step <= 40; step++) {
        const upserts: SnapshotDocument[] = [];
        const removed = new Set<string>();
        const changes = 1 + Math.floor(rand() * 3);
        for (let i = 0; i < changes; i++) {
          const path = pick(allPaths);
          if (removed.has(path) || upserts.some((d) => d.path === path)) continue;
          if (current.documents.has(path) && rand() < 0.3) removed.add(path);
          else upserts.push(documentOf(path, source(rand, pick, allPaths), version++));
        }
        let attachmentChanges: { upserts: SnapshotAttachment[]; removed: Set<string> } | undefined;
        if (rand() < 0.3) {
          const image = pick(images);
          attachmentChanges = attachments.has(image)
            ? { upserts: [], removed: new Set([image]) }
            : { upserts: [{ path: image, blobId: `b-${image}-${step}`, size: 1 }], removed: new Set() };
          attachments = new Map(attachments);
          for (const path of attachmentChanges.removed) attachments.delete(path);
          for (const file of attachmentChanges.upserts) attachments.set(file.path, file);
        }
        // first what a push's link check derives (it reads the published snapshot's link index, takes nothing),
        // then the publish's successor (it takes the index over): both must equal a check from scratch
        const checked = Snapshot.derive(current, `c${step}`, `t${step}`, upserts, removed, attachmentChanges);
        const next = Snapshot.derive(current, `c${step}`, `t${step}`, upserts, removed, attachmentChanges, { succeeds: true });
        const fresh = new Snapshot('p', `c${step}`, `t${step}`, next.documents, undefined, next.attachments);
        for (const clearance of classifications) {
          assert.deepEqual(everything(checked, clearance), everything(fresh, clearance), `step ${step}, clearance ${clearance} (a push's check)`);
        }
        next.prepareLike(current);
        for (const clearance of classifications) {
          assert.deepEqual(everything(next, clearance), everything(fresh, clearance), `step ${step}, clearance ${clearance}`);
        }
        current = next;
      }
    });
  }
});
