'use strict';
/**
 * Issue 16, defect 1, written as the attacker did it: clients that half-close and read
 * slowly must receive only the bytes of their own streamed answer, never the bytes of
 * other clients' answers streamed at the same time (a ring given back to the pool while
 * a write of it was blocked carried them before).
 */
const assert = require('assert');
const { Readable } = require('stream');
const { startServer, closeAll, waitFor } = require('./helpers');
const { streamClient } = require('./stream-clients');

/** A stream of `total` bytes of `byte`, in pieces of 64 KiB. */
function filled(byte, total) {
  let left = total;
  return new Readable({
    read() {
      if (left === 0) { this.push(null); return; }
      const n = Math.min(left, 65536);
      left -= n;
      this.push(Buffer.alloc(n, byte));
    },
  });
}

describe('streamed answers stay with their client', function () {
  this.timeout(120000);
  afterEach(closeAll);

  it('8 half-closed slow readers asking for P bytes get only P bytes while others download S bytes', async () => {
    const s = await startServer({}, (srv) => {
      srv.registerTask('p', () => filled(0x50, 16 * 2 ** 20));
      srv.registerTask('s', () => filled(0x53, 2 ** 20));
    });
    const attackers = [];
    // Each attacker half-closes once its answer has started, then reads slowly: the server
    // takes it for gone while writes to it are blocked, the moment the ring was reused. (A
    // FIN sent with the request may be taken for a disconnect before any byte is written,
    // which exercises nothing here: the test's check that each attacker got part of its
    // answer then failed on a loaded machine.) The stress test also half-closes at once.
    for (let i = 0; i < 8; i++) {
      attackers.push(streamClient(s.port, 'POST /__runner/task/p HTTP/1.1', '{}', 'P', { halfClose: 'afterFirstBytes', slow: true }));
    }
    // Slow reading: one piece per attacker every few milliseconds (pacing only; nothing
    // below waits on time).
    const pace = setInterval(() => attackers.forEach((a) => a.tick()), 5);
    let attacking = true;
    const downloads = [];
    const downloader = async () => {
      // Downloads of S bytes, one after another, while the attack lasts (at most 60).
      for (let n = 0; attacking && n < 60; n++) {
        const d = await streamClient(s.port, 'POST /__runner/task/s HTTP/1.1', '{}', 'S').done;
        downloads.push(d);
      }
    };
    const all = Promise.all(Array.from({ length: 8 }, downloader));
    const got = await Promise.all(attackers.map((a) => a.done));
    attacking = false;
    clearInterval(pace);
    await all;
    for (const [i, g] of got.entries()) {
      assert.strictEqual(g.bad, null, `attacker ${i}: ${g.bad}`);
      assert.strictEqual(g.foreign, 0, `attacker ${i} received ${g.foreign} bytes not of its own answer (first: ${JSON.stringify(g.firstForeign)})`);
      assert.ok(g.bytes > 0, `attacker ${i} received part of its answer`);
      assert.ok(!g.complete, `attacker ${i} was taken for gone and cut`);
    }
    for (const d of downloads) {
      assert.strictEqual(d.bad, null, d.bad);
      assert.strictEqual(d.foreign, 0, `a download received ${d.foreign} bytes not of its own answer`);
      assert.ok(d.complete && d.bytes === 2 ** 20, `a download was complete (${d.bytes} bytes)`);
    }
    // Each attacker was counted as one disconnect, and nothing is left held.
    await waitFor(() => s.getStats().disconnects === 8 && s.getStats().pending === 0);
  });
});
