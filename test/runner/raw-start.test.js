'use strict';
/**
 * An application/octet-stream body sent with Content-Length: the task starts as soon as
 * the request is in (its head and the first bytes of its body), as nodeExposure starts it
 * on the head, not once ~8 KiB of the body have arrived; each chunk is handed on as it
 * comes.
 */
const assert = require('assert');
const net = require('net');
const { probe, startApp } = require('./app');

const SIZE = 100000;

describe('runner: a raw body sent with Content-Length', function () {
  this.timeout(30000);

  it('starts the task before most of its body has arrived, as nodeExposure does', async () => {
    const seen = {};
    for (const exposure of ['node', 'native']) {
      const app = await startApp({ exposure, http: { auth: { token: 'secret' } } });
      try {
        const started = new Promise((resolve) => probe.once('raw started', resolve));
        const socket = net.connect(app.port, '127.0.0.1');
        let answer = '';
        socket.on('data', (c) => { answer += c; });
        const ended = new Promise((resolve) => socket.on('close', resolve));
        socket.write(`POST /__runner/task/app.tasks.rawStart HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/octet-stream\r\nConnection: close\r\nContent-Length: ${SIZE}\r\n\r\n`);
        socket.write(Buffer.alloc(100, 1)); // far less than any read-ahead buffer
        await started; // hangs (and the test times out) if the task waits for more
        socket.write(Buffer.alloc(SIZE - 100, 2));
        await ended;
        seen[exposure] = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      } finally {
        await app.runtime.dispose();
      }
    }
    assert.strictEqual(seen.native, seen.node);
    assert.match(seen.node, new RegExp(`"bytes":${SIZE}`));
  });
});
