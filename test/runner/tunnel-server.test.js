'use strict';
/**
 * TunnelServer in the runner protocol, without the adapter: the serializer option with
 * runner's own Serializer, handler outcomes (HandlerError, returnPayload) and the call
 * context. Over real HTTP on 127.0.0.1.
 */
const assert = require('assert');
const { Serializer } = require('@bluelibs/runner');
const { TunnelServer, HandlerError } = require('../..');
const { startServer, closeAll, request } = require('../helpers');

describe('TunnelServer, runner protocol, from JavaScript', function () {
  afterEach(closeAll);
  const serializer = new Serializer();
  const base = { protocol: 'runner', auth: { allowAnonymous: true } };

  it('takes runner\'s Serializer (a class instance) and uses it both ways', async () => {
    let seen;
    const server = await startServer({ ...base, serializer }, (s) => {
      s.registerTask('t', (input) => { seen = input; return { back: input.when, set: new Set([1n]) }; });
    });
    const res = await request(server.port, 'POST', '/__runner/task/t', serializer.stringify({ input: { when: new Date(5) } }));
    assert.ok(seen.when instanceof Date, 'the handler gets a Date');
    assert.deepStrictEqual(serializer.parse(res.text), { ok: true, result: { back: new Date(5), set: new Set([1n]) } });
  });

  it('refuses a serializer without parse and stringify, naming the field', () => {
    assert.throws(() => new TunnelServer({ port: 0, ...base, serializer: { parse: JSON.parse } }), { name: 'TypeError', message: /config\.serializer/ });
  });

  it('without a serializer, plain JSON: undefined results are answered without a result', async () => {
    const server = await startServer(base, (s) => s.registerTask('t', () => undefined));
    const res = await request(server.port, 'POST', '/__runner/task/t', '{}');
    assert.deepStrictEqual(res.body, { ok: true });
  });

  it('a HandlerError chooses status, code, message, id, data and httpCode', async () => {
    const server = await startServer({ ...base, serializer }, (s) => {
      s.registerTask('typed', () => { throw new HandlerError('Nope', { status: 422, code: 'INVALID', id: 'app.errors.x', data: { at: new Date(0) }, httpCode: 422 }); });
      s.registerTask('plain500', () => Promise.reject(new HandlerError('hidden', { status: 500 })));
      s.registerTask('typed500', () => { throw new HandlerError('kept', { status: 500, id: 'app.errors.y', data: undefined }); });
      s.registerTask('other', () => { throw new Error('secret'); });
    });
    const typed = await request(server.port, 'POST', '/__runner/task/typed', '{}');
    assert.strictEqual(typed.status, 422);
    assert.deepStrictEqual(serializer.parse(typed.text), { ok: false, error: { message: 'Nope', code: 'INVALID', id: 'app.errors.x', data: { at: new Date(0) }, httpCode: 422 } });
    const plain = await request(server.port, 'POST', '/__runner/task/plain500', '{}');
    assert.deepStrictEqual([plain.status, plain.body], [500, { ok: false, error: { message: 'Internal Error', code: 'INTERNAL_ERROR' } }], 'at 500 an error without id keeps no message');
    const typed500 = await request(server.port, 'POST', '/__runner/task/typed500', '{}');
    assert.deepStrictEqual(typed500.body, { ok: false, error: { message: 'kept', code: 'INTERNAL_ERROR', id: 'app.errors.y' } }, 'undefined data is dropped at 500');
    const other = await request(server.port, 'POST', '/__runner/task/other', '{}');
    assert.deepStrictEqual(other.body.error, { message: 'Internal Error', code: 'INTERNAL_ERROR' });
  });

  it('an event answers its result when the client asks (returnPayload)', async () => {
    const calls = [];
    const server = await startServer({ ...base, serializer }, (s) => {
      s.registerEvent('e', (payload, ctx) => { calls.push(ctx.returnPayload); return { got: payload }; });
    });
    const withResult = await request(server.port, 'POST', '/__runner/event/e', serializer.stringify({ payload: new Date(1), returnPayload: true }));
    assert.deepStrictEqual(serializer.parse(withResult.text), { ok: true, result: { got: new Date(1) } });
    const without = await request(server.port, 'POST', '/__runner/event/e', '{"payload":1}');
    assert.deepStrictEqual(without.body, { ok: true });
    assert.deepStrictEqual(calls, [true, false]);
  });

  it('the call context carries the request id, url, method and raw x-runner-context', async () => {
    let got;
    const server = await startServer(base, (s) => s.registerTask('t', (input, ctx) => {
      got = { id: ctx.id, kind: ctx.kind, requestId: ctx.requestId, url: ctx.url, method: ctx.method, context: ctx.contextHeader, header: ctx.headers['x-extra'] };
      return 1;
    }));
    await request(server.port, 'POST', '/__runner/task/t?q=1', '{}', { 'x-runner-request-id': 'rid-1', 'x-runner-context': '{"a":"1"}', 'x-extra': 'yes' });
    assert.deepStrictEqual(got, { id: 't', kind: 'task', requestId: 'rid-1', url: '/__runner/task/t?q=1', method: 'POST', context: '{"a":"1"}', header: 'yes' });
  });

  it('the auth validator gets the request id with headers, method, url and path', async () => {
    let req;
    const server = await startServer({ protocol: 'runner', authValidator: (r) => { req = r; return { ok: r.headers['x-k'] === 'v' }; } }, (s) => s.registerTask('t', () => 2));
    const ok = await request(server.port, 'POST', '/__runner/task/t?z', '{}', { 'x-k': 'v', 'x-runner-request-id': 'rid-2' });
    assert.strictEqual(ok.body.result, 2);
    assert.deepStrictEqual([req.requestId, req.method, req.url, req.path], ['rid-2', 'POST', '/__runner/task/t?z', '/__runner/task/t']);
    const refused = await request(server.port, 'POST', '/__runner/task/t', '{}', { 'x-k': 'w' });
    assert.strictEqual(refused.status, 401);
  });
});
