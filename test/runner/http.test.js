'use strict';
/**
 * Differential over raw HTTP: the same request to nodeExposure and to nativeExposure must
 * give the same status, the same body and the same headers (but the hop-by-hop ones,
 * see helpers.js). Each case also states what that answer is, so a case cannot pass by
 * both servers failing the same way.
 */
const assert = require('assert');
const { usePair, rawCases, raw, same, post, TOKEN, JSON_CT } = require('./helpers');
const { clientSerializer, Money } = require('./app');

const s = clientSerializer();
const reqid = (headers) => headers['x-runner-request-id'];
const BIG = `{"input":"${'x'.repeat(2 * 1024 * 1024)}"}`;

/** [name, request, check(outcome)] */
const cases = [
  ['task with {input}', post('/__runner/task/app.tasks.add', '{"input":{"a":1,"b":2}}'), (o) => assert.deepStrictEqual([o.status, o.body], [200, { ok: true, result: 3 }])],
  ['task body without an input key is the input', post('/__runner/task/app.tasks.add', '{"a":5,"b":6}'), (o) => assert.deepStrictEqual(o.body.result, 11)],
  ['a bare number is the input', post('/__runner/task/app.tasks.kind', '5'), (o) => assert.strictEqual(o.body.result, 'number')],
  ['a bare string is the input', post('/__runner/task/app.tasks.echo', '"x"'), (o) => assert.strictEqual(o.body.result, 'x')],
  ['a bare array is the input', post('/__runner/task/app.tasks.echo', '[1,{"a":2}]'), (o) => assert.deepStrictEqual(o.body.result, [1, { a: 2 }])],
  ['null is the input', post('/__runner/task/app.tasks.kind', 'null'), (o) => assert.strictEqual(o.body.result, 'null')],
  ['an empty body is undefined', post('/__runner/task/app.tasks.kind', ''), (o) => assert.strictEqual(o.body.result, 'undefined')],
  ['no body at all is undefined', post('/__runner/task/app.tasks.kind', undefined), (o) => assert.strictEqual(o.body.result, 'undefined')],
  ['a tagged Date at the top is the input', post('/__runner/task/app.tasks.kind', '{"__type":"Date","value":"2020-01-01T00:00:00.000Z"}'), (o) => assert.strictEqual(o.body.result, 'Date')],
  ['a tagged input', post('/__runner/task/app.tasks.echo', s.stringify({ input: { when: new Date(1), m: new Money(2, 'EUR') } })), (o) => assert.deepStrictEqual(o.body.result, { when: new Date(1), m: new Money(2, 'EUR') })],
  ['an undefined result is encoded', post('/__runner/task/app.tasks.nothing', '{}'), (o) => assert.deepStrictEqual(o.body, { ok: true, result: undefined })],
  ['invalid JSON is 400', post('/__runner/task/app.tasks.add', '{"input":'), (o) => assert.deepStrictEqual([o.status, o.body.error], [400, { message: 'Invalid JSON body', code: 'INVALID_JSON' }])],
  ['a whitespace body is 400', post('/__runner/task/app.tasks.add', '   '), (o) => assert.strictEqual(o.status, 400)],
  ['an unknown tagged type is 400', post('/__runner/task/app.tasks.echo', '{"input":{"__type":"Nope","value":1}}'), (o) => assert.deepStrictEqual([o.status, o.body.error.code], [400, 'INVALID_JSON'])],
  ['JSON sent as text/plain is still JSON', post('/__runner/task/app.tasks.add', '{"input":{"a":1,"b":1}}', { 'content-type': 'text/plain' }), (o) => assert.strictEqual(o.body.result, 2)],
  ['typed error body', post('/__runner/task/app.tasks.typed', '{"input":1}'), (o) => {
    assert.strictEqual(o.status, 409);
    assert.deepStrictEqual(Object.keys(o.body.error), ['message', 'code', 'id', 'data', 'httpCode']);
  }],
  ['typed error without data: data encoded as undefined', post('/__runner/task/app.tasks.teapot', '{}'), (o) => assert.strictEqual(o.status, 418)],
  ['typed 500', post('/__runner/task/app.tasks.typed500', '{}'), (o) => assert.deepStrictEqual([o.status, o.body.error.id], [500, 'app.errors.plain'])],
  ['untyped error', post('/__runner/task/app.tasks.untyped', '{}'), (o) => assert.deepStrictEqual([o.status, o.body], [500, { ok: false, error: { message: 'Internal Error', code: 'INTERNAL_ERROR' } }])],
  ['cancellation is 499', post('/__runner/task/app.tasks.cancel', '{}'), (o) => assert.deepStrictEqual([o.status, o.body.error.code], [499, 'REQUEST_ABORTED'])],
  ['GET on a task is 405', { method: 'GET', path: '/__runner/task/app.tasks.add', headers: TOKEN }, (o) => assert.deepStrictEqual([o.status, o.body.error], [405, { message: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED' }])],
  ['PUT on an event is 405', { method: 'PUT', path: '/__runner/event/app.events.notify', body: '{}', headers: TOKEN }, (o) => assert.strictEqual(o.status, 405)],
  ['405 comes before auth', { method: 'GET', path: '/__runner/task/app.tasks.add' }, (o) => assert.strictEqual(o.status, 405)],
  ['HEAD on a task is 405', { method: 'HEAD', path: '/__runner/task/app.tasks.add', headers: TOKEN }, (o) => assert.strictEqual(o.status, 405)],
  ['no token is 401', { ...post('/__runner/task/app.tasks.add', '{}'), headers: JSON_CT }, (o) => assert.deepStrictEqual([o.status, o.body.error], [401, { message: 'Unauthorized', code: 'UNAUTHORIZED' }])],
  ['auth comes before the allow-list', post('/__runner/task/app.tasks.hidden', '{}', { 'x-runner-token': 'bad' }), (o) => assert.strictEqual(o.status, 401)],
  ['an unexposed task is 403', post('/__runner/task/app.tasks.hidden', '{}'), (o) => assert.deepStrictEqual([o.status, o.body.error], [403, { message: 'Task app.tasks.hidden not exposed', code: 'FORBIDDEN' }])],
  ['an unknown event is 403', post('/__runner/event/no.such', '{}'), (o) => assert.strictEqual(o.body.error.message, 'Event no.such not exposed')],
  ['403 comes before the body is read', post('/__runner/task/app.tasks.hidden', '{bad json'), (o) => assert.strictEqual(o.status, 403)],
  ['an encoded slash, unicode and space in an id', post('/__runner/task/app.tasks%2F%C3%BCn%C3%AF%20code', '{}'), (o) => assert.strictEqual(o.body.result, 'odd')],
  ['a real slash in an id', post('/__runner/task/app.tasks/%C3%BCn%C3%AF%20code', '{}'), (o) => assert.strictEqual(o.body.result, 'odd')],
  ['a query string is not part of the id', post('/__runner/task/app.tasks.add?x=1', '{"a":1,"b":1}'), (o) => assert.strictEqual(o.body.result, 2)],
  ['dot segments are resolved', post('/__runner/nowhere/../task/app.tasks.add', '{"a":1,"b":2}'), (o) => assert.strictEqual(o.body.result, 3)],
  ['empty segments are skipped', post('/__runner//task//app.tasks.add', '{"a":1,"b":3}'), (o) => assert.strictEqual(o.body.result, 4)],
  ['a bad escape is 404', post('/__runner/task/%E0%A4%A', '{}'), (o) => assert.strictEqual(o.status, 404)],
  ['no id is 404', post('/__runner/task/', '{}'), (o) => assert.deepStrictEqual([o.status, o.body.error], [404, { message: 'Not Found', code: 'NOT_FOUND' }])],
  ['an unknown route under the base is 404 with a request id', post('/__runner/other', '{}'), (o) => assert.deepStrictEqual([o.status, reqid(o.headers)], [404, '<uuid>'])],
  ['the base itself is 404', { method: 'GET', path: '/__runner' }, (o) => assert.strictEqual(o.status, 404)],
  ['outside the base: 404 without a request id', { method: 'GET', path: '/elsewhere' }, (o) => assert.deepStrictEqual([o.status, reqid(o.headers), o.body.error.code], [404, undefined, 'NOT_FOUND'])],
  ['OPTIONS outside the base is a 404 too', { method: 'OPTIONS', path: '/elsewhere', headers: { origin: 'http://allowed.test' } }, (o) => assert.strictEqual(o.status, 404)],
  ['discovery', { method: 'GET', path: '/__runner/discovery', headers: TOKEN }, (o) => {
    assert.strictEqual(o.status, 200);
    assert.strictEqual(o.body.result.allowList.enabled, true);
    assert.ok(o.body.result.allowList.tasks.includes('app.tasks.add') && !o.body.result.allowList.tasks.includes('app.tasks.hidden'));
  }],
  ['discovery ignores what follows it', { method: 'GET', path: '/__runner/discovery/more', headers: TOKEN }, (o) => assert.strictEqual(o.status, 200)],
  ['discovery needs auth', { method: 'GET', path: '/__runner/discovery' }, (o) => assert.strictEqual(o.status, 401)],
  ['POST on discovery is 405', { method: 'POST', path: '/__runner/discovery', body: '{}', headers: TOKEN }, (o) => assert.strictEqual(o.status, 405)],
  ['a valid request id is echoed', post('/__runner/task/app.tasks.add', '{"a":1,"b":1}', { 'x-runner-request-id': 'trace-1.2:3_4' }), (o) => assert.strictEqual(reqid(o.headers), 'trace-1.2:3_4')],
  ['a request id with spaces around is trimmed', post('/__runner/task/app.tasks.add', '{}', { 'x-runner-request-id': '  abc  ' }), (o) => assert.strictEqual(reqid(o.headers), 'abc')],
  ['an invalid request id is replaced', post('/__runner/task/app.tasks.add', '{}', { 'x-runner-request-id': 'bad id!' }), (o) => assert.strictEqual(reqid(o.headers), '<uuid>')],
  ['a request id of 129 characters is replaced', post('/__runner/task/app.tasks.add', '{}', { 'x-runner-request-id': 'a'.repeat(129) }), (o) => assert.strictEqual(reqid(o.headers), '<uuid>')],
  ['a token sent twice is joined, as Node joins it: no match', post('/__runner/task/app.tasks.add', '{}', { 'x-runner-token': ['secret', 'other'] }), (o) => assert.strictEqual(o.status, 401)],
  ['a request id sent twice is replaced', post('/__runner/task/app.tasks.add', '{}', { 'x-runner-request-id': ['a', 'b'] }), (o) => assert.strictEqual(reqid(o.headers), '<uuid>')],
  ['x-runner-context sent twice provides nothing', post('/__runner/task/app.tasks.context', '{}', { 'x-runner-context': [s.stringify({ 'app.ctx.user': s.stringify({ name: 'one' }) }), '{}'] }), (o) => assert.deepStrictEqual([o.status, o.body.result.user], [200, undefined])],
  ['the request id reaches the task', post('/__runner/task/app.tasks.context', '{}', { 'x-runner-request-id': 'seen-by-task' }), (o) => assert.strictEqual(o.body.result.requestId, 'seen-by-task')],
  ['useExposureContext() sees the URL and headers', post('/__runner/task/app.tasks.context?q=1', '{}', { 'x-custom': 'yes' }), (o) => assert.deepStrictEqual([o.body.result.search, o.body.result.custom], ['?q=1', 'yes'])],
  ['x-runner-context sent by hand', post('/__runner/task/app.tasks.context', '{}', { 'x-runner-context': s.stringify({ 'app.ctx.user': s.stringify({ name: 'raw' }) }) }), (o) => assert.deepStrictEqual(o.body.result.user, { name: 'raw' })],
  ['a broken x-runner-context is ignored', post('/__runner/task/app.tasks.context', '{}', { 'x-runner-context': '{nope' }), (o) => assert.deepStrictEqual([o.status, o.body.result.user], [200, undefined])],
  ['a broken context entry is ignored', post('/__runner/task/app.tasks.context', '{}', { 'x-runner-context': '{"app.ctx.user":"{nope"}' }), (o) => assert.deepStrictEqual([o.status, o.body.result.user], [200, undefined])],
  ['event without a result', post('/__runner/event/app.events.notify', '{"payload":1}'), (o) => assert.deepStrictEqual(o.body, { ok: true })],
  ['event with returnPayload', post('/__runner/event/app.events.notify', '{"payload":{"double":4},"returnPayload":true}'), (o) => assert.deepStrictEqual(o.body, { ok: true, result: { double: 8 } })],
  ['returnPayload is judged by truthiness', post('/__runner/event/app.events.notify', '{"payload":2,"returnPayload":1}'), (o) => assert.deepStrictEqual(o.body, { ok: true, result: 2 })],
  ['a false returnPayload', post('/__runner/event/app.events.notify', '{"payload":2,"returnPayload":0}'), (o) => assert.deepStrictEqual(o.body, { ok: true })],
  ['returnPayload without payload', post('/__runner/event/app.events.notify', '{"returnPayload":true}'), (o) => assert.deepStrictEqual(o.body, { ok: true, result: undefined })],
  ['an event with a bare body', post('/__runner/event/app.events.notify', '7'), (o) => assert.deepStrictEqual(o.body, { ok: true })],
  ['a parallel event refuses returnPayload', post('/__runner/event/app.events.parallel', '{"returnPayload":true}'), (o) => assert.deepStrictEqual([o.status, o.body.error], [400, { message: 'Event app.events.parallel is marked parallel; returning a payload is not supported.', code: 'PARALLEL_EVENT_RETURN_UNSUPPORTED' }])],
  ['a failing event hook', post('/__runner/event/app.events.failing', '{}'), (o) => assert.deepStrictEqual([o.status, o.body.error.id], [409, 'app.errors.conflict'])],
  ['event bad JSON', post('/__runner/event/app.events.notify', '{x'), (o) => assert.strictEqual(o.status, 400)],
  ['a body over 2 MiB is 413', post('/__runner/task/app.tasks.echo', BIG), (o) => assert.deepStrictEqual([o.status, o.body.error], [413, { message: 'Payload too large', code: 'PAYLOAD_TOO_LARGE' }])],
  ['an oversized body with a wrong token is 401 (the body is never read)', post('/__runner/task/app.tasks.echo', BIG, { 'x-runner-token': 'bad' }), (o) => assert.strictEqual(o.status, 401)],
  ['an oversized body to an unexposed task is 403', post('/__runner/task/app.tasks.hidden', BIG), (o) => assert.strictEqual(o.status, 403)],
  ['an oversized body with the wrong method is 405', { ...post('/__runner/task/app.tasks.echo', BIG), method: 'PUT' }, (o) => assert.strictEqual(o.status, 405)],
  ['an oversized body outside the base is 404', post('/elsewhere', BIG), (o) => assert.strictEqual(o.status, 404)],
  ['a body of exactly 2 MiB is read', post('/__runner/task/app.tasks.kind', `"${'x'.repeat(2 * 1024 * 1024 - 2)}"`), (o) => assert.deepStrictEqual([o.status, o.body.result], [200, 'string'])],
  ['a chunked body', { ...post('/__runner/task/app.tasks.add', '{"a":2,"b":5}', { 'transfer-encoding': 'chunked', 'content-length': undefined }) }, (o) => assert.strictEqual(o.body.result, 7)],
  ['a 12 KiB header is accepted', post('/__runner/task/app.tasks.add', '{"a":1,"b":1}', { 'x-big': 'b'.repeat(12 * 1024) }), (o) => assert.strictEqual(o.status, 200)],
  ['CORS: an allowed origin', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://allowed.test' }), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers.vary], ['http://allowed.test', 'Origin'])],
  ['CORS: a refused origin', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://evil.test' }), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers.vary], [undefined, 'Origin'])],
  ['CORS: on errors too', post('/__runner/task/app.tasks.hidden', '{}', { origin: 'http://allowed.test' }), (o) => assert.strictEqual(o.headers['access-control-allow-origin'], 'http://allowed.test')],
  ['CORS: preflight', { method: 'OPTIONS', path: '/__runner/task/app.tasks.add', headers: { origin: 'http://allowed.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-runner-token' } }, (o) => {
    assert.deepStrictEqual([o.status, o.body, o.headers['access-control-allow-methods'], o.headers['access-control-allow-headers']], [204, '', 'POST, OPTIONS', 'content-type,x-runner-token']);
  }],
  ['CORS: preflight needs no token, even on an unknown id', { method: 'OPTIONS', path: '/__runner/task/no.such', headers: { origin: 'http://evil.test' } }, (o) => assert.deepStrictEqual([o.status, o.headers['access-control-allow-origin']], [204, undefined])],
  ['CORS: preflight on discovery', { method: 'OPTIONS', path: '/__runner/discovery', headers: { origin: 'http://allowed.test' } }, (o) => assert.strictEqual(o.status, 204)],
  ['a task returning a Readable streams it', post('/__runner/task/app.tasks.stream', '{}', { origin: 'http://allowed.test' }), (o) => {
    assert.deepStrictEqual([o.status, o.body, o.headers['content-type'], o.headers['transfer-encoding']], [200, 'hello world', 'application/octet-stream', 'chunked']);
    assert.deepStrictEqual([o.headers['x-content-type-options'], o.headers['access-control-allow-origin'], reqid(o.headers)], ['nosniff', 'http://allowed.test', '<uuid>']);
  }],
  ['a streamed answer with status, type and headers, the unsafe ones dropped', post('/__runner/task/app.tasks.streamWrapped', '{}'), (o) => {
    assert.deepStrictEqual([o.status, o.body, o.headers['content-type'], o.headers['x-extra']], [201, 'a,b\n', 'text/csv', 'yes']);
    assert.deepStrictEqual([o.headers['set-cookie'], o.headers['x-frame-options'], o.headers['access-control-allow-origin']], [undefined, 'DENY', undefined], "the task's set-cookie, x-frame-options and ACAO are dropped");
  }],
  ['security headers on every JSON answer', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.deepStrictEqual([o.headers['x-content-type-options'], o.headers['x-frame-options'], o.headers['content-type']], ['nosniff', 'DENY', 'application/json; charset=utf-8'])],
];

describe('runner differential: raw HTTP sees nodeExposure and nativeExposure alike', function () {
  const pair = usePair({ http: { auth: { token: 'secret' }, cors: { origin: ['http://allowed.test'] } } });
  rawCases(pair, cases);

  it('a request the HTTP parser refuses gets Node\'s bare answer from both: the status line and Connection: close', async () => {
    const request = post('/__runner/task/app.tasks.add', '{}', { 'x-big': 'b'.repeat(20 * 1024) });
    const outcome = await same(pair(), (app) => raw(app, request.method, request.path, request));
    assert.deepStrictEqual([outcome.status, outcome.body, outcome.headers], [431, '', { connection: 'close' }]);
  });
});
