import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { InvalidInputError } from '../../src/errors.ts';
import { GitError } from '../../src/git/errors.ts';
import { runGit, spawnGit, userArg } from '../../src/git/run.ts';
import { alive, eventually, gitIn, tempDir } from './helpers.ts';

describe('runGit', () => {
  let dir: string;
  let cleanup: () => void;
  let repo: string;
  before(() => {
    ({ dir, cleanup } = tempDir('dc-run-'));
    repo = join(dir, 'r.git');
    assert.equal(gitIn(dir, ['init', '--quiet', '--bare', repo]).status, 0);
  });
  after(() => cleanup());

  test('user-derived values starting with "-" are refused before git starts', () => {
    const empty = join(dir, 'untouched');
    mkdirSync(empty);
    for (const hostile of ['-q', '--bare', '--upload-pack=touch /tmp/pwned', '-', '--']) {
      assert.throws(() => runGit({ cwd: empty, args: ['init', '--end-of-options', userArg(hostile)] }), InvalidInputError);
    }
    assert.deepEqual(readdirSync(empty), [], 'git init never ran');
  });

  test('user-derived values with line breaks or NUL are refused', () => {
    for (const hostile of ['main\n--bare', 'a\rb', 'a\0b']) assert.throws(() => userArg(hostile), InvalidInputError);
    assert.equal(userArg('refs/heads/main').value, 'refs/heads/main');
  });

  test('a user-derived value placed before --end-of-options or -- is a programming error', async () => {
    await assert.rejects(runGit({ gitDir: repo, args: ['rev-parse', userArg('main')] }), /must follow/);
  });

  test('a user-derived value after --end-of-options stays a value even when it looks odd', async () => {
    const result = await runGit({
      gitDir: repo,
      args: ['rev-parse', '--verify', '--quiet', '--end-of-options', userArg('refs/heads/x;touch pwned')],
      okExitCodes: [0, 1],
    });
    assert.equal(result.exitCode, 1);
  });

  test('a failure keeps git\'s stderr, the exit code and the arguments', async () => {
    const error = await runGit({ gitDir: repo, args: ['rev-parse', '--verify', '--end-of-options', userArg('no-such-ref')] }).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof GitError);
    assert.equal(error.exitCode, 128);
    assert.match(error.stderr, /fatal: Needed a single revision/);
    assert.deepEqual(error.args, ['rev-parse', '--verify', '--end-of-options', 'no-such-ref']);
    assert.match(error.message, /rev-parse/);
    assert.equal(error.timedOut, false);
  });

  test('a hanging command is killed at its timeout and the error says so', async () => {
    const stdin = new PassThrough(); // never ended: cat-file --batch waits for more
    const error = await runGit({ gitDir: repo, args: ['cat-file', '--batch'], input: stdin, timeoutMs: 200 }).then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof GitError);
    assert.equal(error.timedOut, true);
    assert.match(error.message, /timed out after 200 ms/);
  });

  test('a timeout kills the whole process group, including what git started', async () => {
    // a shell alias makes git start a grandchild (sh, sleep) in the same process group
    const proc = spawnGit({ cwd: dir, args: ['-c', 'alias.nap=!sleep 30', 'nap'], timeoutMs: 200 });
    proc.stdin.end();
    const pid = proc.pid!;
    await assert.rejects(proc.wait(), (e: unknown) => e instanceof GitError && e.timedOut);
    assert.ok(await eventually(() => !alive(-pid)), 'no process of the group survives');
  });

  test('the environment is fixed: hostile variables of the server do not reach git', async () => {
    const saved = { ...process.env };
    const hostile = join(dir, 'hostile.git');
    const home = join(dir, 'home');
    assert.equal(gitIn(dir, ['init', '--quiet', '--bare', hostile]).status, 0);
    mkdirSync(home);
    writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = FromHome\n');
    const plain = join(dir, 'not-a-repo');
    mkdirSync(plain);
    try {
      process.env.GIT_DIR = hostile;
      process.env.GIT_CONFIG_PARAMETERS = "'user.name'='Mallory'";
      process.env.GIT_CONFIG_COUNT = '1';
      process.env.GIT_CONFIG_KEY_0 = 'user.email';
      process.env.GIT_CONFIG_VALUE_0 = 'mallory@evil.test';
      process.env.GIT_ASKPASS = '/bin/echo';
      process.env.GIT_SSH_COMMAND = 'touch /tmp/pwned';
      process.env.HOME = home;

      const noRepo = await runGit({ cwd: plain, args: ['rev-parse', '--absolute-git-dir'], okExitCodes: [0, 128] });
      assert.equal(noRepo.exitCode, 128, 'the hostile GIT_DIR was ignored');
      const name = await runGit({ gitDir: repo, args: ['config', '--get', 'user.name'], okExitCodes: [0, 1] });
      assert.equal(name.exitCode, 1, 'neither GIT_CONFIG_PARAMETERS nor ~/.gitconfig applied');
      const email = await runGit({ gitDir: repo, args: ['config', '--get', 'user.email'], okExitCodes: [0, 1] });
      assert.equal(email.exitCode, 1, 'GIT_CONFIG_COUNT/KEY/VALUE did not apply');

      // what a program started by git sees
      const { stdout } = await runGit({ cwd: plain, args: ['-c', 'alias.showenv=!env', 'showenv'] });
      const env = new Map(stdout.toString().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      assert.equal(env.get('LC_ALL'), 'C');
      assert.equal(env.get('GIT_TERMINAL_PROMPT'), '0');
      assert.equal(env.get('GIT_CONFIG_NOSYSTEM'), '1');
      // glibc keeps freed memory at the top of git's heap instead of returning it per object (blob-writer speed)
      assert.equal(env.get('GLIBC_TUNABLES'), 'glibc.malloc.trim_threshold=4194304');
      assert.notEqual(env.get('HOME'), home);
      for (const key of ['GIT_ASKPASS', 'GIT_SSH_COMMAND', 'GIT_DIR', 'GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0']) assert.equal(env.has(key), false, key);
      assert.doesNotMatch(env.get('GIT_CONFIG_PARAMETERS') ?? '', /Mallory/);
    } finally {
      process.env = saved;
    }
  });

  test('callers may set only known variables, never the ones that keep git safe', async () => {
    const env = { HOME: '/root' } as unknown as Record<'GIT_INDEX_FILE', string>;
    await assert.rejects(runGit({ gitDir: repo, args: ['status'], env }), /may not be set/);
  });

  test('stdin can be a string, a Buffer or a stream; stdout is binary-safe', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 0]);
    const fromBuffer = await runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: bytes });
    const fromStream = await runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]) });
    assert.equal(fromBuffer.stdout.toString(), fromStream.stdout.toString());
    const written = await runGit({ gitDir: repo, args: ['hash-object', '-w', '--stdin'], input: bytes });
    const oid = written.stdout.toString().trim();
    const read = await runGit({ gitDir: repo, args: ['cat-file', 'blob', '--end-of-options', userArg(oid)] });
    assert.deepEqual(read.stdout, bytes);
    const text = await runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: 'hello\n' });
    assert.equal(text.stdout.toString().trim(), 'ce013625030ba8dba906f756967f9e9ca394464a');
  });

  test('stdin can be pieces from a generator: many times the pipe buffer arrive whole and in order', async () => {
    // 20,000 pieces of 1–511 bytes (~5 MB, far more than a pipe holds): git must read them all, in order
    const pieces: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) pieces.push(Buffer.alloc(1 + (i * 7919) % 511, i % 251));
    const whole = Buffer.concat(pieces);
    let produced = 0;
    function* generate() {
      for (const piece of pieces) {
        produced++;
        yield piece;
      }
    }
    const expected = (await runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: whole })).stdout.toString();
    const fromPieces = await runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: { pieces: generate() } });
    assert.equal(fromPieces.stdout.toString(), expected);
    assert.equal(produced, pieces.length);
  });

  test('pieces: a generator that throws kills git and fails with its message; a git that stops reading does not hang', async () => {
    function* failing() {
      yield Buffer.alloc(100_000, 'a');
      throw new Error('the source folder vanished');
    }
    await assert.rejects(
      runGit({ gitDir: repo, args: ['hash-object', '--stdin'], input: { pieces: failing() } }),
      (e: unknown) => e instanceof GitError && /input for git failed: the source folder vanished/.test(e.message),
    );
    // rev-parse never reads stdin and exits at once; the writer must stop instead of waiting for room forever
    function* endless() {
      for (;;) yield Buffer.alloc(64 * 1024, 'b');
    }
    const result = await runGit({ gitDir: repo, args: ['rev-parse', '--git-dir'], input: { pieces: endless() } });
    assert.equal(result.exitCode, 0);
  });

  test('stdout beyond the cap kills git and fails', async () => {
    const big = Buffer.alloc(200_000, 'x');
    const oid = (await runGit({ gitDir: repo, args: ['hash-object', '-w', '--stdin'], input: big })).stdout.toString().trim();
    await assert.rejects(
      runGit({ gitDir: repo, args: ['cat-file', 'blob', '--end-of-options', userArg(oid)], maxStdoutBytes: 1000 }),
      (e: unknown) => e instanceof GitError && /more than 1000 bytes/.test(e.message),
    );
  });

  test('an aborted signal kills git', async () => {
    const controller = new AbortController();
    const running = runGit({ gitDir: repo, args: ['cat-file', '--batch'], input: new PassThrough(), signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(running, /aborted/);
  });
});
