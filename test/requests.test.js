'use strict';
/**
 * Operating it (issue 18, point 5): onRequests, the access records Go makes of every
 * answered request, delivered in batches; getStats().latency, the histogram of how long
 * answers took. Real servers on 127.0.0.1, real clients; every wait polls on state.
 */
const assert = require('assert');
const crypto = require('crypto');
const http = require('http');
const { Readable } = require('stream');
const { startServer, closeAll, waitFor, post } = require('./helpers');

/** A POST on a connection of its own; resolves with the answer and the client's port. */
function postFrom(port, path, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent: false, headers: { 'content-type': contentType, 'content-length': payload.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), localPort }));
    });
    let localPort;
    req.on('socket', (s) => s.on('connect', () => { localPort = s.localPort; }));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A server whose onRequests keeps every record and batch. */
async function recordingServer(setup, extra = {}) {
  const records = [];
  const batches = [];
  const s = await startServer({ onRequests: (batch, info) => { batches.push({ size: batch.length, info }); records.push(...batch); }, ...extra }, setup);
  return { s, records, batches };
}

describe('onRequests: a record of every answered request', function () {
  this.timeout(60000);
  afterEach(closeAll);

  it('records a call, a refusal, a streamed answer and a full-duplex echo, each with its status, kind, id, bytes, client and duration', async () => {
    const { s, records } = await recordingServer((srv) => {
      srv.registerTask('add', ({ a, b }) => a + b);
      srv.registerTask('stream', () => Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(3000, 3)]));
      srv.registerTask('echo', (input, ctx) => ctx.body);
      srv.registerEvent('ping', () => undefined);
    });
    const t0 = Date.now();
    const addBody = JSON.stringify({ input: { a: 2, b: 3 } });
    const call = await postFrom(s.port, '/__runner/task/add?trace=1', addBody);
    const missing = await postFrom(s.port, '/__runner/task/nope', '{}');
    const stream = await postFrom(s.port, '/__runner/task/stream', '{}');
    const upload = crypto.randomBytes(300 * 1024);
    const echo = await postFrom(s.port, '/__runner/task/echo', upload, 'application/octet-stream');
    const event = await postFrom(s.port, '/__runner/event/ping', '{}');
    assert.deepStrictEqual([call.status, missing.status, stream.status, echo.status, event.status], [200, 404, 200, 200, 200]);
    assert.ok(echo.body.equals(upload), 'the echo came back whole');

    await waitFor(() => records.length >= 5);
    const byPath = Object.fromEntries(records.map((r) => [r.path, r]));
    const cases = [
      // [path, expected fields, the answer it describes]
      ['/__runner/task/add', { method: 'POST', kind: 'task', id: 'add', status: 200, bytesIn: addBody.length, bytesOut: call.body.length, remotePort: call.localPort }],
      // Refused before its body was read: bytesIn counts what the server read.
      ['/__runner/task/nope', { method: 'POST', kind: undefined, id: undefined, status: 404, bytesIn: 0, bytesOut: missing.body.length, remotePort: missing.localPort }],
      ['/__runner/task/stream', { kind: 'task', id: 'stream', status: 200, bytesIn: 2, bytesOut: 6000, remotePort: stream.localPort }],
      ['/__runner/task/echo', { kind: 'task', id: 'echo', status: 200, bytesIn: upload.length, bytesOut: upload.length, remotePort: echo.localPort }],
      ['/__runner/event/ping', { kind: 'event', id: 'ping', status: 200, bytesOut: event.body.length }],
    ];
    for (const [path, expected] of cases) {
      const rec = byPath[path];
      assert.ok(rec, `a record for ${path} (the path without its query)`);
      for (const [k, v] of Object.entries(expected)) assert.strictEqual(rec[k], v, `${path}: ${k}`);
      assert.strictEqual(rec.remoteAddress, '127.0.0.1', path);
      assert.strictEqual(rec.requestId, undefined, 'the seed protocol has no request id');
      assert.ok(rec.time >= t0 - 1 && rec.time <= Date.now(), `${path}: time is when it was read`);
      // At least 0: a coarse clock (Windows under Wine) can make a fast answer take 0 ms.
      assert.ok(rec.durationMs >= 0 && rec.durationMs < 60000, `${path}: a duration`);
    }
  });

  it('runner protocol: the record carries the request id the client sent, or the one generated', async () => {
    const { s, records } = await recordingServer((srv) => srv.registerTask('t', () => 1), { protocol: 'runner', auth: { allowAnonymous: true } });
    const sent = await post(s.port, '/__runner/task/t', { input: 1 }, { 'x-runner-request-id': 'req-42' });
    const generated = await post(s.port, '/__runner/task/t', { input: 1 });
    assert.strictEqual(sent.status, 200);
    await waitFor(() => records.length >= 2);
    assert.deepStrictEqual(records.map((r) => r.requestId), ['req-42', generated.headers['x-runner-request-id']]);
  });

  it('records still waiting when close() begins reach the hook before close() resolves', async () => {
    const { s, records } = await recordingServer((srv) => srv.registerTask('n', (i) => i));
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post(s.port, '/__runner/task/n', { input: i })));
    assert.ok(answers.every((a) => a.status === 200));
    await s.close();
    assert.strictEqual(records.length, 40, 'nothing lost on shutdown');
    assert.strictEqual(s.getStats().recordsDropped, 0);
  });

  it('a hook that throws becomes a process warning; the server answers and records on', async () => {
    let calls = 0;
    const warnings = [];
    const onWarning = (w) => warnings.push(String(w.message));
    process.on('warning', onWarning);
    try {
      const s = await startServer({ onRequests: () => { calls++; throw new Error('logger down'); } }, (srv) => srv.registerTask('n', (i) => i));
      assert.strictEqual((await post(s.port, '/__runner/task/n', { input: 1 })).status, 200);
      await waitFor(() => warnings.some((m) => m.includes('onRequests threw: logger down')));
      assert.strictEqual((await post(s.port, '/__runner/task/n', { input: 2 })).body.result, 2);
      await waitFor(() => calls >= 2);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('is checked like every option: a value that is not a function is refused, naming it', () => {
    const { TunnelServer } = require('..');
    assert.throws(() => new TunnelServer({ port: 0, onRequests: 'log' }), (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE' && /onRequests must be a function/.test(err.message));
  });
});

describe('getStats().latency: how long answers took', function () {
  this.timeout(60000);
  afterEach(closeAll);

  it('counts every answered request in its bucket, with or without onRequests, and keeps the counts after close()', async () => {
    const s = await startServer({}, (srv) => srv.registerTask('n', (i) => i));
    const empty = s.getStats().latency;
    assert.deepStrictEqual(empty.boundsMs, [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]);
    assert.strictEqual(empty.counts.length, empty.boundsMs.length + 1, 'one bucket past the last bound');
    assert.deepStrictEqual([empty.count, empty.sumMs], [0, 0]);
    for (let i = 0; i < 10; i++) assert.strictEqual((await post(s.port, '/__runner/task/n', { input: i })).status, 200);
    assert.strictEqual((await post(s.port, '/__runner/task/missing', {})).status, 404);
    const { latency, recordsDropped } = s.getStats();
    assert.strictEqual(latency.count, 11, 'calls and refusals alike');
    assert.strictEqual(latency.counts.reduce((a, b) => a + b, 0), 11);
    // Windows' clock (under Wine) can be too coarse to see these fast answers take any time.
    assert.ok(process.platform === 'win32' ? latency.sumMs >= 0 : latency.sumMs > 0);
    assert.strictEqual(recordsDropped, 0);
    await s.close();
    const after = s.getStats().latency;
    assert.strictEqual(after.count, 11, 'the final counts stay readable after close()');
    after.counts[0] = -1;
    assert.notStrictEqual(s.getStats().latency.counts[0], -1, 'each call gets its own copy');
  });

  it('counts a streamed answer when its stream ends, not when its head is sent', async () => {
    let finish;
    const s = await startServer({}, (srv) => srv.registerTask('slow', () => new Readable({
      read() {
        if (finish) return;
        this.push('head');
        finish = () => this.push(null);
      },
    })));
    const answer = new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/__runner/task/slow', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      });
      req.on('error', reject);
      req.end('{}');
    });
    await waitFor(() => finish);
    await waitFor(() => s.getStats().inFlight === 0 && s.getStats().status2xx === 1); // its head was answered
    assert.strictEqual(s.getStats().latency.count, 0, 'the stream is still open: not counted yet');
    finish();
    assert.strictEqual(await answer, 'head');
    await waitFor(() => s.getStats().latency.count === 1);
  });
});
