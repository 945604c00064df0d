// The embedded database's thread: one PGlite instance, driven by messages from the serving thread
// (src/db/pglite-thread.ts). PGlite runs PostgreSQL compiled to WebAssembly on the thread that calls it, so a
// slow statement or a commit's flush would otherwise hold every request the process serves.
//
// Messages are handled as they arrive, not one after another: PGlite itself queues a query behind an open
// transaction (its exclusive transaction lock), exactly as it does when called directly.
//
// Plain JavaScript, so it starts without a TypeScript loader in every way the product runs.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

/** @type {{ dataDir: string | null, sharedBuffers: string, imageTarball?: string | null }} */
const options = workerData;

/** PGlite's own start parameters plus a smaller buffer cache (see connection.ts). */
function startParams() {
  const defaults = PGlite.defaultStartParams;
  return Array.isArray(defaults) ? { startParams: [...defaults, '-c', `shared_buffers=${options.sharedBuffers}`] } : {};
}

// Extensions the migrations create (016: pg_trgm, typo tolerance of search titles); PGlite loads their files
// only when named here.
const extensions = { extensions: { pg_trgm } };
// relaxedDurability stays false (the default): every commit waits for its flush.
const image = options.imageTarball ? { loadDataDir: new Blob([readFileSync(options.imageTarball)]) } : {};
const pglite = options.dataDir
  ? new PGlite(options.dataDir, { relaxedDurability: false, ...startParams(), ...extensions })
  : new PGlite({ ...startParams(), ...image, ...extensions });

/** Open transactions by id: the PGlite transaction object and how to end it. */
const transactions = new Map();

parentPort.on('message', (message) => {
  handle(message).then(
    (result) => parentPort.postMessage({ id: message.id, ok: true, result }),
    (error) => parentPort.postMessage({ id: message.id, ok: false, error: serializeError(error) }),
  );
});

async function handle(message) {
  switch (message.op) {
    case 'ready':
      await pglite.waitReady;
      return null;
    case 'query':
      return queryResult(await pglite.query(message.sql, message.params, { rowMode: 'object' }));
    case 'begin':
      return begin(message.tx);
    case 'tx-query': {
      const open = transactions.get(message.tx);
      if (!open) throw new Error('transaction is not open');
      return queryResult(await open.tx.query(message.sql, message.params, { rowMode: 'object' }));
    }
    case 'commit':
      return end(message.tx, true);
    case 'rollback':
      return end(message.tx, false);
    case 'close':
      // PGlite's close waits for an open transaction: roll back those still open (their owners get errors), as a
      // server shutting down does; otherwise a transaction whose owner is waiting for something else holds the close
      await Promise.all([...transactions.values()].map((open) => (open.finish.reject(CLOSING), open.closed.catch(() => {}))));
      if (!pglite.closed) await pglite.close();
      return null;
    default:
      throw new Error(`unknown operation ${message.op}`);
  }
}

/** Open a PGlite transaction and keep it open until `commit` or `rollback` names it. */
function begin(id) {
  return new Promise((begun, failed) => {
    let finish;
    const finished = new Promise((resolve, reject) => {
      finish = { resolve, reject };
    });
    const closed = pglite.transaction(async (tx) => {
      transactions.set(id, { tx, finish, closed });
      begun(null);
      await finished;
    });
    // PGlite commits when the callback returns and rolls back when it throws; `closed` settles after that.
    closed.catch(() => {});
    closed.then(
      () => transactions.delete(id),
      (error) => {
        transactions.delete(id);
        failed(error);
      },
    );
  });
}

async function end(id, commit) {
  const open = transactions.get(id);
  if (!open) throw new Error('transaction is not open');
  if (commit) {
    open.finish.resolve();
    await open.closed;
  } else {
    open.finish.reject(ROLLBACK);
    await open.closed.catch((error) => {
      if (error !== ROLLBACK) throw error;
    });
  }
  return null;
}

const ROLLBACK = new Error('rolled back by the caller');
const CLOSING = new Error('rolled back: the database is closing');

function queryResult(result) {
  return { rows: result.rows ?? [], affectedRows: result.affectedRows ?? undefined };
}

/** PostgreSQL errors carry their SQLSTATE and details as properties; keep them across the thread boundary. */
function serializeError(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields = { message: error.message, name: error.name };
  for (const key of ['code', 'severity', 'detail', 'hint', 'constraint', 'table', 'column', 'schema', 'position', 'where', 'routine']) {
    if (error[key] !== undefined) fields[key] = error[key];
  }
  return fields;
}
