'use strict';
/**
 * The hardening guarantees (issue #7): a bridge that recovers from JavaScript failures,
 * signals that are never lost, a bounded close(), registration in O(n), Node-shaped
 * errors, and one source of truth for what Go and JavaScript share.
 */
const assert = require('assert');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { Worker } = require('worker_threads');
const { startServer, closeAll, post, request, runChild, waitFor, assertError, TunnelServer } = require('./helpers');
const W = require('../lib/wire');
const { HandlerError } = require('..');

const { kTestOnlyFaults } = require('../lib/symbols');

/** Opens a connection, writes one request, and resolves once it is written. */
function send(port, bytes) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(bytes, () => resolve(sock)));
    sock.on('error', reject);
  });
}

describe('a bridge that recovers', () => {
  afterEach(closeAll);

  it('a throw while starting one call answers that call 500 and the others normally', async () => {
    let throwFor = 2;
    const s = await startServer({}, (srv) => srv.registerTask('n', (input) => input));
    s[kTestOnlyFaults] = { call: () => { if (--throwFor === 0) throw new Error('injected fault'); } };
    const answers = await Promise.all([1, 2, 3, 4].map((n) => post(s.port, '/__runner/task/n', { input: n })));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepStrictEqual(statuses, [200, 200, 200, 500]);
    const failed = answers.find((a) => a.status === 500);
    assertError(failed, 500, 'INTERNAL_ERROR', 'injected fault');
    assert.strictEqual((await post(s.port, '/__runner/task/n', { input: 5 })).text, '{"ok":true,"result":5}');
    assert.strictEqual(s.getStats().pending, 0);
  });

  it('wake-ups lost before JavaScript could exchange (a throw in the wake handler) stall nothing: Go sends them again', async () => {
    let lost = 3;
    const s = await startServer({}, (srv) => srv.registerTask('n', (input) => input));
    s[kTestOnlyFaults] = { dropWake: () => lost-- > 0 };
    assert.strictEqual((await post(s.port, '/__runner/task/n', { input: 'answered' })).text, '{"ok":true,"result":"answered"}');
    assert.strictEqual(lost, -1, 'three wake-ups were dropped, the fourth was handled');
    const later = await Promise.all([1, 2, 3].map((n) => post(s.port, '/__runner/task/n', { input: n })));
    assert.deepStrictEqual(later.map((a) => a.body.result), [1, 2, 3]);
  });

  it('a handler whose value cannot be encoded, a throwing getter, a rejected thenable: each is a 500, the server goes on', async () => {
    const s = await startServer({}, (srv) => {
      srv.registerTask('getter', () => ({ get x() { throw new Error('getter threw'); } }));
      srv.registerTask('thenable', () => ({ then(_, reject) { reject(new Error('thenable rejected')); } }));
      srv.registerTask('ok', () => 'ok');
    });
    assertError(await post(s.port, '/__runner/task/getter', {}), 500, 'INTERNAL_ERROR', /could not be serialized to JSON: getter threw/);
    assertError(await post(s.port, '/__runner/task/thenable', {}), 500, 'INTERNAL_ERROR', 'thenable rejected');
    assert.strictEqual((await post(s.port, '/__runner/task/ok', {})).text, '{"ok":true,"result":"ok"}');
  });
});

