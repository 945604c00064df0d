import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { fallbackErrorPage, registerErrorHandling } from '../../src/web/error-handler.ts';

const SECRET = Buffer.alloc(32, 3);

test('an unexpected error is a generic 500 page with the request id, never the error text', async () => {
  const app = Fastify({ logger: false });
  registerErrorHandling(app, SECRET);
  app.get('/boom', { config: { access: 'public' } }, async () => {
    throw new Error('connection string postgres://admin:hunter2@db/internal');
  });
  const res = await app.inject({ method: 'GET', url: '/boom', headers: { accept: 'text/html' } });
  assert.equal(res.statusCode, 500);
  assert.doesNotMatch(res.body, /hunter2|postgres:\/\//);
  assert.match(res.body, /Request ID: <code>[^<]+<\/code>/);
  const json = await app.inject({ method: 'GET', url: '/boom', headers: { accept: 'application/json' } });
  assert.equal(json.statusCode, 500);
  assert.doesNotMatch(json.body, /hunter2/);
  assert.equal(typeof JSON.parse(json.body).error.requestId, 'string');
  await app.close();
});

test('the last-resort error page escapes what it shows and carries nothing else', () => {
  const page = fallbackErrorPage(500, 'Server <error>', 'req-"1"');
  assert.match(page, /<h1>Server &lt;error&gt;<\/h1>/);
  assert.match(page, /Request ID: <code>req-&quot;1&quot;<\/code>/);
  assert.doesNotMatch(page, /<script/);
});
