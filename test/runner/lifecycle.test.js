'use strict';
/** nativeExposure's life in a runner app: config errors, when it listens, close, dispose. */
const assert = require('assert');
const net = require('net');
const { r, run, globals, createHttpClient, nodeExposure } = require('@bluelibs/runner');
const { nativeExposure } = require('../../runner');
const http = require('http');
const { clientSerializer, startApp, probe } = require('./app');
const { waitFor } = require('../helpers');

const add = r.task('life.add').run(async (i) => i.a + i.b).build();
const tunnel = r.resource('life.tunnel').tags([globals.tags.tunnel]).init(async () => ({ mode: 'server', tasks: [add.id] })).build();
const quiet = { logs: { printThreshold: null }, shutdownHooks: false };

function appWith(http, extra = []) {
  return r.resource('life.app').register([add, tunnel, nativeExposure.with({ http }), ...extra]).build();
}

function refused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', (err) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('nativeExposure lifecycle', function () {
  it('binds during init, as nodeExposure does: a resource that depends on it sees the port and server.address()', async () => {
    const seen = {};
    for (const [name, exposure] of [['node', nodeExposure], ['native', nativeExposure]]) {
      const probe = r.resource(`life.probe.${name}`).dependencies({ exposure }).init(async (_, { exposure: value }) => {
        const address = value.server.address();
        // nodeExposure's value has no port of its own: apps read server.address().port.
        if (name === 'native') assert.strictEqual(value.port, address.port);
        seen[name] = { portKnown: address.port > 0, address: address.address, family: address.family };
      }).build();
      const app = r.resource(`life.app.${name}`).register([add, tunnel, exposure.with({ http: { listen: { port: 0 }, auth: { token: 't' } } }), probe]).build();
      const rt = await run(app, quiet);
      await rt.dispose();
    }
    assert.deepStrictEqual(seen.native, seen.node);
    assert.deepStrictEqual(seen.native, { portKnown: true, address: '127.0.0.1', family: 'IPv4' });
  });

  it('serves what the allow-list exposes once the app is ready', async () => {
    const rt = await run(appWith({ listen: { port: 0 }, auth: { token: 't' } }), quiet);
    try {
      const value = rt.getResourceValue(nativeExposure);
      assert.ok(value.port > 0);
      assert.deepStrictEqual([value.host, value.basePath], ['127.0.0.1', '/__runner']);
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${value.port}/__runner`, auth: { token: 't' }, serializer: clientSerializer() });
      assert.strictEqual(await client.task(add.id, { a: 1, b: 2 }), 3);
      assert.ok(value.server.getStats().requests >= 1, 'the TunnelServer is there for its stats');
    } finally {
      await rt.dispose();
    }
  });

  it('takes onRequests in http: runner\'s client calls are recorded with their task id and request id; getStats() has the latency histogram', async () => {
    const records = [];
    const rt = await run(appWith({ listen: { port: 0 }, auth: { token: 't' }, onRequests: (batch) => records.push(...batch) }), quiet);
    try {
      const value = rt.getResourceValue(nativeExposure);
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${value.port}/__runner`, auth: { token: 't' }, serializer: clientSerializer() });
      assert.strictEqual(await client.task(add.id, { a: 1, b: 2 }), 3);
      const anonymous = await fetch(`http://127.0.0.1:${value.port}/__runner/task/${add.id}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assert.strictEqual(anonymous.status, 401);
      await waitFor(() => records.length >= 2);
      const [call, refused] = records;
      assert.deepStrictEqual([call.kind, call.id, call.status], ['task', add.id, 200]);
      assert.match(call.requestId, /^[0-9a-f-]{36}$/, 'the request id runner\'s exposure would log');
      assert.deepStrictEqual([refused.kind, refused.status], [undefined, 401]);
      assert.strictEqual(value.server.getStats().latency.count, 2);
    } finally {
      await rt.dispose();
    }
  });

  it('serves before the other ready listeners run, as nodeExposure (listening since init) does', async () => {
    let answer;
    const selfCall = r.hook('life.selfCall').on(globals.events.ready).dependencies({ exposure: nativeExposure }).run(async (_, { exposure }) => {
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${exposure.port}/__runner`, auth: { token: 't' }, serializer: clientSerializer() });
      answer = await client.task(add.id, { a: 2, b: 2 });
    }).build();
    const rt = await run(appWith({ listen: { port: 0 }, auth: { token: 't' } }, [selfCall]), quiet);
    await rt.dispose();
    assert.strictEqual(answer, 4);
  });

  it('dispose closes the port', async () => {
    const rt = await run(appWith({ listen: { port: 0 }, auth: { token: 't' } }), quiet);
    const { port } = rt.getResourceValue(nativeExposure);
    assert.strictEqual(await refused(port), false);
    await rt.dispose();
    assert.strictEqual(await refused(port), true);
  });

  it('a taken port fails run() with EADDRINUSE, as nodeExposure\'s does', async () => {
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address();
    try {
      await assert.rejects(run(appWith({ listen: { port }, auth: { token: 't' } }), quiet), { code: 'EADDRINUSE' });
      await assert.rejects(run(r.resource('life.nodeApp').register([add, tunnel, nodeExposure.with({ http: { listen: { port }, auth: { token: 't' } } })]).build(), quiet), { code: 'EADDRINUSE' });
    } finally {
      holder.close();
    }
  });

  it('a bad http config fails the boot, naming the field', async () => {
    await assert.rejects(run(appWith({ listen: { port: 0 }, cors: { origin: 42 } }), quiet), /config\.cors\.origin/);
    await assert.rejects(run(appWith({ listen: { port: 'x' } }), quiet), /config\.port/);
  });

  it('takes runner-native\'s own settings in http, checked by the same table as TunnelServer\'s; refuses unknown keys and the ones it sets itself', async () => {
    const slow = r.task('life.slow').run(async () => new Promise(() => {})).build();
    const slowTunnel = r.resource('life.slowTunnel').tags([globals.tags.tunnel]).init(async () => ({ mode: 'server', tasks: [slow.id] })).build();
    const rt = await run(r.resource('life.slowApp').register([slow, slowTunnel, nativeExposure.with({ http: { listen: { port: 0 }, auth: { token: 't' }, taskTimeoutMs: 50 } })]).build(), quiet);
    try {
      const { port } = rt.getResourceValue(nativeExposure);
      const status = await new Promise((resolve, reject) => {
        http.request({ host: '127.0.0.1', port, method: 'POST', path: `/__runner/task/${slow.id}`, headers: { 'x-runner-token': 't' } }, (res) => { res.resume(); resolve(res.statusCode); })
          .on('error', reject).end('{}');
      });
      assert.strictEqual(status, 504, 'taskTimeoutMs in http applies (it was silently ignored)');
    } finally {
      await rt.dispose();
    }
    const refused = [
      [{ taskTimeoutMss: 200 }, { code: 'ERR_UNKNOWN_OPTION', message: /config\.taskTimeoutMss is not an option; did you mean config\.taskTimeoutMs\?/ }],
      [{ taskTimeoutMs: -1 }, { code: 'ERR_OUT_OF_RANGE', message: /config\.taskTimeoutMs/ }],
      [{ port: 7070 }, { code: 'ERR_INVALID_ARG_VALUE', message: /nativeExposure: http\.port cannot be set: use http\.listen\.port/ }],
      [{ maxBodySize: 10 }, { code: 'ERR_INVALID_ARG_VALUE', message: /http\.maxBodySize cannot be set: use http\.limits\.json\.maxSize/ }],
      [{ protocol: 'seed' }, { code: 'ERR_INVALID_ARG_VALUE', message: /http\.protocol cannot be set/ }],
    ];
    for (const [extra, expected] of refused) {
      await assert.rejects(run(appWith({ listen: { port: 0 }, auth: { token: 't' }, ...extra }), quiet), expected, JSON.stringify(extra));
    }
  });

  it('runner.d.ts types the settings http takes: NativeHttpSettings leaves out exactly the TunnelConfig keys nativeExposure sets or maps from runner\'s members', () => {
    const fs = require('fs');
    const path = require('path');
    const { OWNED, RUNNER_KEYS } = require('../../lib/runner/config');
    const dts = fs.readFileSync(path.join(__dirname, '..', '..', 'runner.d.ts'), 'utf8');
    const omitted = /NativeHttpSettings = Partial<Omit<TunnelConfig,([^>]*)>>/.exec(dts);
    assert.ok(omitted, 'NativeHttpSettings is declared');
    const typed = new Set([...omitted[1].matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]));
    // TunnelConfig keys that are also runner's own members (same name, runner's meaning).
    const shared = [...RUNNER_KEYS].filter((k) => ['cors', 'auth', 'disableDiscovery', 'basePath'].includes(k));
    assert.deepStrictEqual([...typed].sort(), [...Object.keys(OWNED), ...shared].sort());
  });

  it('takes a port given as a string of digits (process.env.PORT), as Node\'s listen does', async () => {
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address();
    await new Promise((resolve) => holder.close(resolve));
    const rt = await run(appWith({ listen: { port: String(port) }, auth: { token: 't' } }), quiet);
    try {
      assert.strictEqual(rt.getResourceValue(nativeExposure).port, port);
    } finally {
      await rt.dispose();
    }
  });

  it('needs http.listen and refuses http.server: runner-native serves its own port; the embedding members say so', async () => {
    await assert.rejects(run(appWith({ auth: { token: 't' } }), quiet), /http\.listen/);
    await assert.rejects(run(appWith({ server: {}, listen: { port: 0 } }), quiet), /http\.server is not supported/);
    const rt = await run(appWith({ listen: { port: 0 }, auth: { token: 't' } }), quiet);
    try {
      const value = rt.getResourceValue(nativeExposure);
      for (const name of ['handleRequest', 'createRequestListener', 'createServer', 'attachTo']) {
        assert.throws(() => value[name](), { code: 'ERR_METHOD_NOT_IMPLEMENTED', message: new RegExp(`${name}\\(\\) is not supported: .*use nodeExposure to embed`) });
      }
    } finally {
      await rt.dispose();
    }
  });

  it('logs node.exposure.listen as nodeExposure does', async () => {
    const node = await startApp({ exposure: 'node', http: { auth: { token: 'secret' } } });
    const native = await startApp({ exposure: 'native', http: { auth: { token: 'secret' } } });
    try {
      const view = (app) => app.logs.filter((l) => l.message === 'node.exposure.listen').map((l) => [l.level, l.context]);
      assert.deepStrictEqual(view(native), view(node));
      assert.deepStrictEqual(view(node), [['info', { basePath: '/__runner', port: 0, host: '127.0.0.1' }]]);
    } finally {
      await Promise.all([node.runtime.dispose(), native.runtime.dispose()]);
    }
  });

  it('close() on the value stops serving; dispose after it is harmless', async () => {
    const rt = await run(appWith({ listen: { port: 0 }, auth: { token: 't' } }), quiet);
    const value = rt.getResourceValue(nativeExposure);
    const { port } = value;
    await value.close();
    assert.strictEqual(await refused(port), true);
    await rt.dispose();
  });

  it('dispose with a task in flight lets it finish and answers it, as nodeExposure does (graceful shutdown)', async () => {
    const seen = {};
    for (const exposure of ['node', 'native']) {
      const app = await startApp({ exposure, http: { auth: { token: 'secret' } } });
      const tag = `graceful-${exposure}`;
      const started = new Promise((resolve) => probe.on('graceful started', function on(t, release) { if (t === tag) { probe.off('graceful started', on); resolve(release); } }));
      const answer = new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: app.port, method: 'POST', path: '/__runner/task/app.tasks.graceful', agent: false, headers: { 'x-runner-token': 'secret', 'content-type': 'application/json' } }, (res) => {
          let body = '';
          res.on('data', (c) => { body += c; });
          res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body: JSON.parse(body) }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ input: tag }));
      });
      const release = await started;
      const disposed = app.runtime.dispose();
      while (!(await refused(app.port))) { /* the listener closes first; the task still runs */ }
      release();
      seen[exposure] = await answer;
      await disposed;
    }
    seen.node.body.result.done = seen.native.body.result.done = 'graceful';
    assert.deepStrictEqual(seen.native, seen.node);
    assert.deepStrictEqual(seen.node, { status: 200, connection: 'close', body: { ok: true, result: { done: 'graceful', aborted: false } } });
  });

  it('a client that goes away aborts useExposureContext().signal with runner\'s cancellation error', async () => {
    const seen = {};
    for (const exposure of ['node', 'native']) {
      const app = await startApp({ exposure, http: { auth: { token: 'secret' } } });
      try {
        const tag = `abort-${exposure}`;
        const started = new Promise((resolve) => probe.on('started', function on(t) { if (t === tag) { probe.off('started', on); resolve(); } }));
        const aborted = new Promise((resolve) => probe.on('aborted', function on(t, info) { if (t === tag) { probe.off('aborted', on); resolve(info); } }));
        const req = http.request({ host: '127.0.0.1', port: app.port, method: 'POST', path: '/__runner/task/app.tasks.waitAbort', headers: { 'x-runner-token': 'secret', 'content-type': 'application/json' } });
        req.on('error', () => {});
        req.end(JSON.stringify({ input: tag }));
        await started;
        req.destroy();
        seen[exposure] = await aborted;
      } finally {
        await app.runtime.dispose();
      }
    }
    assert.deepStrictEqual(seen.native, seen.node);
    assert.strictEqual(seen.node.cancellation, true);
  });
});
