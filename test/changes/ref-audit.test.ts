import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { abandonRefChange, notePush } from '../../src/changes/ref-audit.ts';

test('a pushed reclassification is noted as document.classification_changed with the old and new classification', async () => {
  const gitDir = mkdtempSync(join(tmpdir(), 'docucommit-ref-audit-'));
  try {
    const pending = await notePush(
      gitDir,
      'org-1',
      [
        {
          ref: 'refs/heads/main',
          oldOid: 'a'.repeat(40),
          newOid: 'b'.repeat(40),
          files: 2,
          reclassified: [{ path: 'policies/salary-bands.md', from: 'confidential', to: 'restricted' }],
        },
        { ref: 'refs/heads/draft', oldOid: 'c'.repeat(40), newOid: 'd'.repeat(40), files: 1 },
      ],
      { actor: { type: 'token', id: 'tok-1', label: 'ada@acme.test' }, target: { type: 'project', id: 'proj-1', label: 'acme/handbook' } },
    );
    const events = pending.record.events.map((e) => ({ update: e.update, action: e.event.action, target: e.event.target, details: e.event.details }));
    assert.deepEqual(events, [
      { update: 0, action: 'git.push', target: { type: 'project', id: 'proj-1', label: 'acme/handbook' }, details: { ref: 'refs/heads/main', old: 'a'.repeat(40), new: 'b'.repeat(40), files: 2 } },
      {
        update: 0,
        action: 'document.classification_changed',
        target: { type: 'document', id: 'proj-1:policies/salary-bands.md', label: 'policies/salary-bands.md' },
        details: { commit: 'b'.repeat(40), from: 'confidential', to: 'restricted' },
      },
      { update: 1, action: 'git.push', target: { type: 'project', id: 'proj-1', label: 'acme/handbook' }, details: { ref: 'refs/heads/draft', old: 'c'.repeat(40), new: 'd'.repeat(40), files: 1 } },
    ]);
    await abandonRefChange(pending);
  } finally {
    rmSync(gitDir, { recursive: true, force: true });
  }
});
