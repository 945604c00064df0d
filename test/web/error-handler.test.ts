import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { fallbackErrorPage, registerErrorHandling } from '../../src/web/error-handler.ts';
import { registerSecurityHeaders } from '../../src/web/security-headers.ts';

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

test('a header a response cannot carry still ends on the error page with the security headers, over a real socket', async () => {
  const app = Fastify({ logger: false });
  registerSecurityHeaders(app, { secure: false });
  registerErrorHandling(app, SECRET);
  app.get('/to-unicode', { config: { access: 'public' } }, async (_request, reply) => reply.redirect('/／evil.example', 303));
  app.get('/bad-header', { config: { access: 'public' } }, async (_request, reply) => reply.header('x-note', 'naïve ✓').send('hello'));
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = app.server.address() as AddressInfo;
    const redirect = await fetch(`http://127.0.0.1:${port}/to-unicode`, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(redirect.status, 303);
    assert.equal(redirect.headers.get('location'), '/%EF%BC%8Fevil.example', 'percent-encoded: one path segment');
    assert.ok(redirect.headers.get('content-security-policy'));
    const bad = await fetch(`http://127.0.0.1:${port}/bad-header`, { headers: { accept: 'text/html' } });
    assert.equal(bad.status, 500);
    assert.equal(bad.headers.get('x-note'), null);
    assert.match(bad.headers.get('content-type') ?? '', /text\/html/);
    assert.ok(bad.headers.get('content-security-policy'), 'the security headers are there');
    const body = await bad.text();
    assert.match(body, /Request ID/);
    assert.doesNotMatch(body, /ERR_INVALID_CHAR|statusCode/);
  } finally {
    await app.close();
  }
});
