import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidInputError } from '../../src/errors.ts';
import { GitError } from '../../src/git/errors.ts';
import { runGit, userArg } from '../../src/git/run.ts';
import { gitSpawnCounts, gitSpawner, GitSpawner, startGitSpawner, stopGitSpawner } from '../../src/git/spawner-client.ts';
import { alive, eventually, gitIn, tempDir } from './helpers.ts';

/** Runs `fn` and reports how many git processes the spawner and this process started meanwhile. */
async function counting<T>(fn: () => Promise<T>): Promise<{ result: T; viaSpawner: number; direct: number }> {
  const before = { ...gitSpawnCounts };
  const result = await fn();
  return { result, viaSpawner: gitSpawnCounts.viaSpawner - before.viaSpawner, direct: gitSpawnCounts.direct - before.direct };
}

function rssKbOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]);
}

describe('git spawner (runGit through the helper process)', () => {
  let dir: string;
  let cleanup: () => void;
  let repo: string;
  before(() => {
    ({ dir, cleanup } = tempDir('dc-spawner-'));
    repo = join(dir, 'r.git');
    assert.equal(gitIn(dir, ['init', '--quiet', '--bare', repo]).status, 0);
    startGitSpawner();
  });
  after(async () => {
    await stopGitSpawner();
    cleanup();
  });

  test('runGit starts git in the helper, a small plain node process without our loader', async () => {
    const { result, viaSpawner, direct } = await counting(() => runGit({ gitDir: repo, args: ['rev-parse', '--is-bare-repository'] }));
    assert.equal(result.stdout.toString().trim(), 'true');
    assert.equal(viaSpawner, 1);
    assert.equal(direct, 0);
    const pid = gitSpawner().pid!;
    assert.ok(pid > 0 && pid !== process.pid);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.some((a) => a.endsWith('spawner.mjs')));
    assert.ok(!cmdline.some((a) => a.includes('tsx')), 'no tsx in the helper');
    assert.ok(rssKbOf(pid) < 150_000, `helper RSS ${rssKbOf(pid)} kB`);
  });

  test('stdin (string or Buffer) reaches git and stdout is binary-safe', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 0]);
    const { result: written, viaSpawner } = await counting(() => runGit({ gitDir: repo, args: ['hash-object', '-w', '--stdin'], input: bytes }));
    assert.equal(viaSpawner, 1);
    const oid = written.stdout.toString().trim();
    const read = await runGit({ gitDir: repo, args: ['cat-file', 'blob', '--end-of-options', userArg(oid)] });
    assert.deepEqual(read.stdout, bytes);
    const text = await runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: 'hello\n' });
    assert.equal(text.stdout.toString().trim(), 'ce013625030ba8dba906f756967f9e9ca394464a');
    // larger than one pipe buffer in both directions
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'y');
    const bigOid = (await runGit({ gitDir: repo, args: ['hash-object', '-w', '--stdin'], input: big })).stdout.toString().trim();
    assert.deepEqual((await runGit({ gitDir: repo, args: ['cat-file', 'blob', '--end-of-options', userArg(bigOid)] })).stdout, big);
  });

  test('a failure keeps stderr, the exit code and the arguments', async () => {
    const error = await runGit({ gitDir: repo, args: ['rev-parse', '--verify', '--end-of-options', userArg('no-such-ref')] }).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof GitError);
    assert.equal(error.exitCode, 128);
    assert.match(error.stderr, /fatal: Needed a single revision/);
    assert.deepEqual(error.args, ['rev-parse', '--verify', '--end-of-options', 'no-such-ref']);
    const allowed = await runGit({ gitDir: repo, args: ['rev-parse', '--verify', '--quiet', '--end-of-options', userArg('nope')], okExitCodes: [0, 1] });
    assert.equal(allowed.exitCode, 1);
  });

  test('user values starting with "-" or misplaced are refused before anything is sent', async () => {
    const empty = join(dir, 'untouched');
    mkdirSync(empty);
    const { viaSpawner, direct } = await counting(async () => {
      for (const hostile of ['-q', '--bare', '--upload-pack=touch /tmp/pwned', '-', '--']) {
        assert.throws(() => runGit({ cwd: empty, args: ['init', '--end-of-options', userArg(hostile)] }), InvalidInputError);
      }
      await assert.rejects(runGit({ gitDir: repo, args: ['rev-parse', userArg('main')] }), /must follow/);
      await assert.rejects(runGit({ gitDir: repo, args: ['status'], env: { HOME: '/root' } as unknown as Record<'GIT_INDEX_FILE', string> }), /may not be set/);
    });
    assert.equal(viaSpawner + direct, 0, 'no git started');
    assert.deepEqual(readdirSync(empty), []);
  });

  test('the environment is the fixed one built by the server', async () => {
    const plain = join(dir, 'plain');
    mkdirSync(plain);
    const saved = { ...process.env };
    try {
      process.env.GIT_CONFIG_PARAMETERS = "'user.name'='Mallory'";
      process.env.GIT_ASKPASS = '/bin/echo';
      const { stdout } = await runGit({ cwd: plain, args: ['-c', 'alias.showenv=!env', 'showenv'], env: { GIT_REFLOG_ACTION: 'test' } });
      const env = new Map(stdout.toString().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      assert.equal(env.get('LC_ALL'), 'C');
      assert.equal(env.get('GIT_TERMINAL_PROMPT'), '0');
      assert.equal(env.get('GIT_CONFIG_NOSYSTEM'), '1');
      assert.equal(env.get('GIT_REFLOG_ACTION'), 'test');
      assert.equal(env.has('GIT_ASKPASS'), false);
      assert.equal(env.has('NODE_OPTIONS'), false);
      assert.doesNotMatch(env.get('GIT_CONFIG_PARAMETERS') ?? '', /Mallory/);
      assert.equal(env.get('PWD') ?? plain, plain, 'runs in the given folder');
    } finally {
      process.env = saved;
    }
  });

  test('the deadline kills git and everything it started; the error says it timed out', async () => {
    const pidFile = join(dir, 'nap.pid');
    const error = await runGit({ cwd: dir, args: ['-c', `alias.nap=!echo $$ > ${pidFile}; sleep 30`, 'nap'], timeoutMs: 300 }).then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof GitError);
    assert.equal(error.timedOut, true);
    assert.match(error.message, /timed out after 300 ms/);
    const shell = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(await eventually(() => !alive(shell)), 'the shell git started is gone');
  });

  test('stdout beyond the cap kills git and fails', async () => {
    const oid = (await runGit({ gitDir: repo, args: ['hash-object', '-w', '--stdin'], input: Buffer.alloc(200_000, 'x') })).stdout.toString().trim();
    await assert.rejects(
      runGit({ gitDir: repo, args: ['cat-file', 'blob', '--end-of-options', userArg(oid)], maxStdoutBytes: 1000 }),
      (e: unknown) => e instanceof GitError && /more than 1000 bytes/.test(e.message) && !e.timedOut,
    );
  });

  test('an aborted signal kills git', async () => {
    const controller = new AbortController();
    const running = runGit({ cwd: dir, args: ['-c', 'alias.nap=!sleep 30', 'nap'], signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(running, /aborted/);
  });

  test('a killed helper is restarted; a command it was running is re-run directly', async () => {
    const first = gitSpawner().pid!;
    const marker = join(dir, 'runs');
    writeFileSync(marker, '');
    // the command notes each run, then waits a little so that the helper dies while it runs
    const running = runGit({ cwd: dir, args: ['-c', `alias.slow=!echo run >> ${marker}; sleep 0.5; echo done`, 'slow'] });
    await eventually(() => readFileSync(marker, 'utf8').length > 0);
    process.kill(first, 'SIGKILL');
    const { stdout } = await running;
    assert.equal(stdout.toString().trim(), 'done');
    const next = await counting(() => runGit({ gitDir: repo, args: ['rev-parse', '--is-bare-repository'] }));
    assert.equal(next.viaSpawner, 1, 'the next command goes through a new helper');
    assert.notEqual(gitSpawner().pid, first);
  });

  test('a command marked not to be repeated fails (it may have run) when the helper dies under it', async () => {
    const marker = join(dir, 'once');
    writeFileSync(marker, '');
    const running = runGit({ cwd: dir, args: ['-c', `alias.once=!echo run >> ${marker}; sleep 0.5`, 'once'], rerunIfHelperDies: false });
    await eventually(() => readFileSync(marker, 'utf8').length > 0);
    process.kill(gitSpawner().pid!, 'SIGKILL');
    await assert.rejects(running, (e: unknown) => e instanceof GitError && /may or may not have taken effect/.test(e.message));
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(readFileSync(marker, 'utf8'), 'run\n', 'not run a second time');
  });

  test('without a helper (stopped, or unable to start), runGit starts git directly', async () => {
    const spawner = new GitSpawner();
    await spawner.stop();
    await assert.rejects(
      spawner.run({ args: ['--version'], cwd: dir, env: {}, input: Buffer.alloc(0), timeoutMs: 1000, maxStdout: 1000, maxStderr: 1000 }),
      /disabled/,
    );
    await stopGitSpawner();
    gitSpawner().reset();
    // stopGitSpawner leaves it restartable: the next command starts a helper again
    const again = await counting(() => runGit({ gitDir: repo, args: ['rev-parse', '--is-bare-repository'] }));
    assert.equal(again.viaSpawner, 1);
    const direct = await counting(() => runGit({ gitDir: repo, args: ['rev-parse', '--is-bare-repository'], direct: true }));
    assert.equal(direct.direct, 1);
  });

  test('stopping lets the helper answer what it runs; a restart meanwhile gets a new helper', async () => {
    startGitSpawner();
    await runGit({ gitDir: repo, args: ['rev-parse', '--is-bare-repository'] });
    const old = gitSpawner().pid!;
    const marker = join(dir, 'stopping');
    writeFileSync(marker, '');
    // stop only once the old helper runs the command (a fixed wait raced a loaded machine)
    const running = runGit({ cwd: dir, args: ['-c', `alias.slow=!echo run >> ${marker}; sleep 0.3; echo finished`, 'slow'], rerunIfHelperDies: false });
    assert.ok(await eventually(() => readFileSync(marker, 'utf8').length > 0, 10_000), 'the command started');
    const stopping = stopGitSpawner();
    startGitSpawner();
    const next = await counting(() => runGit({ gitDir: repo, args: ['rev-parse', '--is-bare-repository'] }));
    assert.equal(next.viaSpawner, 1);
    assert.notEqual(gitSpawner().pid, old);
    assert.equal((await running).stdout.toString().trim(), 'finished', 'answered by the stopping helper');
    await stopping;
    assert.ok(await eventually(() => !alive(old)), 'the old helper exited');
  });

  test('concurrent commands are answered each with its own output', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: `text ${i}\n` })),
    );
    const expected = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: `text ${i}\n`, direct: true })),
    );
    assert.deepEqual(results.map((r) => r.stdout.toString()), expected.map((r) => r.stdout.toString()));
    assert.equal(new Set(results.map((r) => r.stdout.toString())).size, 20);
  });
});
