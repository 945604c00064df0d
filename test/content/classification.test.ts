import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLASSIFICATION_ORDER, classificationOf, classificationRank, clearanceCovers, isStricter, stricter } from '../../src/content/classification.ts';
import { filesMatching } from '../helpers/source-files.ts';

test('classifications go from public to restricted', () => {
  assert.deepEqual(CLASSIFICATION_ORDER, ['public', 'internal', 'confidential', 'restricted']);
  assert.deepEqual(CLASSIFICATION_ORDER.map(classificationRank), [0, 1, 2, 3]);
});

test('the stricter of two classifications, and which one is stricter', () => {
  assert.equal(stricter('internal', 'confidential'), 'confidential');
  assert.equal(stricter('restricted', 'public'), 'restricted');
  assert.equal(stricter('internal', 'internal'), 'internal');
  assert.equal(isStricter('restricted', 'confidential'), true);
  assert.equal(isStricter('public', 'internal'), false);
  assert.equal(isStricter('internal', 'internal'), false);
});

test('a clearance covers its own classification and every more open one, never a stricter one', () => {
  assert.equal(clearanceCovers('confidential', 'internal'), true);
  assert.equal(clearanceCovers('confidential', 'confidential'), true);
  assert.equal(clearanceCovers('confidential', 'restricted'), false);
  assert.equal(clearanceCovers('public', 'internal'), false);
});

test('a document is classified by its front matter, internal by default, restricted when unreadable', () => {
  assert.equal(classificationOf('---\nclassification: public\n---\n# Hi'), 'public');
  assert.equal(classificationOf('# No front matter'), 'internal');
  assert.equal(classificationOf('---\nclassification: secret\n---\n'), 'restricted');
});

test('the order of classifications is written down once (content/types.ts), and compared in content/classification.ts only', () => {
  // migrations are frozen SQL: a CHECK constraint lists the values as they were when it was written
  const migrations = (path: string) => path.startsWith('src/db/migrations/');
  assert.deepEqual(filesMatching(/'public', 'internal', 'confidential', 'restricted'/, ['src/content/types.ts']).filter((path) => !migrations(path)), []);
  assert.deepEqual(filesMatching(/\b(ORDER|CLASSIFICATION_ORDER|CLASSIFICATIONS)\.indexOf\(/, ['src/content/classification.ts']), []);
});
