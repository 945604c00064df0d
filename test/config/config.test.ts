import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';

describe('database configuration', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-config-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ DOCUCOMMIT_SECRET: 'x'.repeat(32), ...extra });

  test('DATABASE_APP_URL is the application’s connection, DATABASE_URL the migrations’', () => {
    const config = loadConfig({
      dataDir,
      env: env({ DATABASE_URL: 'postgres://owner@db/docs', DATABASE_APP_URL: 'postgres://docucommit_app:pw@db/docs' }),
    });
    assert.equal(config.databaseUrl, 'postgres://owner@db/docs');
    assert.equal(config.databaseAppUrl, 'postgres://docucommit_app:pw@db/docs');
  });

  test('without DATABASE_APP_URL the application login is derived (null here)', () => {
    assert.equal(loadConfig({ dataDir, env: env({ DATABASE_URL: 'postgres://owner@db/docs' }) }).databaseAppUrl, null);
  });

  test('DATABASE_APP_URL alone is refused: migrations need the owner', () => {
    assert.throws(() => loadConfig({ dataDir, env: env({ DATABASE_APP_URL: 'postgres://docucommit_app:pw@db/docs' }) }), /DATABASE_APP_URL needs DATABASE_URL/);
  });
});
