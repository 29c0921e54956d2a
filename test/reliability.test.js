'use strict';
const assert = require('assert');
const net = require('net');
const path = require('path');
const { Worker } = require('worker_threads');
const { startServer, closeAll, post, request, rawExchange, runChild, waitFor, assertError } = require('./helpers');

describe('auth', () => {
  after(closeAll);

  it('401 UNAUTHORIZED without the token on task, event and discovery; preflight is not blocked', async () => {
    const s = await startServer({ auth: { token: 's3cret' } }, (srv) => {
      srv.registerTask('t', () => 'ok');
      srv.registerEvent('e', () => {});
    });
    for (const [method, p] of [['POST', '/__runner/task/t'], ['POST', '/__runner/event/e'], ['GET', '/__runner/discovery']]) {
      assertError(await request(s.port, method, p, {}), 401, 'UNAUTHORIZED', /x-runner-token/);
      assertError(await request(s.port, method, p, {}, { 'x-runner-token': 's3cre' }), 401, 'UNAUTHORIZED');
      assertError(await request(s.port, method, p, {}, { 'x-runner-token': 's3cret!' }), 401, 'UNAUTHORIZED');
      assert.strictEqual((await request(s.port, method, p, {}, { 'x-runner-token': 's3cret' })).status, 200);
    }
    const preflight = await request(s.port, 'OPTIONS', '/__runner/task/t', undefined, { origin: 'https://a.example', 'access-control-request-headers': 'x-runner-token' });
    assert.strictEqual(preflight.status, 204);
  });

  it('honours a custom header name, case-insensitively', async () => {
    const s = await startServer({ auth: { token: 'abc', header: 'Authorization-Token' } }, (srv) => srv.registerTask('t', () => 1));
    assertError(await post(s.port, '/__runner/task/t', {}, { 'x-runner-token': 'abc' }), 401, 'UNAUTHORIZED', /authorization-token/);
    assert.strictEqual((await post(s.port, '/__runner/task/t', {}, { 'authorization-token': 'abc' })).text, '{"ok":true,"result":1}');
  });

  it('rejects an invalid auth config with a TypeError', async () => {
    const { TunnelServer } = require('..');
    assert.throws(() => new TunnelServer({ port: 0, auth: { token: '' } }), { name: 'TypeError', message: /config\.auth/ });
    assert.throws(() => new TunnelServer({ port: 0, auth: 'abc' }), { name: 'TypeError', message: /config\.auth/ });
    assert.throws(() => new TunnelServer({ port: 0, auth: { token: 'a', header: 'bad header' } }), { name: 'TypeError', message: /config\.auth\.header/ });
  });
});

describe('handler context', () => {
  after(closeAll);

  it('passes (input, ctx) with id, kind and lower-case headers; one-argument handlers still work', async () => {
    const seen = [];
    const s = await startServer({}, (srv) => {
      srv.registerTask('with.ctx', (input, ctx) => ({ input, id: ctx.id, kind: ctx.kind, custom: ctx.headers['x-custom'], ct: ctx.headers['content-type'] }));
      srv.registerEvent('ev.ctx', (payload, ctx) => { seen.push([payload, ctx.id, ctx.kind, ctx.headers['x-custom']]); });
      srv.registerTask('one.arg', (input) => input + 1);
    });
    const res = await post(s.port, '/__runner/task/with.ctx', { input: 7 }, { 'X-Custom': 'Value' });
    assert.deepStrictEqual(res.body.result, { input: 7, id: 'with.ctx', kind: 'task', custom: 'Value', ct: 'application/json' });
    await post(s.port, '/__runner/event/ev.ctx', { payload: 'p' }, { 'x-custom': 'e' });
    assert.deepStrictEqual(seen, [['p', 'ev.ctx', 'event', 'e']]);
    assert.strictEqual((await post(s.port, '/__runner/task/one.arg', { input: 1 })).text, '{"ok":true,"result":2}');
  });
});

describe('timeouts and overload', () => {
  afterEach(closeAll);

  it('taskTimeoutMs: 504 TIMEOUT, ctx.signal fires with code TIMEOUT, the late result is dropped', async () => {
    let reason;
    let finishLate;
    const s = await startServer({ taskTimeoutMs: 100 }, (srv) => {
      srv.registerTask('hangs', (input, ctx) => new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => { reason = ctx.signal.reason; });
        finishLate = resolve;
      }));
      srv.registerTask('fast', () => 'fast');
    });
    const res = await post(s.port, '/__runner/task/hangs', {});
    assertError(res, 504, 'TIMEOUT', /taskTimeoutMs \(100 ms\)/);
    await waitFor(() => reason);
    assert.strictEqual(reason.code, 'TIMEOUT');
    assert.strictEqual(reason.name, 'AbortError');
    finishLate('too late');
    assert.strictEqual((await post(s.port, '/__runner/task/fast', {})).text, '{"ok":true,"result":"fast"}');
    const stats = s.getStats();
    assert.strictEqual(stats.timeouts, 1);
    assert.strictEqual(stats.pending, 0);
  });

  it('maxInFlight: requests beyond the bound get 503 SERVICE_UNAVAILABLE at once, the rest succeed', async () => {
    let release;
    const gate = new Promise((r) => { release = r; });
    let entered = 0;
    const s = await startServer({ maxInFlight: 5 }, (srv) => srv.registerTask('gated', async (input) => { entered++; await gate; return input; }));
    const first = Array.from({ length: 5 }, (_, i) => post(s.port, '/__runner/task/gated', { input: i }));
    await waitFor(() => entered === 5);
    const extra = await Promise.all(Array.from({ length: 15 }, (_, i) => post(s.port, '/__runner/task/gated', { input: 100 + i })));
    extra.forEach((res) => assertError(res, 503, 'SERVICE_UNAVAILABLE', /maxInFlight=5/));
    release();
    (await Promise.all(first)).forEach((res, i) => assert.strictEqual(res.text, `{"ok":true,"result":${i}}`));
    assert.strictEqual(s.getStats().rejected, 15);
  });
});

