import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import Fastify, { LogController } from 'fastify';
import { lazyChildLogger } from '../../src/web/request-logger.ts';

/** A Fastify app logging JSON lines into an array, with request.log made by lazyChildLogger. */
async function appWithLog(lazy = true) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const app = Fastify({
    logger: { level: 'info', stream },
    logController: new LogController({ disableRequestLogging: true }),
    ...(lazy ? { childLoggerFactory: lazyChildLogger } : {}),
    genReqId: () => 'req-1',
  });
  app.get('/quiet', async () => 'ok');
  app.get('/logs', async (request) => {
    request.log.error({ err: new Error('boom'), path: '/logs' }, 'something failed');
    request.log.warn('a warning %s', 'formatted');
    request.log.debug('below the level');
    request.log.child({ part: 'inner' }).info('from a child');
    return 'ok';
  });
  app.get('/fails', async () => {
    throw new Error('unexpected');
  });
  await app.ready();
  return { app, lines };
}

test('what a request logs carries its request id, as with the child Fastify makes', async () => {
  const { app, lines } = await appWithLog();
  assert.equal((await app.inject('/quiet')).statusCode, 200);
  assert.equal(lines.length, 0, 'nothing logged for a request that logs nothing');
  assert.equal((await app.inject('/logs')).statusCode, 200);
  assert.deepEqual(
    lines.map((l) => [l.level, l.reqId, l.msg, l.part ?? null]),
    [
      [50, 'req-1', 'something failed', null],
      [40, 'req-1', 'a warning formatted', null],
      [30, 'req-1', 'from a child', 'inner'],
    ],
  );
  assert.equal(lines[0]!.path, '/logs');
  assert.match(String((lines[0]!.err as { message?: string }).message), /boom/);
  await app.close();
});

test('the same lines as with the child Fastify makes itself (differential), errors included', async () => {
  const strip = (l: Record<string, unknown>) => {
    const rest = { ...l };
    delete rest.time;
    delete rest.pid;
    delete rest.hostname;
    if (rest.err && typeof rest.err === 'object') rest.err = { ...(rest.err as object), stack: undefined };
    return rest;
  };
  const logged = async (lazy: boolean) => {
    const { app, lines } = await appWithLog(lazy);
    for (const url of ['/quiet', '/logs', '/fails', '/missing']) await app.inject(url);
    await app.close();
    return lines.map(strip);
  };
  const expected = await logged(false);
  assert.ok(expected.length >= 3);
  assert.deepEqual(await logged(true), expected);
});

test('level: the parent\'s until set', () => {
  const parent = Fastify({ logger: { level: 'warn' } }).log;
  const lazy = lazyChildLogger(parent, { reqId: 'r' }, {});
  assert.equal(lazy.level, 'warn');
  lazy.level = 'error';
  assert.equal(lazy.level, 'error');
  assert.equal(parent.level, 'warn', 'the parent is unchanged');
});
