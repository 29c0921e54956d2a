'use strict';
/**
 * Differential, per configuration: nodeExposure's http config options (auth, allow-list
 * sources, open exposure, discovery, base path, limits, CORS) given to both exposures,
 * the same requests compared.
 */
const assert = require('assert');
const { usePair, rawCases, same, fetchClient, outcome, waitForLog, logView, post, TOKEN } = require('./helpers');
const { userContext } = require('./app');

const get = (path, headers = TOKEN) => ({ method: 'GET', path, headers });
const options = (path, origin, extra = {}) => ({ method: 'OPTIONS', path, headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type', ...extra } });

/** [scenario name, startPair options, [case name, request, check][]] */
const scenarios = [
  ['no auth configured: fails closed', { validator: false }, [
    ['a task is 500 AUTH_NOT_CONFIGURED', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.deepStrictEqual([o.status, o.body.error], [500, { message: 'Authentication not configured.', code: 'AUTH_NOT_CONFIGURED' }])],
    ['discovery too', get('/__runner/discovery'), (o) => assert.strictEqual(o.body.error.code, 'AUTH_NOT_CONFIGURED')],
    ['an event too', post('/__runner/event/app.events.notify', '{}'), (o) => assert.strictEqual(o.status, 500)],
    ['405 still comes first', get('/__runner/task/app.tasks.add'), (o) => assert.strictEqual(o.status, 405)],
    ['preflight still answers', options('/__runner/task/app.tasks.add', 'http://a.test'), (o) => assert.strictEqual(o.status, 204)],
  ]],
  ['allowAnonymous', { validator: false, http: { auth: { allowAnonymous: true } } }, [
    ['a task runs without a token', post('/__runner/task/app.tasks.add', '{"a":1,"b":1}', { 'x-runner-token': '' }), (o) => assert.strictEqual(o.body.result, 2)],
  ]],
  ['an empty token is no token (runner: if (auth.token))', { validator: false, http: { auth: { token: '', allowAnonymous: true } } }, [
    ['open to all', post('/__runner/task/app.tasks.add', '{"a":1,"b":2}', { 'x-runner-token': '' }), (o) => assert.strictEqual(o.body.result, 3)],
  ]],
  ['a validator task alone', { http: {} }, [
    ['the validator lets in', post('/__runner/task/app.tasks.add', '{"a":2,"b":2}', { 'x-runner-token': '', 'x-custom-auth': 'let-me-in' }), (o) => assert.strictEqual(o.body.result, 4)],
    ['or refuses: 401', post('/__runner/task/app.tasks.add', '{}', { 'x-runner-token': '' }), (o) => assert.strictEqual(o.status, 401)],
    ['discovery through the validator', get('/__runner/discovery', { 'x-custom-auth': 'let-me-in' }), (o) => assert.strictEqual(o.status, 200)],
  ]],
  ['several tokens, a custom header', { validator: false, http: { auth: { token: ['one', 'two'], header: 'X-Api-Key' } } }, [
    ['the first token', post('/__runner/task/app.tasks.add', '{"a":1,"b":0}', { 'x-api-key': 'one' }), (o) => assert.strictEqual(o.body.result, 1)],
    ['the second token', post('/__runner/task/app.tasks.add', '{"a":2,"b":0}', { 'x-api-key': 'two' }), (o) => assert.strictEqual(o.body.result, 2)],
    ['x-runner-token is not the header any more', post('/__runner/task/app.tasks.add', '{}', { 'x-runner-token': 'one' }), (o) => assert.strictEqual(o.status, 401)],
  ]],
  ['no server tunnel: exposure not enabled', { tunnel: false, http: { auth: { token: 'secret' } } }, [
    ['a task is 403', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.deepStrictEqual([o.status, o.body.error], [403, { message: 'Exposure not enabled', code: 'FORBIDDEN' }])],
    ['an event is 403', post('/__runner/event/app.events.notify', '{}'), (o) => assert.strictEqual(o.body.error.message, 'Exposure not enabled')],
    ['an unknown id is 403 too', post('/__runner/task/no.such', '{}'), (o) => assert.strictEqual(o.status, 403)],
    ['discovery says disabled', get('/__runner/discovery'), (o) => assert.deepStrictEqual(o.body.result, { allowList: { enabled: false, tasks: [], events: [] } })],
  ]],
  ['a client-mode tunnel does not enable exposure', { tunnel: { mode: 'client', transport: 'http', tasks: ['app.tasks.add'], run: async () => 0 }, http: { auth: { token: 'secret' } } }, [
    ['403', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.strictEqual(o.body.error.message, 'Exposure not enabled')],
  ]],
  ['a tunnel of another transport does not either', { tunnel: { mode: 'server', transport: 'ws', tasks: ['app.tasks.add'] }, http: { auth: { token: 'secret' } } }, [
    ['403', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.strictEqual(o.body.error.message, 'Exposure not enabled')],
  ]],
  ['a "both" tunnel with no ids: enabled, nothing exposed', { tunnel: { mode: 'both' }, http: { auth: { token: 'secret' } } }, [
    ['403 not exposed', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.strictEqual(o.body.error.message, 'Task app.tasks.add not exposed')],
    ['discovery enabled, empty', get('/__runner/discovery'), (o) => assert.deepStrictEqual(o.body.result, { allowList: { enabled: true, tasks: [], events: [] } })],
  ]],
  ['dangerouslyAllowOpenExposure without a tunnel', { tunnel: false, http: { auth: { token: 'secret' }, dangerouslyAllowOpenExposure: true } }, [
    ['any task of the store runs', post('/__runner/task/app.tasks.hidden', '{}'), (o) => assert.strictEqual(o.body.result, 'hidden')],
    ['any event too', post('/__runner/event/app.events.hidden', '{}'), (o) => assert.deepStrictEqual(o.body, { ok: true })],
    ['an unknown task is 404', post('/__runner/task/no.such', '{}'), (o) => assert.deepStrictEqual([o.status, o.body.error], [404, { message: 'Task no.such not found', code: 'NOT_FOUND' }])],
    ['an unknown event is 404', post('/__runner/event/no.such', '{}'), (o) => assert.strictEqual(o.body.error.message, 'Event no.such not found')],
    ['discovery still says disabled', get('/__runner/discovery'), (o) => assert.deepStrictEqual(o.body.result, { allowList: { enabled: false, tasks: [], events: [] } })],
  ]],
  ['dangerouslyAllowOpenExposure with a tunnel: the allow-list applies', { http: { auth: { token: 'secret' }, dangerouslyAllowOpenExposure: true } }, [
    ['403 for an unlisted task', post('/__runner/task/app.tasks.hidden', '{}'), (o) => assert.strictEqual(o.status, 403)],
  ]],
  ['selector functions', {
    // runner's tunnel middleware calls the selector once at boot (where a throw fails
    // the boot); the exposures call it afterwards, where a throw skips the task.
    tunnel: () => {
      let booted = false;
      return {
        mode: 'server',
        tasks: (t) => {
          if (t.id === 'app.tasks.echo') {
            if (booted) throw new Error('selector broke');
            booted = true;
          }
          return t.id.startsWith('app.tasks.a') || t.id === 'app.tasks.kind';
        },
        events: (e) => e.id === 'app.events.notify',
      };
    },
    http: { auth: { token: 'secret' } },
  }, [
    ['a selected task', post('/__runner/task/app.tasks.add', '{"a":1,"b":1}'), (o) => assert.strictEqual(o.body.result, 2)],
    ['a task the selector threw for is not exposed', post('/__runner/task/app.tasks.echo', '{}'), (o) => assert.strictEqual(o.status, 403)],
    ['an unselected event', post('/__runner/event/app.events.failing', '{}'), (o) => assert.strictEqual(o.status, 403)],
    ['discovery lists the selection in store order', get('/__runner/discovery'), (o) => assert.deepStrictEqual(o.body.result.allowList, { enabled: true, tasks: ['app.tasks.add', 'app.tasks.kind'], events: ['app.events.notify'] })],
  ]],
  ['a tunnel refusing async contexts', { tunnel: { mode: 'server', tasks: ['app.tasks.context'], events: ['app.events.notify'], allowAsyncContext: false }, http: { auth: { token: 'secret' } } }, [
    ['x-runner-context is ignored', post('/__runner/task/app.tasks.context', '{}', { 'x-runner-context': JSON.stringify({ 'app.ctx.user': JSON.stringify({ name: 'x' }) }) }), (o) => assert.deepStrictEqual([o.body.result.user, o.body.result.exposure], [undefined, true])],
  ]],
  ['disableDiscovery', { http: { auth: { token: 'secret' }, disableDiscovery: true } }, [
    ['GET is 404', get('/__runner/discovery'), (o) => assert.deepStrictEqual([o.status, o.body.error.code], [404, 'NOT_FOUND'])],
    ['POST is 404 too (before the method check)', { method: 'POST', path: '/__runner/discovery', headers: TOKEN, body: '{}' }, (o) => assert.strictEqual(o.status, 404)],
    ['without a token as well (before auth)', get('/__runner/discovery', {}), (o) => assert.strictEqual(o.status, 404)],
  ]],
  ['basePath "api/" and a 64-byte JSON limit', { http: { auth: { token: 'secret' }, basePath: 'api/', limits: { json: { maxSize: 64 } } } }, [
    ['the resolved base path serves', post('/api/task/app.tasks.add', '{"a":1,"b":1}'), (o) => assert.strictEqual(o.body.result, 2)],
    ['the default base path is outside', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.deepStrictEqual([o.status, o.headers['x-runner-request-id']], [404, undefined])],
    ['64 bytes are read', post('/api/task/app.tasks.kind', `"${'x'.repeat(62)}"`), (o) => assert.strictEqual(o.body.result, 'string')],
    ['65 bytes are 413', post('/api/task/app.tasks.kind', `"${'x'.repeat(63)}"`), (o) => assert.strictEqual(o.status, 413)],
  ]],
  ['no cors config: any origin', { http: { auth: { token: 'secret' } } }, [
    ['ACAO *', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://x.test' }), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers.vary], ['*', undefined])],
    ['preflight echoes the requested headers', options('/__runner/task/app.tasks.add', 'http://x.test'), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers['access-control-allow-headers'], o.headers['access-control-max-age']], ['*', 'content-type', undefined])],
    ['preflight without requested headers sends none', { method: 'OPTIONS', path: '/__runner/task/app.tasks.add' }, (o) => assert.strictEqual(o.headers['access-control-allow-headers'], undefined)],
  ]],
  ['cors: a fixed origin string', { http: { auth: { token: 'secret' }, cors: { origin: 'http://fixed.test' } } }, [
    ['sent whatever the request origin', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://other.test' }), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers.vary], ['http://fixed.test', undefined])],
  ]],
  ['cors: a RegExp', { http: { auth: { token: 'secret' }, cors: { origin: /^http:\/\/ok\./ } } }, [
    ['a match is echoed', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://ok.test' }), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers.vary], ['http://ok.test', 'Origin'])],
    ['a match again (answers are cached by runner-native)', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://ok.test' }), (o) => assert.strictEqual(o.headers['access-control-allow-origin'], 'http://ok.test')],
    ['no match', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://ko.test' }), (o) => assert.strictEqual(o.headers['access-control-allow-origin'], undefined)],
    ['no origin', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers.vary], [undefined, 'Origin'])],
    ['preflight', options('/__runner/task/app.tasks.add', 'http://ok.test'), (o) => assert.strictEqual(o.headers['access-control-allow-origin'], 'http://ok.test')],
  ]],
  ['cors: a function', { http: { auth: { token: 'secret' }, cors: { origin: (o) => (o && o.endsWith('.good') ? `${o}` : o === undefined ? 'http://no-origin.test' : null) } } }, [
    ['its answer', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://a.good' }), (o) => assert.strictEqual(o.headers['access-control-allow-origin'], 'http://a.good')],
    ['null refuses', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://a.bad' }), (o) => assert.strictEqual(o.headers['access-control-allow-origin'], undefined)],
    ['asked without an origin too', post('/__runner/task/app.tasks.add', '{}'), (o) => assert.strictEqual(o.headers['access-control-allow-origin'], 'http://no-origin.test')],
    ['preflight', options('/__runner/discovery', 'http://b.good'), (o) => assert.deepStrictEqual([o.status, o.headers['access-control-allow-origin']], [204, 'http://b.good'])],
  ]],
  ['cors: credentials without an origin allow none', { http: { auth: { token: 'secret' }, cors: { credentials: true } } }, [
    ['no ACAO, credentials true', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://x.test' }), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers['access-control-allow-credentials'], o.headers.vary], [undefined, 'true', 'Origin'])],
  ]],
  ['cors: every option', { http: { auth: { token: 'secret' }, cors: { origin: ['http://a.test', 'http://b.test'], methods: ['POST', 'GET', 'OPTIONS'], allowedHeaders: ['content-type', 'x-runner-token'], exposedHeaders: ['x-runner-request-id', 'x-other'], credentials: true, maxAge: 600, varyOrigin: false } } }, [
    ['actual', post('/__runner/task/app.tasks.add', '{}', { origin: 'http://b.test' }), (o) => assert.deepStrictEqual([o.headers['access-control-allow-origin'], o.headers.vary, o.headers['access-control-expose-headers'], o.headers['access-control-allow-credentials']], ['http://b.test', undefined, 'x-runner-request-id, x-other', 'true'])],
    ['preflight', options('/__runner/task/app.tasks.add', 'http://a.test', { 'access-control-request-headers': 'x-whatever' }), (o) => assert.deepStrictEqual(
      [o.headers['access-control-allow-methods'], o.headers['access-control-allow-headers'], o.headers['access-control-max-age'], o.headers['access-control-allow-credentials']],
      ['POST, GET, OPTIONS', 'content-type, x-runner-token', '600', 'true'],
    )],
    ['preflight from another origin', options('/__runner/task/app.tasks.add', 'http://c.test'), (o) => assert.strictEqual(o.headers['access-control-allow-origin'], undefined)],
  ]],
];

for (const [scenario, startOptions, cases] of scenarios) {
  describe(`runner differential, config: ${scenario}`, function () {
    const pair = usePair(startOptions);
    rawCases(pair, cases);
    if (scenario === 'selector functions') {
      it('a selector that throws is logged as runner logs it', async () => {
        const views = await same(pair(), (app) => waitForLog(app, (l) => /selector failed/.test(l.message)).then(logView));
        assert.strictEqual(views.level, 'warn');
      });
    }
  });
}

describe('runner differential, config: a tunnel refusing async contexts, through the client', function () {
  const pair = usePair({ tunnel: { mode: 'server', tasks: ['app.tasks.context'], events: ['app.events.notify'], allowAsyncContext: false }, http: { auth: { token: 'secret' } } });
  it('events get no user context either', async () => {
    const seen = await same(pair(), async (app) => {
      await userContext.provide({ name: 'z' }, () => fetchClient(app).event('app.events.notify', 1));
      return app.seen.slice(-1);
    });
    assert.deepStrictEqual(seen, [{ event: 'app.events.notify', data: 1, user: undefined, exposure: false }]);
  });
  it('a task', async () => {
    const got = await same(pair(), (app) => outcome(userContext.provide({ name: 'z' }, () => fetchClient(app).task('app.tasks.context'))));
    assert.strictEqual(got.value.user, undefined);
  });
});