describe('disconnects', () => {
  afterEach(closeAll);

  it('a client that goes away while its handler runs fires ctx.signal (CLIENT_DISCONNECTED) and leaks nothing', async () => {
    let entered = 0;
    const reasons = [];
    const s = await startServer({}, (srv) => srv.registerTask('waits', (input, ctx) => new Promise((resolve) => {
      entered++;
      ctx.signal.addEventListener('abort', () => { reasons.push(ctx.signal.reason.code); resolve('ignored'); });
    })));
    const sockets = [];
    for (let i = 0; i < 10; i++) {
      const sock = net.connect(s.port, '127.0.0.1');
      sock.on('error', () => {});
      sock.write('POST /__runner/task/waits HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
      sockets.push(sock);
    }
    await waitFor(() => entered === 10);
    sockets.forEach((sock) => sock.destroy());
    await waitFor(() => reasons.length === 10);
    assert.deepStrictEqual(reasons, Array(10).fill('CLIENT_DISCONNECTED'));
    const stats = s.getStats();
    assert.strictEqual(stats.disconnects, 10);
    assert.strictEqual(stats.pending, 0);
    assert.strictEqual(stats.status4xx, 0, 'a disconnect is its own outcome, not a 4xx');
    assert.strictEqual(stats.status5xx, 0);
  });

  it('clients dropping mid-headers and mid-body crash nothing; the server keeps answering', async () => {
    const s = await startServer({}, (srv) => srv.registerTask('t', () => 'alive'));
    const partials = [
      'POST /__runner/task/t HTTP/1.1\r\nHo',
      'POST /__runner/task/t HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"input":',
      'POST /__runner/task/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"inp',
      'GET /__runner/disc',
    ];
    for (let round = 0; round < 25; round++) {
      await Promise.all(partials.map((bytes) => new Promise((resolve) => {
        const sock = net.connect(s.port, '127.0.0.1', () => sock.write(bytes, () => { sock.destroy(); resolve(); }));
        sock.on('error', resolve);
      })));
    }
    assert.strictEqual((await post(s.port, '/__runner/task/t', {})).text, '{"ok":true,"result":"alive"}');
    assert.strictEqual(s.getStats().pending, 0, 'nothing partial ever reached JavaScript');
  });
});

// Malformed HTTP: test/http-framing.test.js checks every case against node:http.

describe('slow clients', () => {
  after(closeAll);

  it('a slowloris client is cut off with 408 after readTimeoutMs while others are served', async () => {
    const s = await startServer({ readTimeoutMs: 300 }, (srv) => srv.registerTask('t', () => 'ok'));
    const slow = net.connect(s.port, '127.0.0.1');
    let received = '';
    const closed = new Promise((r) => slow.on('close', r));
    slow.on('data', (c) => { received += c; });
    slow.on('error', () => {});
    const dribble = setInterval(() => { if (!slow.destroyed) slow.write('X'); }, 20);
    slow.write('POST /__runner/task/t HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    for (let i = 0; i < 10; i++) {
      assert.strictEqual((await post(s.port, '/__runner/task/t', {})).text, '{"ok":true,"result":"ok"}');
    }
    await closed;
    clearInterval(dribble);
    assert.match(received, /^HTTP\/1\.1 408 /, 'the server cut the slow client off');
  });
});

describe('read timeout', () => {
  after(closeAll);

  for (const [stalled, bytes] of [
    ['headers', 'POST /__runner/task/t HTTP/1.1\r\nHost: x\r\nX-Slow: '],
    ['body', 'POST /__runner/task/t HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"in'],
  ]) {
    it(`a request whose ${stalled} stall gets 408 REQUEST_TIMEOUT after readTimeoutMs, then the connection closes`, async () => {
      const s = await startServer({ readTimeoutMs: 300 }, (srv) => srv.registerTask('t', () => 'ok'));
      const text = await rawExchange(s.port, bytes);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /\r\nConnection: close\r\n/i);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      assert.deepStrictEqual(body, { ok: false, error: { code: 408, message: 'Request not received within readTimeoutMs', codeName: 'REQUEST_TIMEOUT' } });
    });
  }
});

