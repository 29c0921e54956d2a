'use strict';
const assert = require('assert');
const { startServer, closeAll, post, request, rawExchange, assertError } = require('./helpers');

describe('HTTP protocol', () => {
  let server;
  let port;
  const events = [];

  before(async () => {
    server = await startServer({ maxBodySize: 2 * 1024 * 1024 }, (s) => {
      s.registerTask('app.tasks.add', async (input) => input.a + input.b);
      s.registerTask('sync.add', (input) => input.a + input.b);
      s.registerTask('echo', async (input) => input);
      s.registerTask('arg', async (input) => ({ type: typeof input, isUndefined: input === undefined }));
      s.registerTask('undefined', async () => undefined);
      s.registerTask('zero', () => 0);
      s.registerTask('false', () => false);
      s.registerTask('empty', () => '');
      s.registerTask('null', async () => null);
      s.registerTask('throws', () => { throw new Error('Operation failed: boom'); });
      s.registerTask('rejects', async () => { throw new Error('Operation failed: async boom'); });
      s.registerTask('rejects.string', () => Promise.reject('plain string reason'));
      s.registerTask('rejects.object', () => Promise.reject({ code: 7 }));
      s.registerTask('rejects.empty', () => Promise.reject(new Error('')));
      s.registerTask('bigint', () => 10n);
      s.registerTask('circular', () => { const o = {}; o.self = o; return o; });
      s.registerTask('thenable', () => ({ then(resolve) { resolve('from thenable'); } }));
      s.registerEvent('app.events.notify', async (payload) => { await new Promise((r) => setTimeout(r, 20)); events.push(payload); });
      s.registerEvent('event.fails', async () => { throw new Error('listener failed'); });
      for (const id of ['a/b', 'a.b', 'ünï cödé ✓ 😀']) s.registerTask(id, () => id);
    });
    port = server.port;
  });
  after(closeAll);

  describe('task', () => {
    it('answers {"ok":true,"result":...} with status 200 and a JSON content type', async () => {
      const res = await post(port, '/__runner/task/app.tasks.add', { input: { a: 5, b: 3 } });
      assert.strictEqual(res.status, 200);
      assert.strictEqual(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.strictEqual(res.text, '{"ok":true,"result":8}');
    });

    it('supports plain (non-async) handlers and thenables', async () => {
      assert.strictEqual((await post(port, '/__runner/task/sync.add', { input: { a: 1, b: 2 } })).text, '{"ok":true,"result":3}');
      assert.strictEqual((await post(port, '/__runner/task/thenable', {})).text, '{"ok":true,"result":"from thenable"}');
    });

    it('keeps falsy results and omits result for undefined', async () => {
      assert.strictEqual((await post(port, '/__runner/task/zero', {})).text, '{"ok":true,"result":0}');
      assert.strictEqual((await post(port, '/__runner/task/false', {})).text, '{"ok":true,"result":false}');
      assert.strictEqual((await post(port, '/__runner/task/empty', {})).text, '{"ok":true,"result":""}');
      assert.strictEqual((await post(port, '/__runner/task/null', {})).text, '{"ok":true,"result":null}');
      assert.strictEqual((await post(port, '/__runner/task/undefined', {})).text, '{"ok":true}');
    });

    it('passes undefined when the body has no input (or no body at all)', async () => {
      const expected = { ok: true, result: { type: 'undefined', isUndefined: true } };
      assert.deepStrictEqual((await post(port, '/__runner/task/arg', {})).body, expected);
      assert.deepStrictEqual((await post(port, '/__runner/task/arg', { other: 1 })).body, expected);
      assert.deepStrictEqual((await post(port, '/__runner/task/arg', '')).body, expected);
      assert.deepStrictEqual((await post(port, '/__runner/task/arg', { input: null })).body, { ok: true, result: { type: 'object', isUndefined: false } });
    });

    it('round-trips unicode and emoji byte for byte', async () => {
      const input = { s: 'héllo wörld ✓ 😀 \u0000 \u2028 "quoted" \\ 中文 𝄞', arr: ['🇫🇷', '👩‍👩‍👧'] };
      const sent = Buffer.from(JSON.stringify({ input }));
      const res = await post(port, '/__runner/task/echo', sent);
      assert.deepStrictEqual(res.raw, Buffer.from(`{"ok":true,"result":${JSON.stringify(input)}}`));
    });

    it('round-trips a 1 MB body', async () => {
      const input = { blob: 'x'.repeat(1024 * 1024), list: Array.from({ length: 1000 }, (_, i) => i) };
      const res = await post(port, '/__runner/task/echo', { input });
      assert.strictEqual(res.status, 200);
      assert.deepStrictEqual(res.body.result, input);
    });

    it('percent-decodes ids (%2F, %2E, unicode) and ignores the query string', async () => {
      assert.strictEqual((await post(port, '/__runner/task/a%2Fb', {})).body.result, 'a/b');
      assert.strictEqual((await post(port, '/__runner/task/a%2eb', {})).body.result, 'a.b');
      assert.strictEqual((await post(port, '/__runner/task/a.b?x=1&task=a%2Fb', {})).body.result, 'a.b');
      const id = 'ünï cödé ✓ 😀';
      assert.strictEqual((await post(port, `/__runner/task/${encodeURIComponent(id)}`, {})).body.result, id);
    });
  });

  describe('event', () => {
    it('answers {"ok":true} after the handler finished, with the payload passed', async () => {
      events.length = 0;
      const res = await post(port, '/__runner/event/app.events.notify', { payload: { message: 'Hello' } });
      assert.strictEqual(res.status, 200);
      assert.strictEqual(res.text, '{"ok":true}');
      assert.deepStrictEqual(events, [{ message: 'Hello' }], 'the handler had finished before the answer');
    });

    it('answers 500 when the handler fails', async () => {
      assertError(await post(port, '/__runner/event/event.fails', { payload: 1 }), 500, 'INTERNAL_ERROR', 'listener failed');
    });
  });

  describe('discovery', () => {
    it('lists tasks and events on GET and POST', async () => {
      for (const method of ['GET', 'POST']) {
        const res = await request(port, method, '/__runner/discovery');
        assert.strictEqual(res.status, 200);
        assert.strictEqual(res.body.ok, true);
        const { allowList } = res.body.result;
        assert.strictEqual(allowList.enabled, true);
        assert.deepStrictEqual(allowList.tasks, await server.getTaskIds());
        assert.deepStrictEqual(allowList.events, ['app.events.notify', 'event.fails']);
      }
    });
  });

  describe('errors', () => {
    it('400 INVALID_JSON for a malformed body', async () => {
      assertError(await post(port, '/__runner/task/echo', '{"input":'), 400, 'INVALID_JSON', /Invalid JSON body/);
      assertError(await post(port, '/__runner/task/echo', '{"input":1,}'), 400, 'INVALID_JSON');
      assertError(await post(port, '/__runner/task/echo', '[1,2]'), 400, 'INVALID_JSON', /must be a JSON object/);
      assertError(await post(port, '/__runner/event/app.events.notify', 'nope'), 400, 'INVALID_JSON');
    });

    it('404 NOT_FOUND for an unknown id or path', async () => {
      assertError(await post(port, '/__runner/task/missing', {}), 404, 'NOT_FOUND', 'Task not found: missing');
      assertError(await post(port, '/__runner/event/missing', {}), 404, 'NOT_FOUND', 'Event not found: missing');
      assertError(await post(port, '/__runner/unknown', {}), 404, 'NOT_FOUND');
      assertError(await request(port, 'GET', '/somewhere/else'), 404, 'NOT_FOUND');
    });

    it('405 METHOD_NOT_ALLOWED with an Allow header', async () => {
      const res = await request(port, 'GET', '/__runner/task/app.tasks.add');
      assertError(res, 405, 'METHOD_NOT_ALLOWED');
      assert.strictEqual(res.headers.allow, 'POST, OPTIONS');
      const put = await request(port, 'PUT', '/__runner/discovery', {});
      assertError(put, 405, 'METHOD_NOT_ALLOWED');
      assert.strictEqual(put.headers.allow, 'GET, POST, OPTIONS');
    });

    it('413 PAYLOAD_TOO_LARGE above maxBodySize', async () => {
      const res = await post(port, '/__runner/task/echo', { input: 'x'.repeat(2 * 1024 * 1024 + 10) });
      assertError(res, 413, 'PAYLOAD_TOO_LARGE', /maxBodySize/);
    });

    it('500 INTERNAL_ERROR with the error message when a handler throws or rejects', async () => {
      assertError(await post(port, '/__runner/task/throws', {}), 500, 'INTERNAL_ERROR', 'Operation failed: boom');
      assertError(await post(port, '/__runner/task/rejects', {}), 500, 'INTERNAL_ERROR', 'Operation failed: async boom');
      assertError(await post(port, '/__runner/task/rejects.string', {}), 500, 'INTERNAL_ERROR', 'plain string reason');
      assertError(await post(port, '/__runner/task/rejects.object', {}), 500, 'INTERNAL_ERROR', '[object Object]');
      assertError(await post(port, '/__runner/task/rejects.empty', {}), 500, 'INTERNAL_ERROR', 'Task execution failed');
    });

    it('500 with a clear message for results JSON cannot encode (BigInt, circular)', async () => {
      assertError(await post(port, '/__runner/task/bigint', {}), 500, 'INTERNAL_ERROR', /could not be serialized to JSON.*BigInt/);
      assertError(await post(port, '/__runner/task/circular', {}), 500, 'INTERNAL_ERROR', /could not be serialized to JSON.*circular/i);
      assert.strictEqual((await post(port, '/__runner/task/zero', {})).text, '{"ok":true,"result":0}', 'still serving');
    });

    it('400 BAD_REQUEST for malformed percent-encoding in an id', async () => {
      const text = await rawExchange(port, 'POST /__runner/task/a%zz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.match(text, /"codeName":"BAD_REQUEST"/);
    });
  });

  describe('connections', () => {
    it('keeps the connection alive across successes and errors, answering pipelined requests in order', async () => {
      const req = (p, body) => `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const text = await rawExchange(port,
        req('/__runner/event/app.events.notify', '{"payload":1}') + // slow (20 ms): the others wait for it
        req('/__runner/task/missing', '{}') +
        req('/__runner/task/app.tasks.add', '{"input":{"a":1,"b":1}}') +
        req('/__runner/task/echo', '{"input":') +
        req('/__runner/task/app.tasks.add', '{"input":{"a":2,"b":2}}'), 5);
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]));
      assert.deepStrictEqual(statuses, [200, 404, 200, 400, 200]);
      const bodies = [...text.matchAll(/\r\n\r\n(\{[^\r]*?\})(?=HTTP|$)/g)].map((m) => m[1]);
      assert.deepStrictEqual(bodies[0], '{"ok":true}');
      assert.deepStrictEqual(bodies[2], '{"ok":true,"result":2}');
      assert.deepStrictEqual(bodies[4], '{"ok":true,"result":4}');
      assert.doesNotMatch(text, /Connection: close/i);
    });
  });
});

describe('CORS', () => {
  after(closeAll);

  it('["*"] sends Access-Control-Allow-Origin: * on successes and errors, with or without Origin', async () => {
    const s = await startServer({}, (srv) => srv.registerTask('t', () => 1));
    assert.strictEqual((await post(s.port, '/__runner/task/t', {})).headers['access-control-allow-origin'], '*');
    const err = await post(s.port, '/__runner/task/missing', {}, { origin: 'https://a.example' });
    assertError(err, 404, 'NOT_FOUND');
    assert.strictEqual(err.headers['access-control-allow-origin'], '*');
  });

  it('a list echoes only listed origins, with Vary: Origin', async () => {
    const s = await startServer({ corsOrigins: ['https://example.com', 'http://localhost:3000'] }, (srv) => srv.registerTask('t', () => 1));
    const ok = await post(s.port, '/__runner/task/t', {}, { origin: 'https://example.com' });
    assert.strictEqual(ok.headers['access-control-allow-origin'], 'https://example.com');
    assert.strictEqual(ok.headers.vary, 'Origin');
    const other = await post(s.port, '/__runner/task/t', {}, { origin: 'https://evil.example' });
    assert.strictEqual(other.status, 200);
    assert.strictEqual(other.headers['access-control-allow-origin'], undefined);
    assert.strictEqual(other.headers.vary, 'Origin');
    const none = await post(s.port, '/__runner/task/t', {});
    assert.strictEqual(none.text, '{"ok":true,"result":1}', 'requests without Origin work');
    const err = await post(s.port, '/__runner/task/missing', {}, { origin: 'http://localhost:3000' });
    assert.strictEqual(err.headers['access-control-allow-origin'], 'http://localhost:3000');
  });

  it('answers preflight with 204, the methods and the requested headers', async () => {
    const s = await startServer({ corsOrigins: ['https://example.com'] });
    const res = await request(s.port, 'OPTIONS', '/__runner/task/anything', undefined, {
      origin: 'https://example.com',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, x-runner-token',
    });
    assert.strictEqual(res.status, 204);
    assert.strictEqual(res.text, '');
    assert.strictEqual(res.headers['access-control-allow-origin'], 'https://example.com');
    assert.strictEqual(res.headers['access-control-allow-methods'], 'POST, OPTIONS');
    assert.strictEqual(res.headers['access-control-allow-headers'], 'content-type, x-runner-token');
    assert.ok(Number(res.headers['access-control-max-age']) > 0);
  });
});

