import type { Migration, MigrationProvider } from 'kysely/migration';
import * as foundation from './001-foundation.ts';

/** Every migration, in order. Names are permanent once released. */
const migrations: Record<string, Migration> = {
  '001-foundation': foundation,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
