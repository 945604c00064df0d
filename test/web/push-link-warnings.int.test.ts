import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createToken } from '../../src/auth/tokens.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

for (const target of databaseTargets()) {
  describe(`link warnings on push (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let home: string;
    let dir: string;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (t.app.server.address() as AddressInfo).port;
      const user = await t.context.db.selectFrom('users').select('id').where('email', '=', 'admin@acme.test').executeTakeFirstOrThrow();
      const { token } = await createToken(t.context.db, { userId: user.id, name: 'push', scopes: ['write'] });
      home = mkdtempSync(join(tmpdir(), 'docucommit-push-links-'));
      dir = join(home, 'work');
      const clone = await gitClient(home, ['clone', `http://x-token:${token}@127.0.0.1:${port}/acme/handbook.git`, dir]);
      assert.equal(clone.code, 0, clone.stderr);
    });
    after(async () => {
      await t.close();
      await dispose();
      rmSync(home, { recursive: true, force: true });
    });

    const commitAndPush = async (message: string) => {
      assert.equal((await gitClient(home, ['add', '-A'], dir)).code, 0);
      assert.equal((await gitClient(home, ['commit', '-qm', message], dir)).code, 0);
      return gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
    };

    test('a push bringing broken links and a missing image is accepted, with the problems as remote: lines', async () => {
      writeFileSync(join(dir, 'policies/new-policy.md'), '# New policy\n\nSee [the runbook](incident-response.md#no-such-heading).\n\n![Chart](chart.png) [Gone](gone.md)\n');
      const push = await commitAndPush('Add a policy with broken links');
      assert.equal(push.code, 0, push.stderr);
      assert.match(push.stderr, /remote: DocuCommit link check: 3 problems in this push \(it was accepted\):/);
      assert.match(push.stderr, /remote: +policies\/new-policy\.md:3: link incident-response\.md#no-such-heading: policies\/incident-response\.md has no heading #no-such-heading/);
      assert.match(push.stderr, /remote: +policies\/new-policy\.md:5: image chart\.png does not exist/);
      assert.match(push.stderr, /remote: +policies\/new-policy\.md:5: link gone\.md leads to a page that does not exist/);
      // problems the project had before are not repeated
      assert.doesNotMatch(push.stderr, /missing-page\.md/);
      // and the push is live
      const page = await t.app.inject({ method: 'GET', url: '/acme/handbook/policies/new-policy', headers: { cookie: await t.login('admin@acme.test') } });
      assert.equal(page.statusCode, 200);
    });

    test('removing a document others link to warns about the links it leaves broken', async () => {
      // data handling (internal: it publishes directly; the confidential runbook would need a change request)
      unlinkSync(join(dir, 'policies/data-handling.md'));
      const push = await commitAndPush('Remove data handling');
      assert.equal(push.code, 0, push.stderr);
      assert.match(push.stderr, /remote: +index\.md:6: link policies\/data-handling\.md leads to a page that does not exist/);
    });

    test('a push without link problems prints no warning', async () => {
      writeFileSync(join(dir, 'policies/fine.md'), '# Fine\n\nSee [the new policy](new-policy.md).\n');
      const push = await commitAndPush('A fine page');
      assert.equal(push.code, 0, push.stderr);
      assert.doesNotMatch(push.stderr, /link check/);
    });
  });
}
