import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { UserActor } from '../../src/access/actor.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { Acknowledgments } from '../../src/evidence/acknowledgments.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { actorOf } from './helpers.ts';

const PATH = 'policies/data-handling.md';
const CONTEXT = { requestId: 'test', ip: '127.0.0.1' };

for (const target of databaseTargets()) {
  describe(`acknowledgments from a real git push (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let home: string;
    let dir: string;
    let project: ProjectRecord;
    let acks: Acknowledgments;
    let member: UserActor;

    /** Edit the file in the clone, commit with `messages` (one -m each), push, and wait for the listeners. */
    async function push(edit: (source: string) => string, ...messages: string[]) {
      const file = join(dir, PATH);
      writeFileSync(file, edit(readFileSync(file, 'utf8')));
      const commit = await gitClient(home, ['commit', '-qa', ...messages.flatMap((m) => ['-m', m])], dir);
      assert.equal(commit.code, 0, commit.stderr);
      const pushed = await gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
      assert.equal(pushed.code, 0, pushed.stderr);
      await t.context.branchMoves.idle();
      return (await gitClient(home, ['rev-parse', 'HEAD'], dir)).stdout.trim();
    }

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      home = mkdtempSync(join(tmpdir(), 'docucommit-ack-push-'));
      dir = join(home, 'clone');
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      const { token } = await createToken(t.context.db, { userId: admin.userId, name: 'push', scopes: ['write'] });
      const clone = await gitClient(home, ['clone', `${base.replace('http://', `http://x-token:${token}@`)}/acme/handbook.git`, dir]);
      assert.equal(clone.code, 0, clone.stderr);
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      acks = new Acknowledgments(t.context.db, () => null);
      member = await actorOf(t.context.db, 'member@acme.test');
    });
    after(async () => {
      await t.close();
      await dispose();
      rmSync(home, { recursive: true, force: true });
    });

    test('a pushed acknowledge: asks the audience for exactly the pushed version', async () => {
      assert.equal(await acks.taskFor(member, project, PATH), null);
      const head = await push((source) => source.replace(/^---\n/, '---\nacknowledge: [member, viewer]\n'), 'Ask members to acknowledge');
      const task = await acks.taskFor(member, project, PATH);
      assert.equal(task?.status, 'open');
      assert.equal(task?.currentCommit, head);
      assert.equal(await acks.taskFor(await actorOf(t.context.db, 'manager@acme.test'), project, PATH), null, 'managers are not in the audience');
      await acks.acknowledge(member, project, PATH, task.currentBlob, CONTEXT);
      assert.equal((await acks.taskFor(member, project, PATH))?.status, 'done');
    });

    test('a push whose commit carries "Acknowledgment: not-required" asks nobody again', async () => {
      await push((source) => source.replace(/\n$/, '\nA clarified sentence.\n'), 'Clarify wording', 'Acknowledgment: not-required');
      assert.equal((await acks.taskFor(member, project, PATH))?.status, 'done');
    });

    test('a push without the trailer requires re-acknowledgment', async () => {
      const acknowledged = (await acks.taskFor(member, project, PATH))!.lastAcknowledged!.commit;
      const head = await push((source) => source.replace(/\n$/, '\nA new obligation.\n'), 'Add an obligation');
      const task = (await acks.taskFor(member, project, PATH))!;
      assert.equal(task.status, 'open');
      assert.equal(task.currentCommit, head);
      assert.equal(task.lastAcknowledged?.commit, acknowledged);
    });
  });
}
