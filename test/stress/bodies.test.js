'use strict';
// Request bodies under attack, with the server in a child process (its RSS is its own):
// `npm run test:stress`. Figures are printed with a "[stress]" prefix.
const assert = require('assert');
const net = require('net');
const path = require('path');
const { forkServer } = require('./child');

const MB = 2 ** 20;
const report = (msg) => console.log(`      [stress] ${msg}`);

/** Resolves once check() is true, polling the server's state. */
async function until(check, what) {
  for (let i = 0; i < 60000; i++) {
    if (await check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const protocol of ['seed', 'runner']) {
  describe(`stress: bodies that announce more than they send (${protocol} protocol, server in a child process)`, function () {
    this.timeout(300000);
    let server;
    let port;
    const ask = (what, key) => server.ask(what, key);

    before(async () => {
      server = forkServer(path.join(__dirname, 'body-server.js'), [protocol]);
      ({ port } = await server.next('port'));
    });
    after(() => server && server.stop());

    const route = protocol === 'seed' ? '/__runner/task/echo' : '/__runner/task/echo';

    /** A connection that sends a head announcing 10 MiB of JSON, then 8 KiB of it, and stalls. */
    function stalled() {
      const sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => {});
      sock.write(`POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-runner-token: secret\r\nContent-Length: ${10 * MB}\r\n\r\n`);
      sock.write(Buffer.alloc(8192, 0x20));
      return sock;
    }

    it('150 connections × (a head claiming 10 MiB + 8 KiB of body), 4 waves: server RSS grows < 64 MB', async () => {
      const WAVES = 4;
      const CONNS = 150;
      const before = (await ask('reset', 'reset')).reset;
      const start = (await ask('rss', 'memory')).stats.requests;
      for (let wave = 1; wave <= WAVES; wave++) {
        const socks = [];
        for (let i = 0; i < CONNS; i++) socks.push(stalled());
        // Every request has reached the server's handler, which now waits for the rest.
        await until(async () => (await ask('rss', 'memory')).stats.requests >= start + wave * CONNS, `wave ${wave}'s requests`);
        // The handlers read what was sent (8 KiB each); give every one the chance to
        // grow its buffer before the sockets go: an answer proves nothing here, the
        // server answers only when the body ends. Poll the peak once more.
        await ask('rss', 'memory');
        for (const s of socks) s.destroy();
        await until(async () => (await ask('rss', 'memory')).stats.connections === 0, `wave ${wave}'s connections to close`);
      }
      const { memory, stats } = await ask('rss', 'memory');
      const growthMB = (memory.peak - before.rss) / MB;
      report(`${protocol}: ${WAVES} waves of ${CONNS} stalled 10 MiB bodies (8 KiB sent each): server RSS ${(before.rss / MB).toFixed(0)} MB + peak growth ${growthMB.toFixed(1)} MB`);
      assert.strictEqual(stats.requests - start, WAVES * CONNS);
      assert.ok(growthMB < 64, `RSS grew ${growthMB.toFixed(1)} MB`);
    });
  });
}
