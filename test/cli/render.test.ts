import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/docucommit.mjs', import.meta.url));

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'render', ...args], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('docucommit render', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'docucommit-render-'));
    await mkdir(path.join(dir, 'policies'));
    await writeFile(
      path.join(dir, 'policies', 'data-handling.md'),
      '---\ntitle: Data handling\ntags: [policy, compliance]\nclassification: Confidential\n---\n\n# Data handling\n\n## Classification\n\nSee the [runbook](incident-response.md#first-hour).\n\n<script>alert(1)</script>\n',
    );
    await writeFile(path.join(dir, 'policies', 'broken.md'), '---\ntitle: Broken\nsort: first\n---\n\n## Body\n\nStill rendered.\n');
    await writeFile(path.join(dir, 'notes.md'), '# Notes\n\nPlain *notes*.\n');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints sanitized HTML for one file and exits 0', async () => {
    const result = await run(['notes.md'], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '<p>Plain <em>notes</em>.</p>\n');
    assert.equal(result.stderr, '');
  });

  it('prints one JSON object per line with --json', async () => {
    const result = await run(['--json', 'policies/data-handling.md', 'notes.md'], dir);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(lines.length, 2);
    const [policy, notes] = lines;
    assert.deepEqual(Object.keys(policy).sort(), ['classification', 'errors', 'file', 'html', 'links', 'path', 'tags', 'title', 'toc']);
    assert.equal(policy.file, 'policies/data-handling.md');
    assert.equal(policy.title, 'Data handling');
    assert.deepEqual(policy.tags, ['policy', 'compliance']);
    assert.equal(policy.classification, 'confidential');
    assert.deepEqual(policy.toc, [{ id: 'classification', text: 'Classification', children: [] }]);
    assert.deepEqual(policy.links, [{ href: 'incident-response.md#first-hour', target: 'policies/incident-response.md', anchor: 'first-hour', line: 11 }]);
    assert.match(policy.html, /<a href="incident-response#first-hour">runbook<\/a>/);
    assert.doesNotMatch(policy.html, /<script/);
    assert.deepEqual(policy.errors, []);
    assert.equal(notes.title, 'Notes');
  });

  it('reports front matter errors as file:line on stderr, still renders, and exits 1', async () => {
    const result = await run(['policies/broken.md', 'notes.md'], dir);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'policies/broken.md:3: sort must be a number\n');
    assert.match(result.stdout, /<!-- policies\/broken\.md -->\n<h2 id="body">Body<\/h2>\n<p>Still rendered\.<\/p>/);
    assert.match(result.stdout, /<!-- notes\.md -->\n<p>Plain <em>notes<\/em>\.<\/p>/);
  });

  it('includes the errors in --json output and fails closed on classification', async () => {
    const result = await run(['--json', 'policies/broken.md'], dir);
    assert.equal(result.code, 1);
    const record = JSON.parse(result.stdout);
    assert.equal(record.classification, 'restricted');
    assert.deepEqual(record.errors, [{ file: 'policies/broken.md', line: 3, column: 1, message: 'sort must be a number' }]);
  });

  it('reports unreadable files, prints the others, and exits 1', async () => {
    const result = await run(['missing.md', 'notes.md'], dir);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^missing\.md: cannot read: no such file$/m);
    assert.match(result.stdout, /<p>Plain <em>notes<\/em>\.<\/p>/);
  });

  it('exits 2 with usage help when no file is given', async () => {
    const result = await run([], dir);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Usage: docucommit render FILE\.md/);
    assert.equal(result.stdout, '');
  });

  it('resolves links against --root', async () => {
    const result = await run(['--json', '--root', path.join(dir, 'policies'), path.join(dir, 'policies', 'data-handling.md')], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).links[0].target, 'incident-response.md');
  });
});
