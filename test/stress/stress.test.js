'use strict';
// Long-running reliability tests: `npm run test:stress` (CI runs them too).
// Figures are printed with a "[stress]" prefix; docs/reliability.md quotes them.
const assert = require('assert');
const http = require('http');
const net = require('net');
const path = require('path');
const { Worker } = require('worker_threads');
const { startServer, closeAll, sleep, waitFor, assertError } = require('../helpers');

const rssMB = () => process.memoryUsage().rss / 2 ** 20;
const gc = () => { if (global.gc) { global.gc(); global.gc(); } };
const report = (msg) => console.log(`      [stress] ${msg}`);

/** A request on its own agent (many sockets), resolving with status and text. */
function call(agent, port, path, body) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(body);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('stress', function () {
  this.timeout(300000);
  afterEach(closeAll);

  it('soak: 200,000 mixed requests, every answer checked, RSS drift reported', async () => {
    const s = await startServer({}, (srv) => {
      srv.registerTask('add', async (i) => i.a + i.b);
      srv.registerTask('echo', (i) => i);
      srv.registerTask('fails', () => { throw new Error('nope'); });
      srv.registerEvent('ev', async () => {});
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const kinds = [
      (n) => ['/__runner/task/add', JSON.stringify({ input: { a: n, b: 1 } }), `200 {"ok":true,"result":${n + 1}}`],
      (n) => ['/__runner/task/echo', JSON.stringify({ input: { n, s: 'é😀'.repeat(n % 20) } }), `200 {"ok":true,"result":${JSON.stringify({ n, s: 'é😀'.repeat(n % 20) })}}`],
      (n) => ['/__runner/event/ev', JSON.stringify({ payload: n }), '200 {"ok":true}'],
      () => ['/__runner/task/fails', '{}', '500 {"ok":false,"error":{"code":500,"message":"nope","codeName":"INTERNAL_ERROR"}}'],
      () => ['/__runner/task/missing', '{}', '404 {"ok":false,"error":{"code":404,"message":"Task not found: missing","codeName":"NOT_FOUND"}}'],
      () => ['/__runner/task/add', '{"input":', '400 {"ok":false,"error":{"code":400,"message":"Invalid JSON body: malformed JSON","codeName":"INVALID_JSON"}}'],
    ];
    const total = 200000;
    const concurrency = 128;
    let next = 0;
    let checked = 0;
    let rssStart = 0;
    const began = Date.now();
    const workerLoop = async () => {
      while (next < total) {
        const n = next++;
        const [path, body, want] = kinds[n % kinds.length](n);
        const res = await call(agent, s.port, path, body);
        const got = `${res.status} ${res.text}`;
        if (got !== want) assert.fail(`request ${n}: want ${want} got ${got}`);
        checked++;
        if (checked === 20000) { gc(); rssStart = rssMB(); }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, workerLoop));
    gc();
    const rssEnd = rssMB();
    agent.destroy();
    const secs = (Date.now() - began) / 1000;
    report(`soak: ${checked} answers checked in ${secs.toFixed(1)} s (${Math.round(checked / secs)} req/s); RSS ${rssStart.toFixed(1)} -> ${rssEnd.toFixed(1)} MB after 20k..200k (drift ${(rssEnd - rssStart).toFixed(1)} MB)`);
    assert.strictEqual(checked, total);
    assert.ok(rssEnd - rssStart < 64, `RSS drift ${(rssEnd - rssStart).toFixed(1)} MB`);
    const stats = s.getStats();
    assert.strictEqual(stats.requests, total);
    assert.strictEqual(stats.pending, 0);
  });

  it('overload: 5,000 concurrent requests to a slow handler get only 200 or 503, memory bounded', async () => {
    gc();
    const rss0 = rssMB();
    const s = await startServer({ maxInFlight: 1000 }, (srv) => srv.registerTask('slow', async (i) => { await sleep(200); return i; }));
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const answers = await Promise.all(Array.from({ length: 5000 }, (_, i) => call(agent, s.port, '/__runner/task/slow', JSON.stringify({ input: i }))));
    const counts = {};
    answers.forEach((a, i) => {
      counts[a.status] = (counts[a.status] || 0) + 1;
      if (a.status === 200) assert.strictEqual(a.text, `{"ok":true,"result":${i}}`);
      else assertError({ status: a.status, text: a.text, body: JSON.parse(a.text), headers: { 'content-type': 'application/json; charset=utf-8' } }, 503, 'SERVICE_UNAVAILABLE');
    });
    const peak = rssMB();
    report(`overload: ${JSON.stringify(counts)}; RSS ${rss0.toFixed(1)} -> ${peak.toFixed(1)} MB`);
    assert.deepStrictEqual(Object.keys(counts).sort(), Object.keys(counts).filter((k) => k === '200' || k === '503').sort());
    assert.ok(counts[200] >= 1000, 'the bound admits maxInFlight at once');
    assert.ok(counts[503] > 0, 'the rest is shed');
    assert.ok(peak - rss0 < 400, `RSS grew ${(peak - rss0).toFixed(1)} MB`);
  });

  it('disconnect storm: 2,000 clients vanish mid-handler; nothing leaks', async () => {
    let entered = 0;
    let aborted = 0;
    const s = await startServer({}, (srv) => srv.registerTask('waits', (input, ctx) => new Promise((resolve) => {
      entered++;
      ctx.signal.addEventListener('abort', () => { aborted++; resolve(); });
    })));
    gc();
    const rss0 = rssMB();
    for (let batch = 0; batch < 4; batch++) {
      const socks = await Promise.all(Array.from({ length: 500 }, () => new Promise((resolve) => {
        const sock = net.connect(s.port, '127.0.0.1', () => {
          sock.write('POST /__runner/task/waits HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
          resolve(sock);
        });
        sock.on('error', () => {});
      })));
      await waitFor(() => entered >= (batch + 1) * 500);
      socks.forEach((sock) => sock.destroy());
    }
    // Every signal fired, every call settled and every socket closed on the server side.
    await waitFor(() => aborted === 2000 && s.getStats().pending === 0 && s.getStats().connections === 0);
    gc();
    const rss1 = rssMB();
    const stats = s.getStats();
    report(`disconnect storm: ${aborted} signals fired, ${stats.disconnects} disconnects counted, pending ${stats.pending}, open connections ${stats.connections}; RSS ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB after GC`);
    assert.strictEqual(aborted, 2000);
    assert.strictEqual(stats.pending, 0);
    assert.ok(rss1 - rss0 < 64, `RSS grew ${(rss1 - rss0).toFixed(1)} MB`);
  });

  it('close() with 3,000 requests in flight answers every one of them', async () => {
    let entered = 0;
    const s = await startServer({}, (srv) => srv.registerTask('slow', async (i) => { entered++; await sleep(300); return i; }));
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const inFlight = Array.from({ length: 3000 }, (_, i) => call(agent, s.port, '/__runner/task/slow', JSON.stringify({ input: i })));
    await waitFor(() => entered === 3000);
    const t0 = Date.now();
    await Promise.all([s.close(), ...inFlight]);
    const answers = await Promise.all(inFlight);
    answers.forEach((a, i) => assert.strictEqual(`${a.status} ${a.text}`, `200 {"ok":true,"result":${i}}`));
    report(`close under load: 3000/3000 answered; close() resolved ${Date.now() - t0} ms after being called`);
  });

  it('40 workers terminated with servers open and requests in flight: the process survives', async () => {
    // Found a crash once: a signal delivered during termination made node-addon-api
    // throw into the dying environment, which aborts the process (see CallJs).
    const script = `
      const { parentPort } = require('worker_threads');
      const { TunnelServer } = require(${JSON.stringify(path.resolve(__dirname, '..', '..'))});
      const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
      s.registerTask('who', () => 'w');
      s.registerTask('hang', () => new Promise(() => {}));
      s.listen().then(() => parentPort.postMessage(s.port));`;
    const agent = new http.Agent({ keepAlive: false });
    let answered = 0;
    for (let i = 0; i < 40; i++) {
      const worker = new Worker(script, { eval: true });
      const port = await new Promise((resolve) => worker.once('message', resolve));
      const calls = Array.from({ length: 10 }, (_, j) => call(agent, port, j % 2 ? '/__runner/task/who' : '/__runner/task/hang', '{}')
        .then((res) => { answered++; assert.ok([200, 503].includes(res.status), `status ${res.status}`); }, () => {}));
      // Terminate at varying points of the requests' life: a few event-loop turns, no clock.
      for (let k = 0; k < i % 5; k++) await new Promise((r) => setImmediate(r));
      await worker.terminate();
      await Promise.all(calls);
    }
    report(`worker terminations: 40 workers, ${answered} of 400 requests answered (200 or 503), the rest cut off with their connection`);
  });
});
