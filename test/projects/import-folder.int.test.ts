import { BranchMoves } from '../../src/changes/branch-moves.ts';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Db } from '../../src/db/connection.ts';
import { InvalidInputError } from '../../src/errors.ts';
import { importFolder, MAX_IMPORT_FILE_BYTES } from '../../src/projects/import-folder.ts';
import { Publisher } from '../../src/projects/publisher.ts';
import { RepositoryRegistry } from '../../src/projects/repositories.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const author = { name: 'Importer', email: 'importer@example.test' };
let db: Db;
let dispose: () => Promise<void>;
let dir: string;
let deps: { db: Db; repositories: RepositoryRegistry; publisher: Publisher; branchMoves: BranchMoves };

before(async () => {
  ({ db, dispose } = await databaseTargets()[0]!.open());
  dir = mkdtempSync(join(tmpdir(), 'docucommit-import-'));
  const repositories = new RepositoryRegistry(join(dir, 'repos'));
  const publisher = new Publisher(db, repositories, join(dir, 'rendered'));
  deps = { db, repositories, publisher, branchMoves: new BranchMoves({ db, repositories, publisher }) };
});
after(async () => {
  await deps.repositories.closeAll();
  await dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('an import takes regular files only: hidden entries, symlinks and oversized files are skipped and named', async () => {
  const folder = join(dir, 'hostile');
  mkdirSync(join(folder, '.git'), { recursive: true });
  mkdirSync(join(folder, 'policies'));
  writeFileSync(join(folder, 'policies/ok.md'), '---\ntitle: Fine\n---\n\nText.\n');
  writeFileSync(join(folder, '.git/config'), '[core]\n');
  writeFileSync(join(folder, '.env'), 'SECRET=1\n');
  symlinkSync('/etc/passwd', join(folder, 'policies/passwd.md'));
  symlinkSync('/etc', join(folder, 'etc'));
  writeFileSync(join(folder, 'huge.md'), Buffer.alloc(MAX_IMPORT_FILE_BYTES + 1, 0x61));

  const result = await importFolder(deps, { folder, orgSlug: 'hostile-org', projectSlug: 'docs', author });
  assert.equal(result.files, 1);
  assert.deepEqual([...result.skipped].sort(), [
    '.env (hidden)',
    '.git (hidden)',
    'etc (symlink, not followed)',
    `huge.md (larger than ${MAX_IMPORT_FILE_BYTES} bytes)`,
    'policies/passwd.md (symlink, not followed)',
  ]);
  const repository = await deps.repositories.get(result.project);
  assert.deepEqual((await repository.listTree(result.commit!)).map((e) => e.path), ['policies/ok.md']);
  assert.deepEqual([...deps.publisher.snapshotOf(result.project.id)!.documents.keys()], ['policies/ok.md']);
});

test('a folder that is not there is refused before anything is created', async () => {
  await assert.rejects(
    importFolder(deps, { folder: join(dir, 'missing'), orgSlug: 'never-made', projectSlug: 'docs', author }),
    (error: unknown) => error instanceof InvalidInputError && /is not a folder/.test(error.message),
  );
  writeFileSync(join(dir, 'a-file'), 'x');
  await assert.rejects(importFolder(deps, { folder: join(dir, 'a-file'), orgSlug: 'never-made', projectSlug: 'docs', author }), InvalidInputError);
  const orgs = await asDatabaseOwner(db, (trx) => trx.selectFrom('organizations').select('slug').where('slug', '=', 'never-made').execute());
  assert.deepEqual(orgs, []);
});

test('every file is committed byte for byte, whatever its size (empty, tiny, across read buffers, megabytes)', async () => {
  const folder = join(dir, 'sizes');
  mkdirSync(folder);
  const random = seededRandom(7);
  const sizes = [0, 1, 2, 4095, 4096, 4097, 1_048_575, 1_048_577, 3_000_000, ...Array.from({ length: 400 }, () => Math.floor(random() * 40_000))];
  const contents = new Map<string, Buffer>();
  sizes.forEach((size, i) => {
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = Math.floor(random() * 256);
    const path = `f${String(i).padStart(3, '0')}.bin`;
    writeFileSync(join(folder, path), bytes);
    contents.set(path, bytes);
  });
  const result = await importFolder(deps, { folder, orgSlug: 'sizes', projectSlug: 'bytes', author });
  assert.equal(result.files, sizes.length);
  const repository = await deps.repositories.get(result.project);
  const { tree } = await repository.readCommit(result.commit!);
  const entries = await repository.listTree(tree);
  assert.equal(entries.length, sizes.length);
  for (const entry of entries) {
    assert.ok((await repository.readBlob(entry.oid)).equals(contents.get(entry.path)!), entry.path);
  }
});
