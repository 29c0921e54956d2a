'use strict';
/**
 * Issue 16, defect 9: HTTP/1.0 has no chunked transfer coding (RFC 9112 §6.1). A
 * streamed answer to an HTTP/1.0 request is delimited by the connection's close, as
 * node:http does: no Transfer-Encoding, no Content-Length, Connection: close.
 */
const assert = require('assert');
const crypto = require('crypto');
const net = require('net');
const { Readable } = require('stream');
const { startServer, closeAll, waitFor } = require('./helpers');

/** Sends raw bytes and collects everything until the server closes the connection. */
function untilClose(port, bytes) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

function split(raw) {
  const at = raw.indexOf('\r\n\r\n');
  return { head: raw.subarray(0, at).toString('latin1'), body: raw.subarray(at + 4) };
}

describe('HTTP/1.0 and streamed answers', function () {
  this.timeout(60000);
  afterEach(closeAll);

  const big = crypto.randomBytes(3 * 1024 * 1024 + 7);
  const setup = (srv) => {
    srv.registerTask('dl', () => Readable.from((function* pieces() {
      for (let at = 0; at < big.length; at += 50000) yield big.subarray(at, at + 50000);
    })()));
    srv.registerTask('echo', (input, ctx) => ctx.body);
  };

  it('an HTTP/1.0 request gets its stream close-delimited, byte for byte, and the connection closed', async () => {
    const s = await startServer({}, setup);
    const raw = await untilClose(s.port, 'POST /__runner/task/dl HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    const { head, body } = split(raw);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.doesNotMatch(head, /content-length/i);
    assert.match(head, /\r\nconnection: close/i);
    assert.ok(body.equals(big), `the body is the stream's bytes (${body.length} of ${big.length})`);
    await waitFor(() => s.getStats().pending === 0);
  });

  it('an HTTP/1.0 keep-alive request is still answered close-delimited (a stream has no length to announce)', async () => {
    const s = await startServer({}, setup);
    const raw = await untilClose(s.port, 'POST /__runner/task/dl HTTP/1.0\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    const { head, body } = split(raw);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.match(head, /\r\nconnection: close/i);
    assert.ok(body.equals(big));
  });

  it('an HTTP/1.0 upload echoed back streams close-delimited too (full duplex)', async () => {
    const s = await startServer({}, setup);
    const data = crypto.randomBytes(1024 * 1024);
    const raw = await untilClose(s.port, Buffer.concat([Buffer.from(`POST /__runner/task/echo HTTP/1.0\r\nContent-Type: application/octet-stream\r\nContent-Length: ${data.length}\r\n\r\n`), data]));
    const { head, body } = split(raw);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.ok(body.equals(data));
    await waitFor(() => s.getStats().pending === 0);
  });

  it('HTTP/1.1 keeps chunked streams', async () => {
    const s = await startServer({}, setup);
    const raw = await new Promise((resolve, reject) => {
      const socket = net.connect(s.port, '127.0.0.1');
      const chunks = [];
      socket.on('connect', () => socket.write('POST /__runner/task/dl HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'));
      socket.on('data', (c) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    assert.match(split(raw).head, /\r\ntransfer-encoding: chunked/i);
  });
});
