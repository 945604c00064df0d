/**
 * The two pre-receive clients (hooks/pre-receive.pl, run where perl exists, and hooks/pre-receive.mjs, run where it
 * does not) against the server's real hook listener: the same request reaches the check, the same `remote:` text
 * and exit status come back, and both refuse when no server answers or the check fails.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PRE_RECEIVE_CLIENT, PRE_RECEIVE_PERL_CLIENT } from '../../src/git/repository-setup.ts';
import { hookRunDir, hookSocketPath, listenForHook, type PushCheckRequest, type PushVerdict } from '../../src/git/smart-http.ts';

const perlAvailable = spawnSync('perl', ['-e', '1']).status === 0;
const clients: { name: string; command: string[] }[] = [
  { name: 'node', command: [process.execPath, PRE_RECEIVE_CLIENT] },
  // git depends on perl on Debian, where CI runs; elsewhere the hook runs the node client only
  ...(perlAvailable ? [{ name: 'perl', command: ['perl', PRE_RECEIVE_PERL_CLIENT] }] : []),
];

const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const UPDATES = `${OLD} ${NEW} refs/heads/main\n${'0'.repeat(40)} ${NEW} refs/heads/draft/"quoted"\\branch\n`;

interface Run {
  status: number | null;
  stderr: string;
}

/** Runs a client as receive-pack would (stdin: the updates; env: quarantine and push options). */
function runClient(command: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    // what receive-pack hands its hook (git/run.ts buildEnv): PATH and TMPDIR of the server, the quarantine, options
    const inherited = { PATH: process.env.PATH ?? '', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}) };
    const child = spawn(command[0]!, command.slice(1), { env: { ...inherited, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
    child.stdin.end(UPDATES);
  });
}

describe('pre-receive clients (perl and node): one protocol', () => {
  let repo: string;
  let runDir: string;
  before(async () => {
    repo = mkdtempSync(join(tmpdir(), 'dc-hook-clients-'));
    runDir = await hookRunDir();
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  /** The listener of this process (the clients' parent, as receive-pack is theirs), answering with `check`. */
  async function withListener<T>(check: (request: PushCheckRequest) => Promise<PushVerdict>, fn: () => Promise<T>): Promise<T> {
    const server: Server = await listenForHook(hookSocketPath(runDir, process.pid), repo, check);
    try {
      return await fn();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  const quarantine = () => join(repo, 'objects', 'tmp_objdir-incoming-x1');
  const env = () => ({
    GIT_QUARANTINE_PATH: quarantine(),
    GIT_OBJECT_DIRECTORY: quarantine(),
    GIT_PUSH_OPTION_COUNT: '2',
    GIT_PUSH_OPTION_0: 'change.open',
    GIT_PUSH_OPTION_1: 'note=ü "quoted" \\ tab\there',
  });

  test(`${clients.map((c) => c.name).join(' and ')}: the same request, the same messages and exit status`, async () => {
    const results: { name: string; seen: PushCheckRequest[]; accepted: Run; refused: Run }[] = [];
    for (const client of clients) {
      const seen: PushCheckRequest[] = [];
      const accepted = await withListener(
        async (request) => {
          seen.push(request);
          return { ok: true, messages: ['Change request for draft:', '  https://example.test/a/b/-/changes?branch=x', 'Grüße — two\nlines'] };
        },
        () => runClient(client.command, env()),
      );
      const refused = await withListener(
        async (request) => {
          seen.push(request);
          return { ok: false, messages: ['DocuCommit refused this push:', '  policies/x.md: needs review'] };
        },
        () => runClient(client.command, env()),
      );
      results.push({ name: client.name, seen, accepted, refused });
    }
    for (const result of results) {
      assert.equal(result.accepted.status, 0, `${result.name} accepts`);
      assert.equal(result.accepted.stderr, 'Change request for draft:\n  https://example.test/a/b/-/changes?branch=x\nGrüße — two\nlines\n', result.name);
      assert.equal(result.refused.status, 1, `${result.name} refuses`);
      assert.equal(result.refused.stderr, 'DocuCommit refused this push:\n  policies/x.md: needs review\n', result.name);
      assert.equal(result.seen.length, 2);
      for (const request of result.seen) {
        assert.equal(request.updates, UPDATES, result.name);
        assert.deepEqual(request.options, ['change.open', 'note=ü "quoted" \\ tab\there'], result.name);
        assert.equal(request.env.GIT_QUARANTINE_PATH, quarantine(), result.name);
        assert.equal(request.env.GIT_OBJECT_DIRECTORY, quarantine(), result.name);
      }
    }
    // both clients told the check the same
    for (const result of results) assert.deepEqual(result.seen, results[0]!.seen, `${result.name} vs ${results[0]!.name}`);
  });

  for (const client of clients) {
    test(`${client.name}: no server listening → refused (fail closed)`, async () => {
      const run = await runClient(client.command, env());
      assert.equal(run.status, 1);
      assert.equal(run.stderr, 'DocuCommit: this push could not be checked, so it was refused.\n');
    });

    test(`${client.name}: a check that fails → refused with the generic message`, async () => {
      const run = await withListener(
        async () => {
          throw new Error('database gone');
        },
        () => runClient(client.command, env()),
      );
      assert.equal(run.status, 1);
      assert.equal(run.stderr, 'DocuCommit: this push could not be checked, so it was refused.\n');
    });

    test(`${client.name}: a quarantine outside the repository is refused by the server`, async () => {
      let checked = false;
      const run = await withListener(
        async () => {
          checked = true;
          return { ok: true, messages: [] };
        },
        () => runClient(client.command, { ...env(), GIT_QUARANTINE_PATH: '/tmp/elsewhere', GIT_OBJECT_DIRECTORY: '/tmp/elsewhere' }),
      );
      assert.equal(checked, false);
      assert.equal(run.status, 1);
    });
  }
});
