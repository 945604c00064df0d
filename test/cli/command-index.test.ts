import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commands } from '../../src/cli/commands/index.ts';

test('each listed command loads the module of that name, with its help; names are unique', async () => {
  assert.equal(new Set(commands.map((c) => c.name)).size, commands.length);
  for (const entry of commands) {
    const command = await entry.load();
    assert.equal(command.name, entry.name);
    assert.ok(entry.summary.length > 0, entry.name);
    assert.match(command.help, new RegExp(`docucommit ${entry.name}\\b`), entry.name);
  }
});

test('the commands a running server carries out are the ones that change or read its data', () => {
  const inServer = (argv: string[]) => commands.find((c) => c.name === argv[0])?.runsInServer?.(argv.slice(1)) ?? false;
  for (const argv of [['import'], ['user', 'add'], ['token', 'create'], ['audit', 'verify'], ['evidence', 'export'], ['org', 'export'], ['org', 'purge'], ['mfa-key', 'status'], ['project', 'deleted'], ['backup']]) {
    assert.equal(inServer(argv), true, argv.join(' '));
  }
  for (const argv of [['serve'], ['render'], ['check'], ['restore'], ['evidence', 'verify'], ['mfa-key', 'generate'], ['mfa-key', 'rotate']]) {
    assert.equal(inServer(argv), false, argv.join(' '));
  }
});
