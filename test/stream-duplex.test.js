'use strict';
/**
 * Issue 16, defect 6: request body and streamed answer flow at the same time (full
 * duplex, as node:http does). A handler that streams its upload back, as is or through
 * a transform, used to stall for ever once its answer started: nothing read the rest of
 * the body any more.
 */
const assert = require('assert');
const crypto = require('crypto');
const http = require('http');
const zlib = require('zlib');
const { Readable } = require('stream');
const { startServer, closeAll, waitFor } = require('./helpers');

/** POSTs data (octet-stream) in pieces while reading the answer; resolves with both ends. */
function duplex(port, id, data, { gunzip = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/__runner/task/${id}`, headers: { 'content-type': 'application/octet-stream', 'content-length': data.length } }, (res) => {
      const chunks = [];
      const body = gunzip ? res.pipe(zlib.createGunzip()) : res;
      body.on('data', (c) => chunks.push(c));
      body.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      body.on('error', reject);
    });
    req.on('error', reject);
    Readable.from((function* pieces() {
      for (let at = 0; at < data.length; at += 65536) yield data.subarray(at, at + 65536);
    })()).pipe(req);
  });
}

describe('full duplex: a streamed answer while the upload still arrives', function () {
  this.timeout(60000);
  afterEach(closeAll);

  it('a handler that streams its 2 MiB upload back (ctx.body as the answer) answers it byte for byte', async () => {
    const s = await startServer({}, (srv) => srv.registerTask('echo', (input, ctx) => ctx.body));
    const data = crypto.randomBytes(2 * 1024 * 1024);
    const res = await duplex(s.port, 'echo', data);
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.headers['transfer-encoding'], 'chunked');
    assert.strictEqual(res.body.length, data.length);
    assert.ok(res.body.equals(data), 'the echo is byte-exact');
    await waitFor(() => s.getStats().pending === 0);
  });

  it('a transform (gzip) of the upload streams back as the upload arrives', async () => {
    const s = await startServer({}, (srv) => srv.registerTask('gzip', (input, ctx) => ctx.body.pipe(zlib.createGzip())));
    const data = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 12)) & 255;
    const res = await duplex(s.port, 'gzip', data, { gunzip: true });
    assert.strictEqual(res.status, 200);
    assert.ok(res.body.equals(data), 'the gunzipped answer is the upload');
    await waitFor(() => s.getStats().pending === 0);
  });

  it('a handler that streams an answer without reading its upload is answered whole, and the upload is not read on (bounded)', async () => {
    let produced = 0;
    const s = await startServer({}, (srv) => srv.registerTask('ignore', () => new Readable({
      read() { if (produced >= 1024 * 1024) this.push(null); else { produced += 65536; this.push(Buffer.alloc(65536, 0x41)); } },
    })));
    const answer = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/__runner/task/ignore', headers: { 'content-type': 'application/octet-stream', 'content-length': 64 * 1024 * 1024 } }, (res) => {
        let bytes = 0;
        res.on('data', (c) => { bytes += c.length; });
        res.on('end', () => resolve({ status: res.statusCode, bytes, connection: res.headers.connection }));
        res.on('error', reject);
      });
      req.on('error', () => {}); // the server closes the connection with the upload unread
      req.write(Buffer.alloc(256 * 1024)); // a quarter of a MiB of the 64 announced
    });
    assert.deepStrictEqual(answer, { status: 200, bytes: 1024 * 1024, connection: 'close' });
    await waitFor(() => s.getStats().pending === 0);
  });

  it('a client that goes away mid-echo ends the stream and the upload, and fires the signal', async () => {
    let reason;
    const s = await startServer({}, (srv) => srv.registerTask('echo', (input, ctx) => {
      ctx.signal.addEventListener('abort', () => { reason = ctx.signal.reason.code; });
      return ctx.body;
    }));
    const req = http.request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/__runner/task/echo', headers: { 'content-type': 'application/octet-stream', 'content-length': 8 * 1024 * 1024 } });
    req.on('error', () => {});
    const got = await new Promise((resolve) => {
      req.on('response', (res) => {
        let bytes = 0;
        res.on('data', (c) => { bytes += c.length; if (bytes >= 128 * 1024) { req.destroy(); resolve(bytes); } });
        res.on('error', () => {});
      });
      req.write(Buffer.alloc(512 * 1024, 0x42));
    });
    assert.ok(got >= 128 * 1024);
    await waitFor(() => reason && s.getStats().pending === 0);
    assert.strictEqual(reason, 'CLIENT_DISCONNECTED');
  });

  it('several echoes at once, each gets its own bytes back', async () => {
    const s = await startServer({}, (srv) => srv.registerTask('echo', (input, ctx) => ctx.body));
    const uploads = Array.from({ length: 6 }, (_, i) => crypto.randomBytes(512 * 1024 + i * 4099));
    const answers = await Promise.all(uploads.map((data) => duplex(s.port, 'echo', data)));
    answers.forEach((res, i) => assert.ok(res.body.equals(uploads[i]), `echo ${i} is byte-exact`));
    await waitFor(() => s.getStats().pending === 0);
  });
});
