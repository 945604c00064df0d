/**
 * A logical dump of the database, the same on PGlite and PostgreSQL (pg_dump is not needed, and may not be
 * installed where DocuCommit runs): read in one REPEATABLE READ, READ ONLY transaction as the tables' owner (so
 * row-level security hides nothing), every table of the public schema with every stored column cast to text
 * (PostgreSQL's text form of each type reads back exactly), through a cursor in batches, one JSON line per
 * row; then each sequence's position, and the names of the migrations the schema was built by.
 *
 * Restore builds the schema by running those same migrations (so the schema is this code's, not the
 * archive's), loads the rows in foreign-key order, sets the sequences, then runs any migration this version
 * adds — all in one transaction, so a database is restored whole or not at all.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { CompiledQuery, Migrator, type Migration } from 'kysely';
import type { Kysely } from 'kysely';
import { MIGRATION_NAMES, migrationProvider } from '../db/migrations/index.ts';

/** One statement runner: a transaction on the owner's connection. */
export interface SqlSession {
  query<R>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

/** Tables that belong to the migrator, not to the data. */
const MIGRATOR_TABLES = ['docucommit_migrations', 'docucommit_migrations_lock', 'kysely_migration', 'kysely_migration_lock'];

export interface DumpedTable {
  name: string;
  columns: Array<{ name: string; type: string }>;
  rows: number;
  /** The archive entry that holds its rows. */
  entry: string;
}

export interface DatabaseDump {
  migrations: string[];
  /** In an order that loads without breaking a foreign key (referenced tables first). */
  tables: DumpedTable[];
  sequences: Array<{ name: string; lastValue: string; isCalled: boolean }>;
}

const FETCH_ROWS = 500;

/** Identifier quoting for names read from the catalog. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Dump the database through `session` (a transaction that has already fixed its snapshot) into `dir`, one file
 * per table named `<table>.jsonl`. Returns what was dumped.
 */
export async function dumpDatabase(session: SqlSession, dir: string): Promise<DatabaseDump> {
  const migrations = (await session.query<{ name: string }>('select name from docucommit_migrations order by name')).map((r) => r.name);
  const names = (
    await session.query<{ name: string }>(
      `select c.relname as name from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
        order by c.relname`,
    )
  )
    .map((r) => r.name)
    .filter((name) => !MIGRATOR_TABLES.includes(name));
  const edges = await session.query<{ child: string; parent: string }>(
    `select cl.relname as child, pl.relname as parent from pg_constraint k
       join pg_class cl on cl.oid = k.conrelid join pg_class pl on pl.oid = k.confrelid
      where k.contype = 'f' and k.connamespace = 'public'::regnamespace`,
  );
  const tables: DumpedTable[] = [];
  for (const name of loadOrder(names, edges)) {
    const columns = await session.query<{ name: string; type: string }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
        where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
        order by a.attnum`,
      [`public.${ident(name)}`],
    );
    const entry = `${name}.jsonl`;
    const out = createWriteStream(join(dir, entry), { mode: 0o600 });
    let rows = 0;
    try {
      await write(out, JSON.stringify({ table: name, columns }) + '\n');
      const select = columns.map((c, i) => `${ident(c.name)}::text as c${i}`).join(', ');
      await session.query(`declare backup_rows no scroll cursor for select ${select || 'null'} from public.${ident(name)}`);
      for (;;) {
        const batch = await session.query<Record<string, string | null>>(`fetch ${FETCH_ROWS} from backup_rows`);
        if (batch.length === 0) break;
        let lines = '';
        for (const row of batch) lines += JSON.stringify(columns.map((_, i) => row[`c${i}`] ?? null)) + '\n';
        await write(out, lines);
        rows += batch.length;
      }
      await session.query('close backup_rows');
    } finally {
      out.end();
      await once(out, 'close');
    }
    tables.push({ name, columns, rows, entry });
  }
  const sequences: DatabaseDump['sequences'] = [];
  const sequenceNames = await session.query<{ name: string }>(
    `select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind = 'S' order by relname`,
  );
  for (const { name } of sequenceNames) {
    const [state] = await session.query<{ last_value: string; is_called: boolean }>(`select last_value::text as last_value, is_called from public.${ident(name)}`);
    if (state) sequences.push({ name, lastValue: state.last_value, isCalled: state.is_called });
  }
  return { migrations, tables, sequences };
}

/** Tables ordered so that each comes after the tables it references (a reference to itself is ignored). */
function loadOrder(names: string[], edges: Array<{ child: string; parent: string }>): string[] {
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const parents = new Map<string, string[]>();
  for (const { child, parent } of edges) if (child !== parent) parents.set(child, [...(parents.get(child) ?? []), parent]);
  const visit = (name: string) => {
    const now = state.get(name);
    if (now === 'done') return;
    if (now === 'visiting') throw new Error(`the foreign keys of ${name} form a cycle; a logical dump cannot order it`);
    state.set(name, 'visiting');
    for (const parent of (parents.get(name) ?? []).sort()) if (names.includes(parent)) visit(parent);
    state.set(name, 'done');
    ordered.push(name);
  };
  for (const name of names) visit(name);
  return ordered;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** The archive's migrations that this version of DocuCommit does not know (a backup made by a newer version). */
export function unknownMigrations(dump: Pick<DatabaseDump, 'migrations'>): string[] {
  const known = new Set(MIGRATION_NAMES);
  return dump.migrations.filter((name) => !known.has(name));
}

/**
 * Restore a dump into an empty database through `db`, a Kysely on ONE connection as the owner (or PGlite's
 * superuser), in one transaction: the archive's migrations, its rows and sequences, then this version's later
 * migrations. `dir` holds the `<table>.jsonl` files.
 */
export async function restoreDatabase(db: Kysely<unknown>, dump: DatabaseDump, dir: string): Promise<void> {
  const unknown = unknownMigrations(dump);
  if (unknown.length > 0) throw new Error(`the backup was made by a newer DocuCommit (migrations ${unknown.join(', ')}); restore it with that version`);
  const all = await migrationProvider.getMigrations();
  const archived = new Set(dump.migrations);
  const subset: Record<string, Migration> = Object.fromEntries(Object.entries(all).filter(([name]) => archived.has(name)));
  const migrator = (provider: Record<string, Migration>) =>
    new Migrator({
      db,
      provider: { getMigrations: async () => provider },
      migrationTableName: 'docucommit_migrations',
      allowUnorderedMigrations: true,
      disableTransactions: true,
    });
  const run = (statement: string, params: readonly unknown[] = []) => db.executeQuery(CompiledQuery.raw(statement, [...params]));
  await run('begin');
  try {
    const first = await migrator(subset).migrateToLatest();
    if (first.error) throw first.error;
    // triggers (foreign-key checks among them) are skipped where the role may (superuser); the load order
    // keeps every foreign key satisfied anyway
    await run('savepoint replica');
    await run('set local session_replication_role = replica').catch(async () => {
      await run('rollback to savepoint replica');
    });
    for (const table of dump.tables) {
      // the archive's columns must be exactly those the migrations made (names and types, in order): the types
      // used in the casts below are then the catalog's own, never text from the archive
      const { rows } = await run(
        `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
          where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
          order by a.attnum`,
        [`public.${ident(table.name)}`],
      );
      if (JSON.stringify(rows) !== JSON.stringify(table.columns)) throw new Error(`the columns of ${table.name} in the backup differ from the schema its migrations make`);
      await loadTable(run, { ...table, columns: rows as DumpedTable['columns'] }, join(dir, table.entry));
    }
    for (const sequence of dump.sequences) {
      await run(`select setval($1::regclass, $2::bigint, $3::boolean)`, [`public.${ident(sequence.name)}`, sequence.lastValue, sequence.isCalled]);
    }
    await run('set local session_replication_role = origin').catch(() => {});
    const rest = await migrator(all).migrateToLatest();
    if (rest.error) throw rest.error;
    await run('commit');
  } catch (error) {
    await run('rollback').catch(() => {});
    throw error;
  }
}

type Run = (statement: string, params?: readonly unknown[]) => Promise<{ rows: unknown[] }>;

async function loadTable(run: Run, table: DumpedTable, file: string): Promise<void> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let header: { table: string; columns: Array<{ name: string; type: string }> } | null = null;
  let batch: unknown[][] = [];
  let loaded = 0;
  const columns = table.columns;
  const perBatch = Math.max(1, Math.min(500, Math.floor(30_000 / Math.max(1, columns.length))));
  const flush = async () => {
    if (batch.length === 0) return;
    const params: unknown[] = [];
    const values = batch
      .map((row) => `(${row.map((value, i) => {
        params.push(value);
        return `$${params.length}::${columns[i]!.type}`;
      }).join(', ')})`)
      .join(', ');
    await run(`insert into public.${ident(table.name)} (${columns.map((c) => ident(c.name)).join(', ')}) overriding system value values ${values}`, params);
    loaded += batch.length;
    batch = [];
  };
  for await (const line of lines) {
    if (line === '') continue;
    if (header === null) {
      header = JSON.parse(line) as typeof header;
      if (header!.table !== table.name || JSON.stringify(header!.columns) !== JSON.stringify(columns)) {
        throw new Error(`the rows of ${table.name} do not match the manifest`);
      }
      continue;
    }
    const row = JSON.parse(line) as unknown[];
    if (!Array.isArray(row) || row.length !== columns.length || row.some((v) => v !== null && typeof v !== 'string')) {
      throw new Error(`a row of ${table.name} is malformed`);
    }
    batch.push(row);
    if (batch.length >= perBatch) await flush();
  }
  await flush();
  if (header === null || loaded !== table.rows) throw new Error(`${table.name}: ${loaded} rows read, the manifest says ${table.rows}`);
}
