import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { applicationUrlOf } from '../../src/db/connection.ts';
import { AdvisoryRepositoryLocks } from '../../src/cluster/repository-locks.ts';
import { databaseTargets } from '../helpers/databases.ts';

const postgres = databaseTargets().find((t) => t.name === 'postgres');

describe('repository advisory locks across processes (PostgreSQL)', { skip: postgres ? false : 'no PostgreSQL: TEST_DATABASE_URL is not set' }, () => {
  let dispose: () => Promise<void>;
  let one: AdvisoryRepositoryLocks;
  let two: AdvisoryRepositoryLocks;

  before(async () => {
    const opened = await postgres!.open();
    dispose = opened.dispose;
    const url = applicationUrlOf(opened.db);
    assert.ok(url, 'the application login of a PostgreSQL database is known');
    // two pools: two sessions, as two processes would have
    one = new AdvisoryRepositoryLocks(url);
    two = new AdvisoryRepositoryLocks(url);
  });

  after(async () => {
    await one.close();
    await two.close();
    await dispose();
  });

  test('a second session waits for the repository until the first releases it; other repositories do not wait', async () => {
    const release = await one.acquire('/data/repos/p1.git');
    let secondHolds = false;
    const second = two.acquire('/elsewhere/mounted/repos/p1.git').then((r) => {
      secondHolds = true;
      return r;
    });
    const other = await two.acquire('/data/repos/p2.git');
    await other();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(secondHolds, false, 'the same repository (by folder name, wherever mounted) is locked');
    await release();
    const releaseSecond = await second;
    assert.equal(secondHolds, true);
    await releaseSecond();
  });
});
