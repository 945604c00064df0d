import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

describe('the Chromium that prints PDFs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-config-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ DOCUCOMMIT_SECRET: 'x'.repeat(32), ...extra });

  test('CHROMIUM_PATH is read by the configuration, /usr/bin/chromium without it', () => {
    assert.equal(loadConfig({ dataDir, env: env({ CHROMIUM_PATH: '/opt/chrome/chrome' }) }).chromiumPath, '/opt/chrome/chrome');
    assert.equal(loadConfig({ dataDir, env: env({}) }).chromiumPath, '/usr/bin/chromium');
    assert.equal(loadConfig({ dataDir, env: env({ CHROMIUM_PATH: '  ' }) }).chromiumPath, '/usr/bin/chromium');
  });

  test('a relative CHROMIUM_PATH is refused at start', () => {
    assert.throws(() => loadConfig({ dataDir, env: env({ CHROMIUM_PATH: 'bin/chromium' }) }), /CHROMIUM_PATH must be an absolute path/);
  });

  test('no module outside src/config reads CHROMIUM_PATH from the environment', () => {
    const root = fileURLToPath(new URL('../../src/', import.meta.url));
    const readers = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((file) => /\.(ts|tsx|mjs)$/.test(file) && !file.startsWith('config/'))
      .filter((file) => /env(\.CHROMIUM_PATH|\[['"]CHROMIUM_PATH)/.test(readFileSync(join(root, file), 'utf8')));
    assert.deepEqual(readers, []);
  });
});
