import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireDataDirLock } from '../../src/config/data-dir-lock.ts';
import { ConflictError } from '../../src/errors.ts';

test('a second claim on a data directory names the holder and is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dc-lock-'));
  const first = acquireDataDirLock(dir, 'a DocuCommit server');
  // Another live process holds it: simulate by writing our parent's pid, which is alive.
  first.release();
  writeFileSync(join(dir, 'docucommit.lock'), JSON.stringify({ pid: process.ppid, purpose: 'a DocuCommit server' }));
  assert.throws(() => acquireDataDirLock(dir, 'docucommit import'), (error: unknown) => {
    assert.ok(error instanceof ConflictError);
    assert.match(error.message, /in use by a DocuCommit server \(pid \d+\)/);
    return true;
  });
  rmSync(dir, { recursive: true, force: true });
});

test('a lock left by a dead process is taken over, and release removes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dc-lock-'));
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  writeFileSync(join(dir, 'docucommit.lock'), JSON.stringify({ pid: Number(dead), purpose: 'a crashed server' }));
  const lock = acquireDataDirLock(dir, 'a DocuCommit server');
  assert.ok(existsSync(join(dir, 'docucommit.lock')));
  lock.release();
  assert.ok(!existsSync(join(dir, 'docucommit.lock')));
  rmSync(dir, { recursive: true, force: true });
});
