import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PUBLISHED_BRANCH, PUBLISHED_REF } from '../../src/content/published-branch.ts';
import { filesMatching } from '../helpers/source-files.ts';

test('the published branch is main, and its ref is refs/heads/main', () => {
  assert.equal(PUBLISHED_BRANCH, 'main');
  assert.equal(PUBLISHED_REF, 'refs/heads/main');
});

test('the published branch is named in content/published-branch.ts only (views name the HTML element main)', () => {
  const offenders = filesMatching(/(['"])(refs\/heads\/)?main\1/, ['src/content/published-branch.ts']).filter((path) => !path.startsWith('src/web/views/'));
  assert.deepEqual(offenders, []);
});
