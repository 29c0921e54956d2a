'use strict';
const assert = require('assert');
const net = require('net');
const { startServer, closeAll, post, rawExchange, runChild, waitFor } = require('./helpers');

/** Opens a connection; resolves with the socket and a promise of its closing time. */
function connect(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
    sock.closedAt = new Promise((r) => sock.on('close', r));
    sock.on('error', () => {});
    sock.once('error', reject);
  });
}

describe('connection limits', () => {
  afterEach(closeAll);

  it('idleTimeoutMs closes an idle keep-alive connection after its answer', async () => {
    const s = await startServer({ idleTimeoutMs: 200 }, (srv) => srv.registerTask('t', () => 1));
    const sock = await connect(s.port);
    let text = '';
    let textAtClose;
    sock.on('data', (c) => { text += c; });
    sock.on('end', () => { textAtClose = text; });
    sock.write('POST /__runner/task/t HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
    await sock.closedAt;
    assert.match(textAtClose, /^HTTP\/1\.1 200 /, 'the request was answered before the server closed the connection');
    assert.doesNotMatch(textAtClose, /Connection: close/i, 'it was kept alive, then closed as idle');
    await waitFor(() => s.getStats().connections === 0);
  });

  it('writeTimeoutMs cuts off a client that does not read its response', async () => {
    const big = 'x'.repeat(32 * 1024 * 1024);
    const s = await startServer({ writeTimeoutMs: 200 }, (srv) => srv.registerTask('big', () => big));
    const sock = await connect(s.port);
    sock.pause(); // never read: the server's write blocks once the socket buffers are full
    sock.write('POST /__runner/task/big HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
    await waitFor(() => s.getStats().status2xx === 1); // the answer is being written
    await waitFor(() => s.getStats().connections === 0); // and the server gave up on it
    let received = 0;
    sock.on('data', (c) => { received += c.length; });
    sock.resume();
    await sock.closedAt;
    assert.ok(received > 0, 'part of the response was sent');
    assert.ok(received < big.length, `the response was cut off (${received} of ${big.length} bytes)`);
    assert.strictEqual((await post(s.port, '/__runner/task/missing', {})).status, 404, 'the server still serves others');
  });

  it('maxConnections: a connection beyond the limit gets the JSON 503 and is closed', async () => {
    let release;
    const gate = new Promise((r) => { release = r; });
    const s = await startServer({ maxConnections: 2 }, (srv) => srv.registerTask('gated', () => gate));
    const busy = [await connect(s.port), await connect(s.port)];
    busy.forEach((sock) => sock.write('POST /__runner/task/gated HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}'));
    await waitFor(() => s.getStats().inFlight === 2); // both connections are served
    const text = await rawExchange(s.port, 'POST /__runner/task/gated HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
    assert.match(text, /^HTTP\/1\.1 503 /);
    assert.match(text, /\r\nContent-Type: application\/json; charset=utf-8\r\n/i);
    assert.match(text, /\r\nConnection: close\r\n/i);
    assert.deepStrictEqual(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), {
      ok: false, error: { code: 503, message: 'Too many connections (maxConnections=2)', codeName: 'SERVICE_UNAVAILABLE' },
    });
    assert.strictEqual(s.getStats().inFlight, 2, 'two calls are inside their handler');
    assert.strictEqual(s.getStats().status5xx, 1, 'the 503 is counted');
    release('done');
    busy.forEach((sock) => sock.destroy());
  });
});

describe('ctx.signal on close()', () => {
  after(closeAll);

  it('does not fire for running handlers: close() lets them finish and sends their answers (graceful)', async () => {
    let ctxSeen;
    let release;
    const s = await startServer({}, (srv) => srv.registerTask('work', (input, ctx) => new Promise((resolve) => {
      ctxSeen = ctx;
      release = resolve;
    })));
    const answer = post(s.port, '/__runner/task/work', {});
    await waitFor(() => ctxSeen);
    assert.strictEqual(ctxSeen.closing, false);
    const closed = s.close();
    assert.strictEqual(ctxSeen.closing, true, 'the handler can tell that a shutdown began');
    await waitFor(() => s.getStats().pending === 1 && ctxSeen.signal.aborted === false);
    release(`work done, signal aborted: ${ctxSeen.signal.aborted}`);
    assert.strictEqual((await answer).text, '{"ok":true,"result":"work done, signal aborted: false"}');
    await closed;
    assert.strictEqual(ctxSeen.signal.aborted, false, 'an answered call is never aborted');
  });
});

describe('npm start', function () {
  this.timeout(20000);

  // Ctrl-C is a signal here; on Windows child.kill() is TerminateProcess: Unix-only.
  (process.platform === 'win32' ? it.skip : it)('serves the example tasks; the README curl prints {"ok":true,"result":8}; Ctrl-C closes it', async () => {
    const port = await new Promise((resolve) => { const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); }); });
    const lines = [];
    const result = await runChild(`require('./examples/server.js')`, {
      env: { PORT: String(port) },
      onSpawn: (child) => child.stdout.once('data', async () => {
        lines.push((await post(port, '/__runner/task/app.tasks.add', '{"input":{"a":5,"b":3}}')).text);
        lines.push((await post(port, '/__runner/task/app.tasks.greet', { input: { name: 'Ada' } })).text);
        lines.push((await post(port, '/__runner/task/app.tasks.complex', { input: { items: [1, 2, 3] } })).text);
        lines.push((await post(port, '/__runner/event/app.events.notify', { payload: { message: 'hi' } })).text);
        child.kill('SIGINT');
      }),
    });
    assert.deepStrictEqual(lines, [
      '{"ok":true,"result":8}',
      '{"ok":true,"result":"Hello, Ada!"}',
      '{"ok":true,"result":{"count":3,"sum":6}}',
      '{"ok":true}',
    ]);
    assert.strictEqual(result.code, 0, result.stderr);
    assert.strictEqual(result.stdout, `runner-native listening on port ${port}\nnotify: hi\nclosed\n`);
  });
});