describe('worker threads', function () {
  this.timeout(30000);

  const workerScript = `
    const { parentPort, workerData } = require('worker_threads');
    const { TunnelServer } = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
    let entered = 0;
    s.registerTask('who', () => workerData.name);
    s.registerTask('hang', () => { parentPort.postMessage({ entered: ++entered }); return new Promise(() => {}); });
    parentPort.on('message', (m) => { if (m === 'close') s.close(); });
    s.listen().then(() => parentPort.postMessage({ port: s.port }));
  `;
  const startWorker = (name) => new Promise((resolve, reject) => {
    const worker = new Worker(workerScript, { eval: true, workerData: { name } });
    const state = { worker, entered: 0 };
    worker.on('message', (m) => {
      if (m.entered) state.entered = m.entered;
      if (m.port) resolve(Object.assign(state, { port: m.port }));
    });
    worker.once('error', reject);
  });
  const refused = (port) => post(port, '/__runner/task/who', {}).then(() => false, () => true);

  it('servers in several workers at once answer with their own handlers', async () => {
    const workers = await Promise.all(['w1', 'w2', 'w3'].map(startWorker));
    const answers = await Promise.all(workers.map(({ port }) => post(port, '/__runner/task/who', {})));
    assert.deepStrictEqual(answers.map((r) => r.body.result), ['w1', 'w2', 'w3']);
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  });

  it('worker.terminate() with the server open and requests in flight: pending get 503, the process lives on', async () => {
    const w = await startWorker('doomed');
    const inFlight = Array.from({ length: 20 }, () => post(w.port, '/__runner/task/hang', {}).catch((err) => ({ error: err.code })));
    await waitFor(() => w.entered === 20);
    await w.worker.terminate();
    const answers = await Promise.all(inFlight);
    let unavailable = 0;
    for (const a of answers) {
      if (a.error) continue; // the connection may close before an answer
      assertError(a, 503, 'SERVICE_UNAVAILABLE', 'Server is shutting down');
      unavailable++;
    }
    assert.ok(unavailable >= 1, `at least one pending call was answered 503 (${unavailable} of 20)`);
    await waitFor(() => refused(w.port));
    // The main thread and its own servers are unaffected.
    const mine = await startServer({}, (srv) => srv.registerTask('alive', () => true));
    assert.strictEqual((await post(mine.port, '/__runner/task/alive', {})).text, '{"ok":true,"result":true}');
    await closeAll();
  });

  it('close() followed at once by worker.terminate() crashes nothing and frees the port', async () => {
    for (let i = 0; i < 5; i++) {
      const w = await startWorker(`c${i}`);
      const inFlight = post(w.port, '/__runner/task/hang', {}).catch((err) => ({ error: err.code }));
      await waitFor(() => w.entered === 1);
      w.worker.postMessage('close');
      await w.worker.terminate();
      const answer = await inFlight;
      if (!answer.error) assert.strictEqual(answer.status, 503);
      await waitFor(() => refused(w.port));
    }
    const mine = await startServer({}, (srv) => srv.registerTask('alive', () => true));
    assert.strictEqual((await post(mine.port, '/__runner/task/alive', {})).text, '{"ok":true,"result":true}');
    await closeAll();
  });

  it('terminating many workers in a row never crashes the process', async () => {
    for (let i = 0; i < 5; i++) {
      const { worker, port } = await startWorker(`w${i}`);
      const calls = Array.from({ length: 5 }, () => post(port, '/__runner/task/who', {}).catch(() => null));
      await worker.terminate();
      await Promise.all(calls);
    }
  });
});

describe('host process safety', function () {
  this.timeout(30000);

  it('writes to closed sockets and a closed stdout never kill the process with SIGPIPE', async () => {
    let child;
    const result = await runChild(`
      const { TunnelServer } = require('.');
      const net = require('net');
      process.stdout.on('error', () => {}); // the parent closed our stdout
      (async () => {
        const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
        // Answers only once its client is gone: the answer is written to a closed socket.
        s.registerTask('late', (input, ctx) => new Promise((r) => ctx.signal.addEventListener('abort', () => r('x'.repeat(100000)))));
        await s.listen();
        for (let i = 0; i < 30; i++) {
          await new Promise((resolve) => {
            const sock = net.connect(s.port, '127.0.0.1', () => {
              sock.write('POST /__runner/task/late HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 2\\r\\n\\r\\n{}', () => { sock.destroy(); resolve(); });
            });
          });
          process.stdout.write('line ' + i + '\\n');
        }
        while (s.getStats().disconnects < 30) await new Promise((r) => setImmediate(r));
        await s.close();
        process.stderr.write('survived\\n');
      })();`,
    { onSpawn: (c) => { child = c; c.stdout.destroy(); } });
    assert.ok(child);
    assert.strictEqual(result.signal, null, `killed by ${result.signal}`);
    assert.strictEqual(result.code, 0, result.stderr);
    assert.strictEqual(result.stderr, 'survived\n');
  });
});
