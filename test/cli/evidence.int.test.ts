import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { main } from '../../src/cli/main.ts';
import { PUBLIC_KEY_FILE } from '../../src/evidence/manifest.ts';
import { readTar } from '../../src/evidence/tar.ts';
import { fixtureProject } from '../helpers/test-app.ts';

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (c) => (stdout += c));
  const err = new PassThrough().on('data', (c) => (stderr += c));
  const code = await main(args, { stdout: out, stderr: err, stdin: new PassThrough(), env: {} });
  return { code, stdout, stderr };
}

async function publicKeyIn(pack: string): Promise<string> {
  let key = '';
  await readTar(Readable.from([gunzipSync(readFileSync(pack))]), (name, data) => {
    if (name === PUBLIC_KEY_FILE) key = data.toString('utf8');
  });
  return key;
}

describe('docucommit evidence export and verify', () => {
  let dir: string;
  let data: string;
  const today = new Date().toISOString().slice(0, 10);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dc-evidence-cli-'));
    data = join(dir, 'data');
    const imported = await cli(['import', fixtureProject('acme-handbook'), '--org', 'acme', '--project', 'handbook', '--data', data]);
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('has --help; wrong arguments exit 2; an unknown organization or project is refused', async () => {
    const help = await cli(['evidence', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /docucommit evidence export --org SLUG --from DATE --to DATE \[--project SLUG\] --out FILE/);
    assert.equal((await cli(['evidence', 'export', '--org', 'acme', '--data', data])).code, 2);
    assert.equal((await cli(['evidence', 'verify'])).code, 2);
    assert.equal((await cli(['evidence', 'export', '--org', 'nope', '--from', today, '--to', today, '--out', join(dir, 'x.tar.gz'), '--data', data])).code, 2);
    const noProject = await cli(['evidence', 'export', '--org', 'acme', '--project', 'nope', '--from', today, '--to', today, '--out', join(dir, 'y.tar.gz'), '--data', data]);
    assert.equal(noProject.code, 1);
    assert.equal(existsSync(join(dir, 'y.tar.gz')), false);
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.partial')), [], 'no partial file is left behind');
  });

  test('an export verifies offline; after an MFA key rotation the same signing key signs the next pack', async () => {
    const first = join(dir, 'first.tar.gz');
    const exported = await cli(['evidence', 'export', '--org', 'acme', '--project', 'handbook', '--from', today, '--to', today, '--out', first, '--data', data]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^Wrote .*first\.tar\.gz: \d+ document\(s\), \d+ version\(s\), \d+ audit event\(s\), \d+ files\./);
    const verified = await cli(['evidence', 'verify', first]);
    assert.equal(verified.code, 0, verified.stdout);
    const key = join(dir, 'key.pem');
    writeFileSync(key, await publicKeyIn(first));

    const rotated = await cli(['mfa-key', 'rotate', '--data', data]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const status = await cli(['mfa-key', 'status', '--data', data]);
    assert.match(status.stdout, /1 evidence signing key\(s\) sealed under/);
    const second = join(dir, 'second.tar.gz');
    assert.equal((await cli(['evidence', 'export', '--org', 'acme', '--from', today, '--to', today, '--out', second, '--data', data])).code, 0);
    const pinned = await cli(['evidence', 'verify', second, '--key', key]);
    assert.equal(pinned.code, 0, pinned.stdout);
    assert.match(pinned.stdout, /\(the key you gave\)/);
  });
});
