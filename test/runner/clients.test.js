'use strict';
/**
 * Differential: runner 5.5.0's own clients (createHttpClient over fetch, with an error
 * registry and async contexts; createHttpSmartClient over node:http) against one app
 * served by nodeExposure and by nativeExposure. Every call must give the same value, or
 * the same error, through both.
 */
const assert = require('assert');
const { usePair, same, fetchClient, smartClient, outcome, waitForLog, logView, UUID } = require('./helpers');
const { Money, errors, userContext } = require('./app');

describe('runner differential: runner\'s clients see nodeExposure and nativeExposure alike', function () {
  const getPair = usePair({ http: { auth: { token: 'secret' }, cors: { origin: ['http://allowed.test'] } } });
  let pair;
  beforeEach(() => {
    pair = getPair();
  });

  const typedInputs = {
    'a number': 42,
    'a string': 'text',
    null: null,
    'a Date': new Date(Date.UTC(2020, 1, 29, 12, 0, 0, 123)),
    'a Map': new Map([['a', 1], [{ k: 1 }, new Set([1, 2])]]),
    'a Set': new Set(['x', 'y']),
    'a BigInt': 12345678901234567890n,
    'a Buffer': Buffer.from([0, 1, 2, 255]),
    'a custom type (Money)': new Money(12.5, 'EUR'),
    'NaN and Infinity': [NaN, Infinity, -Infinity],
    'a RegExp': /ab+c/gi,
    'keys that look like tags': { __type: 'Date', value: 'not a date', nested: { __graph: true } },
    'an object with an input key': { input: { inner: true } },
    'undefined members': { a: undefined, b: [undefined] },
    'nested rich values': { when: new Date(0), tags: new Set([new Date(1)]), money: [new Money(1, 'USD')] },
  };

  for (const [what, input] of Object.entries(typedInputs)) {
    it(`fetch client: echoes ${what} with its type`, async () => {
      const got = await same(pair, (app) => outcome(fetchClient(app).task('app.tasks.echo', input)));
      assert.deepStrictEqual(got, { value: input });
    });
  }

  it('fetch client: the task sees the type the client sent', async () => {
    const kinds = await same(pair, async (app) => {
      const c = fetchClient(app);
      const out = [];
      for (const v of [undefined, null, new Date(), new Map(), new Set(), Buffer.from('x'), new Money(1, 'EUR'), [1], 'x', 1]) {
        out.push(await c.task('app.tasks.kind', v));
      }
      return out;
    });
    assert.deepStrictEqual(kinds, ['undefined', 'null', 'Date', 'Map', 'Set', 'Buffer', 'Money', 'Array', 'string', 'number']);
  });

  it('fetch client: a task called without input gets undefined, and undefined comes back', async () => {
    const got = await same(pair, async (app) => ({
      kind: await fetchClient(app).task('app.tasks.kind'),
      nothing: await outcome(fetchClient(app).task('app.tasks.nothing')),
    }));
    assert.deepStrictEqual(got, { kind: 'undefined', nothing: { value: undefined } });
  });

  it('fetch client: a typed error is rethrown as the registered error, with id, data and httpCode', async () => {
    const got = await same(pair, (app) => outcome(fetchClient(app).task('app.tasks.typed', { n: 1 })));
    assert.strictEqual(got.error.registered, true);
    assert.strictEqual(got.error.id, errors.conflict.id);
    assert.strictEqual(got.error.httpCode, 409);
    assert.deepStrictEqual(got.error.data, { reason: 'taken', at: new Date(0), input: { n: 1 } });
  });

  it('fetch client: a typed error without httpCode is a 500 that keeps its message and data', async () => {
    const got = await same(pair, (app) => outcome(fetchClient(app).task('app.tasks.typed500')));
    assert.strictEqual(got.error.registered, true);
    assert.strictEqual(got.error.id, errors.plainTyped.id);
    assert.deepStrictEqual(got.error.data, { n: 1 });
    assert.strictEqual(got.error.httpCode, undefined);
  });

  it('fetch client: a typed error thrown without data keeps its id and httpCode', async () => {
    const got = await same(pair, (app) => outcome(fetchClient(app).task('app.tasks.teapot')));
    assert.deepStrictEqual([got.error.class, got.error.id, got.error.httpCode, got.error.registered], ['RunnerError', errors.teapot.id, 418, true]);
  });

  for (const id of ['app.tasks.untyped', 'app.tasks.thrownString', 'app.tasks.unencodable']) {
    it(`fetch client: ${id} fails with "Internal Error" and leaks nothing`, async () => {
      const got = await same(pair, (app) => outcome(fetchClient(app).task(id)));
      assert.deepStrictEqual(got.error, {
        class: 'TunnelError', name: 'TunnelError', message: 'Internal Error', code: 'INTERNAL_ERROR',
        id: undefined, data: undefined, httpCode: undefined, registered: false,
      });
    });
  }

  it('fetch client: a cancellation error is 499 REQUEST_ABORTED', async () => {
    const got = await same(pair, (app) => outcome(fetchClient(app).task('app.tasks.cancel')));
    assert.deepStrictEqual([got.error.code, got.error.message], ['REQUEST_ABORTED', 'Client Closed Request']);
  });

  it('fetch client: unexposed and unknown tasks are 403, a wrong token 401', async () => {
    const got = await same(pair, async (app) => ({
      hidden: await outcome(fetchClient(app).task('app.tasks.hidden')),
      unknown: await outcome(fetchClient(app).task('no.such.task')),
      token: await outcome(fetchClient(app, { token: 'wrong' }).task('app.tasks.add', { a: 1, b: 2 })),
      hiddenEvent: await outcome(fetchClient(app).event('app.events.hidden')),
    }));
    assert.strictEqual(got.hidden.error.message, 'Task app.tasks.hidden not exposed');
    assert.strictEqual(got.unknown.error.code, 'FORBIDDEN');
    assert.strictEqual(got.token.error.code, 'UNAUTHORIZED');
    assert.strictEqual(got.hiddenEvent.error.message, 'Event app.events.hidden not exposed');
  });

  it('fetch client: an id with a slash, unicode and a space', async () => {
    const got = await same(pair, (app) => outcome(fetchClient(app).task('app.tasks/ünï code')));
    assert.deepStrictEqual(got, { value: 'odd' });
  });

  it('fetch client: an auth validator task lets a request in without the token', async () => {
    const got = await same(pair, async (app) => ({
      in: await outcome(fetchClient(app, { token: null, onRequest: ({ headers }) => { headers['x-custom-auth'] = 'let-me-in'; } }).task('app.tasks.add', { a: 2, b: 2 })),
      out: await outcome(fetchClient(app, { token: null, onRequest: ({ headers }) => { headers['x-custom-auth'] = 'nope'; } }).task('app.tasks.add', { a: 2, b: 2 })),
    }));
    assert.deepStrictEqual(got.in, { value: 4 });
    assert.strictEqual(got.out.error.code, 'UNAUTHORIZED');
  });

  it('fetch client: async contexts travel in x-runner-context; the exposure context is set for tasks', async () => {
    const got = await same(pair, (app) => userContext.provide({ name: 'ann', since: new Date(3) }, () => fetchClient(app, {
      onRequest: ({ headers }) => { headers['x-custom'] = 'hello'; },
    }).task('app.tasks.context')));
    assert.deepStrictEqual(got, {
      user: { name: 'ann', since: new Date(3) },
      exposure: true,
      path: '/__runner/task/app.tasks.context',
      search: '',
      basePath: '/__runner',
      method: 'POST',
      custom: 'hello',
      requestId: '<uuid>',
      aborted: false,
    });
  });

  it('useExposureContext().req and .res give what tasks use of Node\'s request (method, url, headers, socket address) and response (writeHead, setHeader, write, end)', async () => {
    const node = await fetchClient(pair.node).task('app.tasks.nodeObjects');
    const native = await fetchClient(pair.native).task('app.tasks.nodeObjects');
    assert.deepStrictEqual(native.req, node.req);
    assert.deepStrictEqual(node.req, { method: 'POST', url: '/__runner/task/app.tasks.nodeObjects', contentType: 'application/json; charset=utf-8', remoteAddress: '127.0.0.1', remotePort: true, remoteFamily: 'IPv4', readable: true });
    assert.deepStrictEqual([node.res, native.res], [true, true]);
    const value = await fetchClient(pair.native).task('app.tasks.context');
    assert.match(value.requestId, UUID, 'the headers carry the request id, as runner writes it into req.headers');
  });

  it('fetch client: events, with and without a result', async () => {
    const got = await same(pair, async (app) => {
      const c = fetchClient(app);
      const before = app.seen.length;
      const out = {
        emit: await outcome(c.event('app.events.notify', { m: new Date(7) })),
        result: await outcome(c.eventWithResult('app.events.notify', { double: 21 })),
        noPayload: await outcome(c.eventWithResult('app.events.notify')),
        withContext: await outcome(userContext.provide({ name: 'eve' }, () => c.event('app.events.notify', 'ctx'))),
        parallel: await outcome(c.event('app.events.parallel', 1)),
        parallelResult: await outcome(c.eventWithResult('app.events.parallel', 1)),
        failing: await outcome(c.event('app.events.failing')),
      };
      out.seen = app.seen.slice(before);
      return out;
    });
    assert.deepStrictEqual(got.emit, { value: undefined });
    assert.deepStrictEqual(got.result, { value: { double: 42 } });
    assert.deepStrictEqual(got.noPayload, { value: undefined });
    assert.strictEqual(got.parallelResult.error.code, 'PARALLEL_EVENT_RETURN_UNSUPPORTED');
    assert.strictEqual(got.failing.error.registered, true);
    assert.deepStrictEqual(got.seen[0], { event: 'app.events.notify', data: { m: new Date(7) }, user: undefined, exposure: false });
    assert.deepStrictEqual(got.seen[3], { event: 'app.events.notify', data: 'ctx', user: { name: 'eve' }, exposure: false }, 'events get user contexts, no exposure context');
  });

  it('smart client (node:http): values, typed errors, events', async () => {
    const got = await same(pair, async (app) => {
      const c = smartClient(app);
      return {
        add: await outcome(c.task('app.tasks.add', { a: 40, b: 2 })),
        echo: await outcome(c.task('app.tasks.echo', { d: new Date(9), m: new Map([[1, 2n]]), b: Buffer.from('hi') })),
        nothing: await outcome(c.task('app.tasks.nothing')),
        typed: await outcome(c.task('app.tasks.typed', 'x')),
        untyped: await outcome(c.task('app.tasks.untyped')),
        hidden: await outcome(c.task('app.tasks.hidden')),
        token: await outcome(smartClient(app, { token: 'bad' }).task('app.tasks.add', { a: 1, b: 1 })),
        event: await outcome(c.event('app.events.notify', 1)),
        result: await outcome(c.eventWithResult('app.events.notify', { double: 1 })),
        context: await outcome(userContext.provide({ name: 'sam' }, () => smartClient(app, { contexts: [userContext] }).task('app.tasks.context')).then((v) => v.user)),
      };
    });
    assert.deepStrictEqual(got.add, { value: 42 });
    assert.deepStrictEqual(got.echo, { value: { d: new Date(9), m: new Map([[1, 2n]]), b: Buffer.from('hi') } });
    assert.strictEqual(got.typed.error.registered, true);
    assert.strictEqual(got.untyped.error.message, 'Internal Error');
    assert.strictEqual(got.hidden.error.code, 'FORBIDDEN');
    assert.strictEqual(got.token.error.code, 'UNAUTHORIZED');
    assert.deepStrictEqual(got.result, { value: { double: 2 } });
    assert.deepStrictEqual(got.context, { value: { name: 'sam' } });
  });

  it('smart client: a streamed answer to a JSON call fails alike (runner\'s client parses it as JSON)', async () => {
    const got = await same(pair, (app) => outcome(smartClient(app).task('app.tasks.stream')));
    assert.deepStrictEqual([got.error.class, got.error.message], ['SyntaxError', 'Invalid JSON payload.']);
  });

  it('logs: task errors and auth failures are logged alike through runner\'s logger', async () => {
    const rid = `log-check-${Date.now()}`;
    const views = await same(pair, async (app) => {
      const withId = ({ headers }) => { headers['x-runner-request-id'] = rid; };
      await outcome(fetchClient(app, { onRequest: withId }).task('app.tasks.untyped'));
      await outcome(fetchClient(app, { onRequest: withId }).event('app.events.failing'));
      await outcome(fetchClient(app, { token: 'nope', onRequest: withId }).task('app.tasks.add'));
      await outcome(fetchClient(app, { onRequest: withId }).task('app.tasks.cancel'));
      const mine = (message) => (l) => l.message === message && JSON.stringify(l).includes(rid);
      return Promise.all(['exposure.task.error', 'exposure.event.error', 'exposure.auth.failure'].map((m) => waitForLog(app, mine(m)).then(logView)));
    });
    assert.deepStrictEqual(views[0].context, { requestId: rid });
    assert.strictEqual(views[0].error.message, 'secret database detail', 'the log has the real message, the client does not');
    assert.deepStrictEqual(views[2].context, { requestId: rid, method: 'POST', path: '/__runner/task/app.tasks.add', status: 401, code: 'UNAUTHORIZED' });
    for (const app of [pair.node, pair.native]) {
      assert.strictEqual(app.logs.filter((l) => JSON.stringify(l).includes(rid)).length, 3, 'a cancellation is not logged');
    }
  });
});
