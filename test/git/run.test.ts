import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidInputError } from '../../src/errors.ts';
import { GitError, gitEnvironment, runGit, userArg } from '../../src/git/run.ts';

test('user-derived values starting with "-" are refused before git starts', () => {
  for (const hostile of ['-x', '--upload-pack=touch /tmp/pwned', '--output=/etc/passwd']) {
    assert.throws(() => userArg(hostile), InvalidInputError);
  }
  assert.throws(() => userArg('main\n--bare'), InvalidInputError);
  assert.equal(userArg('refs/heads/main'), 'refs/heads/main');
});

test('the environment is fixed: hostile GIT_* variables of the server do not reach git', async () => {
  const saved = { ...process.env };
  const dir = mkdtempSync(join(tmpdir(), 'dc-env-'));
  try {
    process.env.GIT_DIR = '/nonexistent/hostile';
    process.env.GIT_CONFIG_PARAMETERS = "'core.pager=touch /tmp/pwned'";
    process.env.GIT_SSH_COMMAND = 'touch /tmp/pwned';
    const env = gitEnvironment();
    assert.equal(env.GIT_DIR, undefined);
    assert.equal(env.GIT_CONFIG_PARAMETERS, undefined);
    assert.equal(env.GIT_SSH_COMMAND, undefined);
    assert.equal(env.LC_ALL, 'C');
    assert.equal(env.GIT_TERMINAL_PROMPT, '0');
    await runGit({ args: ['init', '--quiet', '--bare', dir] });
    const { stdout } = await runGit({ gitDir: dir, args: ['config', '--list', '--show-origin'] });
    assert.doesNotMatch(stdout.toString(), /core\.pager|global|system/);
  } finally {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a git command that hangs is killed at its timeout, with everything it started', async () => {
  const started = Date.now();
  await assert.rejects(
    runGit({ args: ['-c', 'alias.wait=!sleep 5', 'wait'], timeoutMs: 300 }),
    (error: unknown) => error instanceof GitError && /timed out after 300 ms/.test(error.message),
  );
  assert.ok(Date.now() - started < 3000, 'killed well before the command would have finished');
});

test('a failing command keeps git\'s stderr and exit code', async () => {
  await assert.rejects(runGit({ gitDir: '/nonexistent/repo.git', args: ['rev-parse', 'HEAD'] }), (error: unknown) => {
    assert.ok(error instanceof GitError);
    assert.equal(error.exitCode, 128);
    assert.match(error.stderr, /not a git repository/);
    return true;
  });
});
