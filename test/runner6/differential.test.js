'use strict';
/**
 * Differential, runner 6: one runner 6.4.1 application served by runner's own
 * rpcLanesResource exposure and by nativeRpcLanes (same config), called by runner 6's
 * real clients (createHttpClient, createHttpSmartClient, createHttpMixedClient, and lane
 * routing through r.rpcLane.httpClient) and by raw HTTP. Every outcome must be the same.
 */
const assert = require('assert');
const http = require('http');
const net = require('net');
const { Readable } = require('stream');
const { requireRunner6 } = require('./runner6');
const { startApp, laneJwt, signedLaneJwt, bodyHash, TOKEN, SECRET, KEYS, SIGNED } = require('./app');
const { normalise } = require('../runner/helpers');

const HOP = new Set(['date', 'connection', 'keep-alive']);

describe('runner 6 differential: rpcLanesResource and nativeRpcLanes answer alike', function () {
  const R = requireRunner6(this);
  if (!R) {
    it('runs with runner 6.4.1 (skipped: see the line above)', () => {});
    return;
  }
  const serializer = () => new R.Serializer();
  let node;
  let native;
  before(async () => {
    [node, native] = await Promise.all([startApp(R, 'node'), startApp(R, 'native')]);
  });
  after(async () => {
    await Promise.all([node && node.runtime.dispose(), native && native.runtime.dispose()]);
  });

  async function same(fn) {
    const [a, b] = await Promise.all([fn(node), fn(native)]);
    assert.deepStrictEqual(normalise(b), normalise(a), 'nativeRpcLanes must answer as rpcLanesResource does');
    return normalise(a);
  }

  function raw(app, method, path, { body, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body);
      const h = { ...headers };
      if (payload !== undefined) h['content-length'] = String(payload.length);
      const req = http.request({ host: '127.0.0.1', port: app.port, method, path, headers: h, agent: false }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const out = { status: res.statusCode, headers: {}, body: text };
          for (const [k, v] of Object.entries(res.headers)) if (!HOP.has(k) && !(k === 'content-length' && v === '0')) out.headers[k] = v;
          if (/^application\/json/.test(res.headers['content-type'] || '') && text) out.body = serializer().parse(text);
          resolve(out);
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
  const post = (path, body, headers = {}) => ({ body, headers: { 'x-runner-token': TOKEN, 'content-type': 'application/json', ...headers } });

  const registry = (app) => new Map(Object.values(app.errors).map((e) => [R.definitions ? e.id : e.id, e]));
  const fetchClient = (app, extra = {}) => R.createHttpClient({ baseUrl: app.url, auth: { token: TOKEN }, serializer: serializer(), errorRegistry: registry(app), ...extra });
  const smartClient = (app, extra = {}) => R.createHttpSmartClient({ baseUrl: app.url, auth: { token: TOKEN }, serializer: serializer(), errorRegistry: registry(app), ...extra });
  const mixedClient = (app, extra = {}) => R.createHttpMixedClient({ baseUrl: app.url, auth: { token: TOKEN }, serializer: serializer(), errorRegistry: registry(app), ...extra });

  async function outcome(p) {
    try {
      return { value: await p };
    } catch (e) {
      return { error: { class: e && e.constructor && e.constructor.name, message: e.message, code: e.code, id: e.id, data: e.data, httpCode: e.httpCode } };
    }
  }

  describe('plain clients', function () {
    const inputs = {
      number: 42, string: 'text', null: null, Date: new Date(Date.UTC(2020, 1, 29)), Map: new Map([['a', 1]]),
      Set: new Set(['x']), BigInt: 12345678901234567890n, 'undefined members': { a: undefined }, 'an object with input': { input: { x: 1 } },
    };
    for (const [what, input] of Object.entries(inputs)) {
      for (const [name, make] of [['fetch', fetchClient], ['smart', smartClient], ['mixed', mixedClient]]) {
        it(`${name} client echoes ${what}`, async () => {
          assert.deepStrictEqual(await same((app) => outcome(make(app).task('app.tasks.echo', input))), { value: input });
        });
      }
    }

    it('a URL id resolves against the store: /task/echo reaches app.tasks.echo', async () => {
      assert.deepStrictEqual(await same((app) => outcome(fetchClient(app).task('echo', 7))), { value: 7 });
    });

    it('a task no lane serves: 403 naming its canonical id, by local and canonical URL id', async () => {
      const got = await same(async (app) => [await outcome(fetchClient(app).task('hidden')), await outcome(fetchClient(app).task('app.tasks.hidden'))]);
      assert.strictEqual(got[0].error.message, 'Task app.tasks.hidden not exposed');
      assert.deepStrictEqual(got[0], got[1]);
    });

    it('a task of a lane this profile does not serve: 403', async () => {
      const got = await same((app) => outcome(fetchClient(app).task('remoteEcho', 1)));
      assert.strictEqual(got.error.message, 'Task app.tasks.remoteEcho not exposed');
    });

    it('an unknown id: 403 naming it as given', async () => {
      const got = await same((app) => outcome(fetchClient(app).task('nope.nothing', 1)));
      assert.strictEqual(got.error.message, 'Task nope.nothing not exposed');
    });

    it('typed errors carry the canonical helper id, data and httpCode', async () => {
      const got = await same(async (app) => [await outcome(fetchClient(app).task('app.tasks.typed', { n: 1 })), await outcome(fetchClient(app).task('app.tasks.typed500'))]);
      assert.strictEqual(got[0].error.id, 'app.errors.boom');
      assert.strictEqual(got[0].error.httpCode, 409);
      assert.deepStrictEqual(got[0].error.data, { input: { n: 1 } });
      assert.strictEqual(got[1].error.id, 'app.errors.plain');
    });

    it('an untyped error is a 500 "Internal Error"', async () => {
      const got = await same((app) => raw(app, 'POST', '/__runner/task/app.tasks.untyped', post('', '{"input":1}')));
      assert.strictEqual(got.status, 500);
      assert.strictEqual(got.body.error.message, 'Internal Error');
    });

    it('contexts: only the lane allow-list hydrates, by canonical id; the local id is not hydrated', async () => {
      const header = (map) => ({ 'x-runner-context': serializer().stringify(map) });
      const got = await same(async (app) => [
        (await raw(app, 'POST', '/__runner/task/app.tasks.contexts', post('', '{}', header({ 'app.asyncContexts.tenant': '"acme"', 'app.asyncContexts.other': '"x"' })))).body,
        (await raw(app, 'POST', '/__runner/task/app.tasks.contexts', post('', '{}', header({ tenant: '"acme"' })))).body,
        (await raw(app, 'POST', '/__runner/task/app.tasks.bareContexts', post('', '{}', header({ 'app.asyncContexts.tenant': '"acme"' })))).body,
      ]);
      assert.deepStrictEqual(got[0].result, { tenant: 'acme', other: 'none' });
      assert.deepStrictEqual(got[1].result, { tenant: 'none', other: 'none' });
      assert.deepStrictEqual(got[2].result, { tenant: 'none' });
    });

    it('useRpcLaneRequestContext: url, basePath, method, headers', async () => {
      const got = await same((app) => raw(app, 'POST', '/__runner/task/echo?x=1'.replace('echo', 'request'), post('', '{}', { 'x-custom': 'yes' })));
      assert.deepStrictEqual(got.body.result, { url: '/__runner/task/request?x=1', basePath: '/__runner', method: 'POST', custom: 'yes', aborted: false });
    });

    it('events: emit, returnPayload, parallel refusal, unserved', async () => {
      const got = await same(async (app) => [
        await outcome(fetchClient(app).event('app.events.ping', { a: 1 })),
        await outcome(fetchClient(app).eventWithResult('ping', { a: 1 })),
        (await raw(app, 'POST', '/__runner/event/app.events.par', post('', '{"payload":1,"returnPayload":true}'))).body,
        (await raw(app, 'POST', '/__runner/event/app.tasks.echo', post('', '{"payload":1}'))).body,
      ]);
      assert.deepStrictEqual(got[1], { value: { a: 1, seen: true } });
      assert.strictEqual(got[2].error.code, 'PARALLEL_EVENT_RETURN_UNSUPPORTED');
      assert.strictEqual(got[3].error.message, 'Event app.tasks.echo not exposed');
    });

    it('smart client: a file upload', async () => {
      const got = await same((app) => outcome(smartClient(app).task('app.tasks.upload', {
        note: 'n',
        files: [R.createNodeFile({ name: 'a.txt', type: 'text/plain' }, { buffer: Buffer.from('hello') }, 'F1')],
      })));
      assert.deepStrictEqual(got.value, { note: 'n', files: [{ name: 'a.txt', type: 'text/plain', text: 'hello' }] });
    });

    it('smart client: a duplex stream and a streamed result', async () => {
      const read = async (s) => {
        if (!s || typeof s[Symbol.asyncIterator] !== 'function') return s;
        const c = [];
        for await (const x of s) c.push(Buffer.from(x));
        return Buffer.concat(c).toString();
      };
      const got = await same(async (app) => [
        await outcome(smartClient(app).task('app.tasks.duplex', Readable.from([Buffer.from('abc')])).then(read)),
        await outcome(smartClient(app).task('app.tasks.streamed').then(read)),
        await raw(app, 'POST', '/__runner/task/app.tasks.streamed', post('', '{}')),
      ]);
      assert.deepStrictEqual(got[0], { value: 'got:abc' });
      assert.strictEqual(got[2].status, 200);
      assert.strictEqual(got[2].body, 'abc');
    });

    it('raw: discovery, 401 without the token, 405, preflight', async () => {
      const got = await same(async (app) => [
        await raw(app, 'GET', '/__runner/discovery', { headers: { 'x-runner-token': TOKEN } }),
        await raw(app, 'POST', '/__runner/task/app.tasks.echo', { body: '{}', headers: { 'content-type': 'application/json' } }),
        await raw(app, 'GET', '/__runner/task/app.tasks.echo', { headers: { 'x-runner-token': TOKEN } }),
        await raw(app, 'OPTIONS', '/__runner/task/app.tasks.echo', { headers: { origin: 'http://x.test', 'access-control-request-method': 'POST' } }),
      ]);
      assert.strictEqual(got[0].status, 200);
      assert.ok(got[0].body.result.allowList.tasks.includes('app.tasks.echo'));
      assert.deepStrictEqual([got[1].status, got[2].status, got[3].status], [401, 405, 204]);
    });
  });

  describe('lane JWT signed with a private key (jwt_asymmetric: EdDSA, ES256, RS256)', function () {
    const body = '{"input":{"v":1}}';
    const hash = bodyHash(serializer().stringify({ input: { v: 1 } }));
    for (const [lane, algorithm] of SIGNED) {
      const path = `/__runner/task/app.tasks.${lane}Echo`;
      const target = { kind: 'rpc-task', target: `app.tasks.${lane}Echo`, hash };
      const kid = algorithm === 'RS256' ? { header: { kid: 'k2' } } : {};
      // [case, token, expected status]
      const cases = [
        ['valid', () => signedLaneJwt(lane, algorithm, target, kid), 200],
        ['signed with a key nobody trusts', () => signedLaneJwt(lane, algorithm === 'EdDSA' ? 'EdDSA' : algorithm, target, { ...kid, privateKey: algorithm === 'EdDSA' ? KEYS.untrusted.privateKey : KEYS[algorithm === 'ES256' ? 'RS256' : 'ES256'].privateKey }), 401],
        ['another algorithm in the header', () => signedLaneJwt(lane, algorithm, target, { ...kid, header: { ...kid.header, alg: 'HS256' } }), 401],
        ['an HS256 token made with the public key as secret', () => laneJwt({ ...target, lane }, KEYS[algorithm].publicKey), 401],
        ['tampered body', () => signedLaneJwt(lane, algorithm, { ...target, hash: bodyHash('{}') }, kid), 401],
        ['wrong lane', () => signedLaneJwt('secure', algorithm, target, kid), 401],
      ];
      if (algorithm === 'ES256') cases.push(['ES256 in JOSE form (r||s), as other JWT libraries sign: runner verifies DER', () => signedLaneJwt(lane, algorithm, target, { p1363: true }), 401]);
      if (algorithm === 'RS256') cases.push(['a kid that names another key', () => signedLaneJwt(lane, algorithm, target, { header: { kid: 'old' } }), 401]);
      for (const [name, make, status] of cases) {
        it(`${algorithm}: ${name}: ${status}`, async () => {
          const got = await same(async (app) => raw(app, 'POST', path, post('', body, { authorization: `Bearer ${make()}` })));
          assert.strictEqual(got.status, status, JSON.stringify(got.body));
          if (status === 200) assert.deepStrictEqual(got.body.result, { [algorithm]: { v: 1 } });
        });
      }
    }
  });

  describe('lane JWT (secure lane, HS256)', function () {
    const path = '/__runner/task/app.tasks.secureEcho';
    const body = '{"input":{"v":1}}';
    const hash = bodyHash(serializer().stringify({ input: { v: 1 } }));
    const target = { kind: 'rpc-task', target: 'app.tasks.secureEcho', hash };
    const now = () => Math.floor(Date.now() / 1000);
    const cases = {
      valid: () => laneJwt(target),
      'valid, lower-case bearer': () => laneJwt(target),
      expired: () => laneJwt({ ...target, iat: now() - 200, exp: now() - 100 }),
      'issued in the future': () => laneJwt({ ...target, iat: now() + 100, exp: now() + 160 }),
      'wrong lane': () => laneJwt({ ...target, lane: 'main' }),
      'wrong target': () => laneJwt({ ...target, target: 'app.tasks.echo' }),
      'wrong kind': () => laneJwt({ ...target, kind: 'rpc-event' }),
      'consume capability': () => laneJwt({ ...target, cap: 'consume' }),
      'tampered body (hash of another input)': () => laneJwt({ ...target, hash: bodyHash(serializer().stringify({ input: { v: 2 } })) }),
      'no hash': () => laneJwt({ kind: 'rpc-task', target: 'app.tasks.secureEcho' }),
      'wrong secret': () => laneJwt(target, 'other'),
      'alg none': () => laneJwt(target, SECRET, { alg: 'none', typ: 'JWT' }).split('.').slice(0, 2).join('.') + '.',
      malformed: () => 'not.a.jwt.at.all',
      missing: () => null,
    };
    for (const [name, make] of Object.entries(cases)) {
      it(`${name}`, async () => {
        const got = await same(async (app) => {
          const token = make();
          const headers = token === null ? {} : { authorization: `${name.includes('lower-case') ? 'bearer' : 'Bearer'} ${token}` };
          return raw(app, 'POST', path, post('', body, headers));
        });
        if (name.startsWith('valid')) {
          assert.strictEqual(got.status, 200);
          assert.deepStrictEqual(got.body.result, { secure: { v: 1 } });
        } else {
          assert.strictEqual(got.status, 401, JSON.stringify(got.body));
          assert.deepStrictEqual(got.body, { ok: false, error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } });
        }
      });
    }

    it('a URL alias of a secure task needs the JWT too (401 without, 200 with)', async () => {
      const got = await same(async (app) => [
        (await raw(app, 'POST', '/__runner/task/secureEcho', post('', body))).status,
        (await raw(app, 'POST', '/__runner/task/secureEcho', post('', body, { authorization: `Bearer ${laneJwt(target)}` }))).status,
      ]);
      assert.deepStrictEqual(got, [401, 200]);
    });

    it('multipart and octet-stream bodies: 401 without the JWT, the JWT without a hash accepted for a raw body', async () => {
      const form = '--b\r\nContent-Disposition: form-data; name="__manifest"\r\n\r\n{"input":{"v":1}}\r\n--b--\r\n';
      const noHash = laneJwt({ kind: 'rpc-task', target: 'app.tasks.secureEcho' });
      const got = await same(async (app) => [
        (await raw(app, 'POST', path, post('', form, { 'content-type': 'multipart/form-data; boundary=b' }))).status,
        (await raw(app, 'POST', path, post('', 'raw', { 'content-type': 'application/octet-stream' }))).status,
        (await raw(app, 'POST', path, post('', 'raw', { 'content-type': 'application/octet-stream', authorization: `Bearer ${noHash}` }))).status,
        (await raw(app, 'POST', path, post('', form, { 'content-type': 'multipart/form-data; boundary=b', authorization: `Bearer ${noHash}` }))).body,
      ]);
      assert.deepStrictEqual(got.slice(0, 3), [401, 401, 200]);
      assert.deepStrictEqual(got[3], { ok: true, result: { secure: { v: 1 } } });
    });

    it('events: the hash covers {payload[, returnPayload]}', async () => {
      const ev = { kind: 'rpc-event', target: 'app.events.securePing' };
      const got = await same(async (app) => [
        (await raw(app, 'POST', '/__runner/event/app.events.securePing', post('', '{"payload":{"a":1}}', { authorization: `Bearer ${laneJwt({ ...ev, hash: bodyHash(serializer().stringify({ payload: { a: 1 } })) })}` }))).status,
        (await raw(app, 'POST', '/__runner/event/app.events.securePing', post('', '{"payload":{"a":1},"returnPayload":true}', { authorization: `Bearer ${laneJwt({ ...ev, hash: bodyHash(serializer().stringify({ payload: { a: 1 }, returnPayload: true })) })}` }))).body,
        (await raw(app, 'POST', '/__runner/event/app.events.securePing', post('', '{"payload":{"a":1},"returnPayload":true}', { authorization: `Bearer ${laneJwt({ ...ev, hash: bodyHash(serializer().stringify({ payload: { a: 1 } })) })}` }))).status,
        (await raw(app, 'POST', '/__runner/event/app.events.securePing', post('', '{"payload":{"a":1}}'))).status,
      ]);
      assert.deepStrictEqual(got, [200, { ok: true, result: { a: 1, secure: true } }, 401, 401]);
    });
  });

  describe('lane routing: a runner 6 client app routes its lane tasks through r.rpcLane.httpClient', function () {
    for (const client of ['fetch', 'mixed', 'smart']) {
      it(`${client}: values, typed errors, contexts and the secure lane`, async () => {
        const got = await same(async (server) => {
          const { r, run, tags, rpcLanesResource } = R;
          const tenant = r.asyncContext('tenant').build();
          const main = r.rpcLane('main').asyncContexts([tenant]).build();
          const secure = r.rpcLane('secure').build();
          const boom = r.error('boom').httpCode(409).build();
          const echo = r.task('echo').tags([tags.rpcLane.with({ lane: main })]).run(async () => 'local').build();
          const typed = r.task('typed').tags([tags.rpcLane.with({ lane: main })]).run(async () => 'local').build();
          const contexts = r.task('contexts').tags([tags.rpcLane.with({ lane: main })]).run(async () => 'local').build();
          const secureEcho = r.task('secureEcho').tags([tags.rpcLane.with({ lane: secure })]).run(async () => 'local').build();
          const comm = r.resource('comm').init(r.rpcLane.httpClient({ client, baseUrl: server.url, auth: { token: TOKEN } })).build();
          const topology = r.rpcLane.topology({
            profiles: { client: { serve: [] } },
            bindings: [{ lane: main, communicator: comm }, { lane: secure, communicator: comm, auth: { secret: SECRET } }],
          });
          const app = r.resource('app').register([tenant, boom, echo, typed, contexts, secureEcho, comm, rpcLanesResource.with({ profile: 'client', topology, mode: 'network' })]).build();
          const rt = await run(app, { logs: { printThreshold: null } });
          try {
            const call = (t, input) => outcome(rt.runTask(t, input));
            return {
              echo: await call(echo, new Map([['k', new Date(0)]])),
              typed: await call(typed, { n: 1 }),
              contexts: await tenant.provide('acme', () => call(contexts)),
              secure: await call(secureEcho, { s: 1 }),
              typedIsBoom: await rt.runTask(typed, 1).then(() => false, (e) => boom.is(e)),
            };
          } finally {
            await rt.dispose();
          }
        });
        assert.deepStrictEqual(got.echo, { value: new Map([['k', new Date(0)]]) });
        // runner 6.4.1's lane clients surface a typed error as RemoteLaneTransportError
        // carrying the canonical id, data and httpCode (on both servers).
        assert.strictEqual(got.typed.error.id, 'app.errors.boom');
        assert.strictEqual(got.typed.error.httpCode, 409);
        assert.deepStrictEqual(got.typed.error.data, { input: { n: 1 } });
        assert.deepStrictEqual(got.contexts, { value: { tenant: 'acme', other: 'none' } });
        assert.deepStrictEqual(got.secure, { value: { secure: { s: 1 } } });
      });
    }
  });

  describe('boot rules', function () {
    it('nothing served: nothing listens, and runner\'s warning', async () => {
      const got = await same(async (_app, kind = _app === node ? 'node' : 'native') => {
        const a = await startApp(R, kind, { serveNothing: true });
        try {
          const warn = a.logs.find((l) => l.message === 'rpc-lanes.exposure.skipped');
          return { exposure: a.value.exposure, warn: warn && { level: warn.level, source: warn.source, context: warn.context } };
        } finally {
          await a.runtime.dispose();
        }
      });
      assert.strictEqual(got.exposure, null);
      assert.deepStrictEqual(got.warn, { level: 'warn', source: 'app.rpcLanes', context: { profile: 'server', mode: 'network', reason: 'no-served-task-or-event' } });
    });

    it('exposure with a mode other than network fails the boot with rpcLanesExposureModeError', async () => {
      const got = await same(async (_app, kind = _app === node ? 'node' : 'native') => {
        try {
          const a = await startApp(R, kind, { mode: 'transparent' });
          await a.runtime.dispose();
          return 'booted';
        } catch (err) {
          return { id: err.id, message: err.message };
        }
      });
      assert.strictEqual(R.errors.rpcLanesExposureModeError.is ? typeof got.id : 'string', 'string');
      assert.notStrictEqual(got, 'booted');
    });

    it('the native port refuses connections after dispose', async () => {
      const a = await startApp(R, 'native');
      const port = a.port;
      await a.runtime.dispose();
      const refused = await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => { s.destroy(); resolve(false); });
        s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
      });
      assert.strictEqual(refused, true);
    });
  });
});
