'use strict';
/**
 * Response hijack (runner's TUNNELS.md): a task that writes its own response through
 * useExposureContext().res (writeHead, setHeader, write, end, req.pipe(res)) gets no
 * envelope, and what it returns afterwards is ignored. Compared with nodeExposure on what
 * the task decides: status, body, content type and its own headers. The one documented
 * difference: runner-native's answer also carries the server's security and CORS headers
 * (X-Content-Type-Options, X-Frame-Options, Vary), which a hijacked Node response lacks.
 */
const assert = require('assert');
const net = require('net');
const { usePair, raw, post } = require('./helpers');

/** What a hijacking task decides of its answer. */
function decided(o) {
  return { status: o.status, body: o.body, contentType: o.headers['content-type'], hijack: o.headers['x-hijack'], chunked: o.headers['transfer-encoding'] };
}

async function both(pair, request) {
  const [node, native] = await Promise.all([pair.node, pair.native].map((app) => raw(app, request.method, request.path, request)));
  assert.deepStrictEqual(decided(native), decided(node), 'nativeExposure answers what the task wrote, as nodeExposure does');
  return { node: decided(node), nativeHeaders: native.headers };
}

describe('runner differential: a task that writes its own response', function () {
  this.timeout(30000);
  const pair = usePair({ http: { auth: { token: 'secret' } } });

  it('writeHead, setHeader, write, end: no envelope, its return ignored', async () => {
    const { node, nativeHeaders } = await both(pair(), post('/__runner/task/app.tasks.hijack', '{}'));
    assert.deepStrictEqual(node, { status: 201, body: 'hello world', contentType: 'text/plain; charset=utf-8', hijack: 'yes', chunked: 'chunked' });
    assert.strictEqual(nativeHeaders['x-content-type-options'], 'nosniff', 'the documented difference');
  });

  it('req.pipe(res): an octet-stream upload echoed through the response, byte-exact', async () => {
    const body = 'abc'.repeat(40000);
    const { node } = await both(pair(), post('/__runner/task/app.tasks.hijackEcho', body, { 'content-type': 'application/octet-stream' }));
    assert.deepStrictEqual([node.status, node.body === body, node.contentType], [200, true, 'application/octet-stream']);
  });

  // nodeExposure leaves such a response open for ever (the client waits for its end until
  // its own timeout); runner-native cuts it, so the client learns at once that it failed.
  it('a task that fails after its head was written: the response is cut, never an envelope after its bytes (native only: nodeExposure leaves it hanging)', async () => {
    const text = await new Promise((resolve, reject) => {
      const socket = net.connect(pair().native.port, '127.0.0.1');
      let data = '';
      socket.on('data', (c) => { data += c; });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.write('POST /__runner/task/app.tasks.hijackThenThrow HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    });
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.ok(text.includes('partial'), text);
    assert.ok(!text.includes('\r\n0\r\n\r\n'), 'no last chunk: the client sees a cut response, not a complete one');
    assert.ok(!text.includes('"ok":false'), 'no envelope once the task answered itself');
  });

  it('a task that never touches res: headersSent false, statusCode 200, the usual envelope', async () => {
    const { node } = await both(pair(), post('/__runner/task/app.tasks.hijackUntouched', '{}'));
    assert.deepStrictEqual([node.status, node.body], [200, { ok: true, result: { headersSent: false, code: 200 } }]);
  });
});