describe('signals that are never lost', () => {
  afterEach(closeAll);

  it('a signal first read after the call timed out is born aborted with TIMEOUT', async () => {
    let release;
    const seen = new Promise((resolve) => {
      release = resolve;
    });
    let observed;
    const s = await startServer({ taskTimeoutMs: 50 }, (srv) => {
      srv.registerTask('late.reader', async (input, ctx) => {
        await seen; // the client has had its 504 by then
        observed = { aborted: ctx.signal.aborted, code: ctx.signal.reason && ctx.signal.reason.code };
        return 'too late';
      });
      srv.registerTask('ok', () => 'ok');
    });
    assertError(await post(s.port, '/__runner/task/late.reader', {}), 504, 'TIMEOUT');
    // Go queues the abort record before it counts the timeout; a call queued after that
    // reaches JavaScript after it, so once that call is answered the abort has been read.
    // (A request Go answers alone, such as an unknown task, proves nothing: it took the
    // test's 'poll' through the process transport before the abort arrived.)
    await waitFor(() => s.getStats().timeouts === 1);
    assert.strictEqual((await post(s.port, '/__runner/task/ok', {})).text, '{"ok":true,"result":"ok"}');
    release();
    await waitFor(() => observed);
    assert.deepStrictEqual(observed, { aborted: true, code: 'TIMEOUT' });
  });

  it('a signal first read after the client went away is born aborted with CLIENT_DISCONNECTED', async () => {
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    let entered = false;
    let observed;
    const s = await startServer({}, (srv) => {
      srv.registerTask('late.reader', async (input, ctx) => {
        entered = true;
        await gate;
        observed = ctx.signal.reason && ctx.signal.reason.code;
        return 'nobody listens';
      });
      srv.registerTask('ok', () => 'ok');
    });
    const sock = await send(s.port, 'POST /__runner/task/late.reader HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
    await waitFor(() => entered);
    sock.destroy();
    // Go queues the abort record as it counts the disconnect; a call queued after that
    // reaches JavaScript after it, so once that call is answered the abort has been read.
    await waitFor(() => s.getStats().disconnects === 1);
    assert.strictEqual((await post(s.port, '/__runner/task/ok', {})).text, '{"ok":true,"result":"ok"}');
    release();
    await waitFor(() => observed);
    assert.strictEqual(observed, 'CLIENT_DISCONNECTED');
    assert.strictEqual(s.getStats().status4xx, 0, 'the disconnect is not a 4xx');
  });

  it('calls that arrive after close() began run to their end, not aborted, told by ctx.closing, answered with Connection: close', async () => {
    // A second client on another thread: this one is held inside the first handler.
    const client = new Worker(`
      const { parentPort } = require('worker_threads');
      const http = require('http');
      parentPort.on('message', (port) => {
        http.request({ host: '127.0.0.1', port, method: 'POST', path: '/__runner/task/after' }, (res) => {
          let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => parentPort.postMessage({ connection: res.headers.connection, body: b }));
        }).end('{}');
      });`, { eval: true });
    const second = new Promise((resolve) => client.once('message', resolve));
    const s = await startServer({}, (srv) => {
      srv.registerTask('closer', () => {
        client.postMessage(srv.port); // the second request leaves now...
        while (srv.getStats().pending < 2) { /* ...and waits in Go while this thread is busy */ }
        srv.close();
        return 'closing';
      });
      srv.registerTask('after', (input, ctx) => ({ aborted: ctx.signal.aborted, closing: ctx.closing }));
    });
    try {
      assert.strictEqual((await post(s.port, '/__runner/task/closer', {})).text, '{"ok":true,"result":"closing"}');
      const { connection, body } = await second;
      assert.deepStrictEqual(JSON.parse(body), { ok: true, result: { aborted: false, closing: true } });
      assert.strictEqual(connection, 'close', 'the client is told to reconnect elsewhere, as Node\'s server does after close()');
    } finally {
      await client.terminate(); // else a failure here would keep mocha alive
    }
  });

  it('close() past its deadline answers 503, and the running handler\'s signal has fired when close() resolves', async () => {
    let ctxSeen;
    const s = await startServer({}, (srv) => srv.registerTask('forever', (input, ctx) => {
      ctxSeen = ctx;
      return new Promise(() => {}); // never settles
    }));
    const pending = post(s.port, '/__runner/task/forever', {});
    await waitFor(() => ctxSeen);
    await s.close({ timeoutMs: 50 });
    assert.strictEqual(ctxSeen.signal.aborted, true);
    assert.strictEqual(ctxSeen.signal.reason.code, 'SERVER_CLOSING');
    assertError(await pending, 503, 'SERVICE_UNAVAILABLE', 'Server closed before the handler settled (closeTimeoutMs)');
  });
});

describe('close() with a deadline', function () {
  this.timeout(30000);
  afterEach(closeAll);

  it('a handler that never settles: close() answers it 503 past closeTimeoutMs, and the process exits by itself', async () => {
    const result = await runChild(`
      const { TunnelServer } = require('.');
      const http = require('http');
      (async () => {
        const s = new TunnelServer({ port: 0, host: '127.0.0.1', closeTimeoutMs: 200 });
        let entered = false;
        s.registerTask('forever', () => { entered = true; return new Promise(() => {}); });
        await s.listen();
        const answer = new Promise((resolve) => {
          http.request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/__runner/task/forever' }, (res) => {
            let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(res.statusCode + ' ' + b));
          }).end('{}');
        });
        while (!entered) await new Promise((r) => setImmediate(r));
        await s.close();
        console.log(await answer);
        console.log(JSON.stringify(s.getStats()));
      })();`);
    assert.strictEqual(result.code, 0, result.stderr);
    const [answer] = result.stdout.split('\n');
    assert.match(answer, /^503 \{"ok":false,"error":\{"code":503,/);
  });

  it('closeTimeoutMs: 0 answers every running call 503 at once (stats.closedByDeadline counts them: Go test)', async () => {
    let entered = 0;
    const s = await startServer({ closeTimeoutMs: 0 }, (srv) => srv.registerTask('forever', () => { entered++; return new Promise(() => {}); }));
    const pending = [1, 2, 3].map(() => post(s.port, '/__runner/task/forever', {}));
    await waitFor(() => entered === 3);
    await s.close();
    for (const p of pending) assertError(await p, 503, 'SERVICE_UNAVAILABLE');
  });

  it('close() validates its options', async () => {
    const s = new TunnelServer({ port: 0 });
    await assert.rejects(s.close({ timeoutMs: -1 }), { name: 'RangeError', message: /timeoutMs must not be negative/ });
    await assert.rejects(s.close({ timeoutMs: '1' }), { name: 'TypeError', message: /timeoutMs must be a number/ });
    await assert.rejects(s.close(5), { name: 'TypeError', message: /options must be an object/ });
  });

  it('closeIdleConnections() closes idle keep-alive connections only; closeAllConnections() closes the rest', async () => {
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    let entered = false;
    const s = await startServer({}, (srv) => {
      srv.registerTask('quick', () => 'q');
      srv.registerTask('slow', async () => { entered = true; await gate; return 's'; });
    });
    const idle = await send(s.port, 'POST /__runner/task/quick HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
    let idleIsClosed = false;
    let idleAnswered = false;
    idle.on('close', () => { idleIsClosed = true; });
    idle.on('data', () => { idleAnswered = true; });
    const busy = await send(s.port, 'POST /__runner/task/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
    let busyText = '';
    busy.on('data', (c) => { busyText += c; });
    const busyClosed = new Promise((r) => busy.on('close', r));
    await waitFor(() => entered && idleAnswered);
    // The answered connection turns idle once fasthttp goes back to reading it: poll.
    await waitFor(() => { s.closeIdleConnections(); return idleIsClosed; });
    await waitFor(() => s.getStats().connections === 1); // the server let go of the idle one
    assert.strictEqual(busyText, '', 'the busy connection is still open, waiting for its answer');
    s.closeAllConnections();
    await busyClosed;
    assert.strictEqual(busyText, '', 'its answer never came');
    release();
    await waitFor(() => s.getStats().connections === 0);
    assert.strictEqual((await post(s.port, '/__runner/task/quick', {})).text, '{"ok":true,"result":"q"}', 'the server still listens');
  });
});

describe('registration in O(n)', function () {
  this.timeout(60000);
  afterEach(closeAll);

  it('10,000 ids before listen() and 10,000 more during traffic are all served and listed', async () => {
    const s = await startServer({}, (srv) => {
      for (let i = 0; i < 10000; i++) srv.registerTask(`before.${i}`, () => i);
    });
    const traffic = Array.from({ length: 200 }, (_, i) => post(s.port, `/__runner/task/before.${i * 50}`, {}));
    for (let i = 0; i < 10000; i++) s.registerTask(`during.${i}`, () => -i);
    const answers = await Promise.all(traffic);
    answers.forEach((a, i) => assert.strictEqual(a.text, `{"ok":true,"result":${i * 50}}`));
    assert.strictEqual((await post(s.port, '/__runner/task/during.9999', {})).text, '{"ok":true,"result":-9999}');
    const { allowList } = (await request(s.port, 'GET', '/__runner/discovery')).body.result;
    assert.strictEqual(allowList.tasks.length, 20000);
    assert.strictEqual(allowList.tasks[19999], 'during.9999');
  });
});

describe('errors shaped like Node\'s', () => {
  afterEach(closeAll);

  it('a second listen() rejects with ERR_SERVER_ALREADY_LISTEN', async () => {
    const s = await startServer();
    await assert.rejects(s.listen(), { code: 'ERR_SERVER_ALREADY_LISTEN', message: /already listening/ });
  });

  it('a taken port rejects with code, errno, syscall, address and port, as net.Server does', async () => {
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address();
    const nodeError = await new Promise((resolve) => {
      const other = net.createServer();
      other.once('error', resolve);
      other.listen(port, '127.0.0.1');
    });
    const s = new TunnelServer({ port, host: '127.0.0.1' });
    await assert.rejects(s.listen(), (err) => {
      assert.strictEqual(err.code, nodeError.code);
      assert.strictEqual(err.errno, nodeError.errno);
      assert.strictEqual(err.syscall, nodeError.syscall);
      assert.strictEqual(err.address, nodeError.address);
      assert.strictEqual(err.port, nodeError.port);
      assert.strictEqual(err.message, nodeError.message);
      return true;
    });
    await new Promise((r) => blocker.close(r));
  });

  it('an input the serializer cannot decode is a 400, as a body Go cannot parse', async () => {
    const serializer = { parse: (text) => { if (text.includes('bad')) throw new Error('Unknown type: Bad'); return JSON.parse(text); }, stringify: JSON.stringify };
    const s = await startServer({ serializer }, (srv) => srv.registerTask('t', (input) => input));
    assertError(await post(s.port, '/__runner/task/t', { input: 'bad' }), 400, 'INVALID_JSON', 'Invalid JSON body: Unknown type: Bad');
    assertError(await post(s.port, '/__runner/task/t', '{"input":'), 400, 'INVALID_JSON');
    assert.strictEqual((await post(s.port, '/__runner/task/t', { input: 'good' })).text, '{"ok":true,"result":"good"}');
  });

  it('HandlerError takes only error statuses (400-599): anything else throws where it is written, with a Node-style code', () => {
    const cases = [
      [{ status: 42 }, RangeError, 'ERR_OUT_OF_RANGE', /options\.status must be an HTTP error status \(an integer from 400 to 599\), got 42/],
      [{ status: 200 }, RangeError, 'ERR_OUT_OF_RANGE', /got 200/],
      [{ status: 399 }, RangeError, 'ERR_OUT_OF_RANGE', /got 399/],
      [{ status: 600 }, RangeError, 'ERR_OUT_OF_RANGE', /got 600/],
      [{ status: 404.5 }, RangeError, 'ERR_OUT_OF_RANGE', /got 404\.5/],
      [{ status: '404' }, TypeError, 'ERR_INVALID_ARG_TYPE', /got string/],
      [{ httpCode: 302 }, RangeError, 'ERR_OUT_OF_RANGE', /options\.httpCode must be .* got 302/],
    ];
    for (const [options, Kind, code, message] of cases) {
      assert.throws(() => new HandlerError('x', options), (err) => err instanceof Kind && err.code === code && message.test(err.message), JSON.stringify(options));
    }
    assert.strictEqual(new HandlerError('x').status, 500, 'default');
    assert.strictEqual(new HandlerError('x', { status: 400 }).status, 400);
    assert.strictEqual(new HandlerError('x', { status: 599, httpCode: 418 }).httpCode, 418);
  });

  it('HandlerError chooses the status and the structured error; events can answer a result', async () => {
    const s = await startServer({}, (srv) => {
      srv.registerTask('typed', () => { throw new HandlerError('Conflict', { status: 409, code: 'CONFLICT', id: 'app.errors.conflict', data: { k: 1 }, httpCode: 409 }); });
      srv.registerEvent('ev', (payload) => payload * 2);
    });
    const res = await post(s.port, '/__runner/task/typed', {});
    assert.strictEqual(res.status, 409);
    assert.deepStrictEqual(res.body, { ok: false, error: { code: 409, message: 'Conflict', codeName: 'CONFLICT', id: 'app.errors.conflict', data: { k: 1 }, httpCode: 409 } });
    assert.strictEqual((await post(s.port, '/__runner/event/ev', { payload: 21 })).text, '{"ok":true}');
    assert.strictEqual((await post(s.port, '/__runner/event/ev', { payload: 21, returnPayload: true })).text, '{"ok":true,"result":42}');
  });
});

describe('one source of truth', () => {
  it('every wire constant JavaScript uses comes from Go', () => {
    const files = ['index.js', ...fs.readdirSync(path.join(__dirname, '..', 'lib')).filter((f) => f.endsWith('.js')).map((f) => `lib/${f}`)];
    const used = new Set();
    for (const f of files) {
      const text = fs.readFileSync(path.join(__dirname, '..', f), 'utf8');
      for (const m of text.matchAll(/\bW\.([A-Z][A-Z0-9_]+)/g)) used.add(m[1]);
    }
    assert.ok(used.size > 30, `found ${used.size} uses`);
    for (const name of used) assert.notStrictEqual(W[name], undefined, `W.${name} is not exported by Go`);
  });

  it('getStats() names are Go\'s, in Go\'s order, then the latency histogram', async () => {
    const stats = new TunnelServer({ port: 0 }).getStats();
    assert.deepStrictEqual(Object.keys(stats), [...W.STATS, 'latency']);
    assert.deepStrictEqual(stats.latency.boundsMs, W.LATENCY_BOUNDS_MICROS.map((us) => us / 1000));
  });

  it('config errors come from Go with the class and message of the field', () => {
    const cases = [
      [{ port: 0, maxInFlight: 2 ** 24 + 1 }, RangeError, 'TunnelServer: config.maxInFlight must be between 1 and 16777216, got 16777217'],
      [{ port: 0, basePath: '/a b' }, RangeError, 'TunnelServer: config.basePath must not contain \'?\', \'#\', \'%\' or spaces, got "/a b"'],
      [{ port: NaN }, TypeError, 'TunnelServer: config.port must be an integer, got NaN'],
      [{ port: 0, authValidator: 'yes' }, TypeError, 'TunnelServer: config.authValidator must be a function, got "yes"'],
      [{ port: 0, cors: { origin: 5 } }, TypeError, 'TunnelServer: config.cors.origin must be a string, an array of strings, a RegExp or a function, got 5'],
      [{ port: 0, protocol: 'grpc' }, RangeError, 'TunnelServer: config.protocol must be \'seed\' or \'runner\', got "grpc"'],
    ];
    for (const [config, Kind, message] of cases) {
      assert.throws(() => new TunnelServer(config), (err) => err instanceof Kind && err.message === message, message);
    }
    assert.ok(new TunnelServer({ port: 0, cors: { origin: /x/ }, authValidator: () => true, protocol: 'runner' }));
  });
});

describe('the addon checks its arguments', () => {
  const native = require('../lib/native');
  const cases = [
    ['exchange', [1, 1, 'not bytes', 0, new Uint8Array(1)], 'exchange(): argument 2 must be a Uint8Array (or Buffer)'],
    ['exchange', [1, 1, new Uint8Array(1), -1, new Uint8Array(1)], 'exchange(): argument 3 must be a non-negative integer'],
    ['stats', [0, new BigUint64Array(1)], 'stats(): argument 0 must be a server handle'],
    ['stats', [1, new Uint8Array(8)], 'stats(): argument 1 must be a BigUint64Array'],
    ['headers', [1, 2, 'nope'], 'headers(): argument 2 must be a Uint8Array (or Buffer)'],
    ['remote', ['1', 2, new Uint8Array(8)], 'remote(): argument 0 must be a number'],
    ['checkConfig', [42], 'checkConfig(): argument 0 must be a string'],
    ['listen', [1, 'not a function'], 'listen(): argument 1 must be a function'],
    ['closeConnections', [1, 'yes'], 'closeConnections(): argument 1 must be a boolean'],
    ['register', [1.5, new Uint8Array(1), 1], 'register(): argument 0 must be a server handle'],
  ];
  for (const [name, args, message] of cases) {
    it(`${name}(${args.map((a) => (typeof a === 'object' ? a.constructor.name : typeof a)).join(', ')}): TypeError "${message}", never a crash`, () => {
      assert.throws(() => native[name](...args), (err) => err instanceof TypeError && err.message === `runner-native: ${message}`);
    });
  }
});

