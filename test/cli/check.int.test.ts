import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { fixtureProject } from '../helpers/test-app.ts';

const BIN = fileURLToPath(new URL('../../bin/docucommit.mjs', import.meta.url));

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' }, timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('docucommit check, and the summary after import', () => {
  let work: string;
  let broken: string;
  const expected = [
    'CONTRIBUTING.md:8: link engineering/deploys.md#rolback: engineering/deploys.md has no heading #rolback',
    'README.md:24: link people/holidays.md leads to a page that does not exist',
    'people/benefits.md:10: image ../assets/badge.png does not exist',
    'people/time-off.md:1: front matter is not closed: add a line "---" after the last key',
  ];

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'dc-check-'));
    broken = join(work, 'handbook');
    cpSync(fixtureProject('github-handbook'), broken, { recursive: true });
    appendFileSync(join(broken, 'CONTRIBUTING.md'), '\nSee [rollbacks](engineering/deploys.md#rolback).\n');
    appendFileSync(join(broken, 'README.md'), '\n<a href="people/holidays.md">Holidays</a>\n');
    appendFileSync(join(broken, 'people/benefits.md'), '\n<img src="../assets/badge.png">\n');
    writeFileSync(join(broken, 'people/time-off.md'), '---\ntitle: Time off\n\nNo closing line.\n');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('a clean handbook passes', () => {
    const result = cli(['check', fixtureProject('github-handbook')]);
    assert.equal(result.code, 0, result.stdout);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /no problems in 10 documents/);
  });

  test('problems are printed as file:line: message, in file order, and the exit status is 1', () => {
    const result = cli(['check', broken]);
    assert.equal(result.code, 1);
    assert.deepEqual(result.stdout.trim().split('\n'), expected);
    assert.match(result.stderr, /4 problems/);
    assert.equal(cli(['check']).code, 2);
  });

  test('import summarizes the same problems, and still imports', () => {
    const dataDir = join(work, 'data');
    const result = cli(['import', broken, '--org', 'acme', '--project', 'handbook', '--data', dataDir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Imported 17 files into acme\/handbook/);
    assert.match(result.stdout, /Link check: 1 broken link, 1 missing image, 1 unknown anchor\n/);
    for (const line of expected.slice(0, 3)) assert.ok(result.stdout.includes(`  ${line}\n`), line);
    assert.match(result.stdout, /Front matter: 1 error\n {2}people\/time-off\.md:1: front matter is not closed/);
  });
});
