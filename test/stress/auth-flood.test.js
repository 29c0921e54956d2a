'use strict';
// A flood of unauthenticated requests (issue 16, defect 2), with the server in a child
// process (its RSS is its own): `npm run test:stress`. Go answers each 401 at once and
// tells JavaScript, which logs it as runner does; those notices must stay bounded and
// never delay the calls that follow. Figures are printed with a "[stress]" prefix.
const assert = require('assert');
const http = require('http');
const net = require('net');
const path = require('path');
const { forkServer } = require('./child');

const MB = 2 ** 20;
const report = (msg) => console.log(`      [stress] ${msg}`);

const FLOOD_MS = 8000; // the flood's length...
const FLOOD_MAX = 1500000; // ...or its count, whichever comes first
const SOCKETS = 8; // keep-alive connections
const BATCH = 64; // requests pipelined per write
const REQUEST = Buffer.from('POST /__runner/task/flood.ping HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');

/**
 * One flooding connection: writes BATCH pipelined requests without a token, waits for
 * their BATCH answers, again, until more() says stop. Resolves with the statuses seen.
 */
function floodSocket(port, more) {
  return new Promise((resolve, reject) => {
    const seen = { 401: 0, other: 0 };
    const batch = Buffer.concat(Array.from({ length: BATCH }, () => REQUEST));
    const socket = net.connect(port, '127.0.0.1');
    let waiting = 0;
    let tail = '';
    const send = () => {
      if (!more(BATCH)) { socket.end(); return; }
      waiting = BATCH;
      socket.write(batch);
    };
    socket.on('connect', send);
    socket.setEncoding('latin1');
    socket.on('data', (text) => {
      // Count status lines; keep a tail in case one is split between two reads.
      const all = tail + text;
      let at = 0;
      for (;;) {
        const i = all.indexOf('HTTP/1.1 ', at);
        if (i < 0 || i + 12 > all.length) break;
        if (all.startsWith('401', i + 9)) seen[401]++; else seen.other++;
        waiting--;
        at = i + 12;
      }
      tail = all.slice(Math.max(at, all.length - 11));
      if (waiting === 0) send();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(seen));
  });
}

/** One authenticated call on a fresh connection; resolves with its status, body and time taken. */
function authenticatedCall(port) {
  return new Promise((resolve, reject) => {
    const began = process.hrtime.bigint();
    const body = '{"input":null}';
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/__runner/task/flood.ping', agent: false, headers: { 'x-runner-token': 'secret', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text, ms: Number(process.hrtime.bigint() - began) / 1e6 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('stress: auth failure flood (server in a child process)', function () {
  this.timeout(300000);
  let server;
  let port;
  const ask = (what, key) => server.ask(what, key).then((m) => m[key]);

  before(async () => {
    server = forkServer(path.join(__dirname, 'auth-flood-server.js'));
    ({ port } = await server.next('port'));
  });
  after(() => server && server.stop());

  it(`${SOCKETS} keep-alive connections pipelining requests without a token for ${FLOOD_MS / 1000} s: server RSS grows < 64 MB, an authenticated call after it is answered within 1 s, every failure counted and logged`, async () => {
    const warm = await authenticatedCall(port);
    assert.strictEqual(warm.status, 200, warm.text);
    const before = await ask('reset', 'reset');
    const began = Date.now();
    let sent = 0;
    const more = (n) => {
      if (Date.now() - began >= FLOOD_MS || sent + n > FLOOD_MAX) return false;
      sent += n;
      return true;
    };
    const results = await Promise.all(Array.from({ length: SOCKETS }, () => floodSocket(port, more)));
    // The flood is over (every request answered): the next call must not wait behind it.
    const call = await authenticatedCall(port);
    const after = await ask('rss', 'memory');
    const refused = results.reduce((n, r) => n + r[401], 0);
    const others = results.reduce((n, r) => n + r.other, 0);
    const growthMB = (after.peak - before.rss) / MB;
    const secs = (Date.now() - began) / 1000;
    report(`auth flood: ${refused} 401s in ${FLOOD_MS / 1000} s over ${SOCKETS} connections; server RSS ${(before.rss / MB).toFixed(1)} MB, peak +${growthMB.toFixed(1)} MB; authenticated call after it answered in ${call.ms.toFixed(1)} ms; ${after.logs.failures} auth failure logs so far (${secs.toFixed(1)} s)`);
    assert.strictEqual(others, 0, 'every flood request is answered 401');
    assert.strictEqual(refused, sent);
    assert.strictEqual(call.status, 200, call.text);
    assert.ok(call.ms < 1000, `the authenticated call waited ${call.ms.toFixed(1)} ms`);
    assert.ok(growthMB < 64, `server RSS grew ${growthMB.toFixed(1)} MB`);
    assert.strictEqual(after.stats.authFailures, refused, 'getStats().authFailures counts every failure');
    // Every failure reaches the log: one by one, or coalesced as "more" on a log line.
    let logs = after.logs;
    while (logs.reported < refused) logs = (await ask('rss', 'memory')).logs;
    assert.strictEqual(logs.reported, refused);
    assert.ok(logs.failures <= refused);
    report(`auth flood: ${logs.failures} log lines for ${refused} failures`);
  });
});
