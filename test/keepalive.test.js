'use strict';
/**
 * Keep-alive as Node's server announces it: an HTTP/1.1 answer on a connection that stays
 * open carries `Connection: keep-alive` and `Keep-Alive: timeout=<idle seconds>`, so that
 * clients (undici, Node's agent) stop reusing a connection before the server closes it.
 * An answer on a connection that closes says `Connection: close` and nothing else.
 */
const assert = require('assert');
const http = require('http');
const { startServer, closeAll, rawExchange } = require('./helpers');
const { startApp } = require('./runner/app');

/** One request over a keep-alive agent; resolves with the answer's status and hop-by-hop headers. */
function call(port, path, headers = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve, reject) => {
    http.request({ host: '127.0.0.1', port, method: 'POST', path, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => {
        agent.destroy();
        resolve({ status: res.statusCode, connection: res.headers.connection, keepAlive: res.headers['keep-alive'] });
      });
    }).on('error', reject).end('{}');
  });
}

describe('keep-alive announcement', () => {
  afterEach(closeAll);

  const cases = [
    ['a keep-alive request, default idle timeout (30 s)', {}, {}, { status: 200, connection: 'keep-alive', keepAlive: 'timeout=30' }],
    ['idleTimeoutMs 5000, as Node\'s default keepAliveTimeout', { idleTimeoutMs: 5000 }, {}, { status: 200, connection: 'keep-alive', keepAlive: 'timeout=5' }],
    ['idleTimeoutMs under a second: timeout=1', { idleTimeoutMs: 500 }, {}, { status: 200, connection: 'keep-alive', keepAlive: 'timeout=1' }],
    ['a request that asks to close', {}, { connection: 'close' }, { status: 200, connection: 'close', keepAlive: undefined }],
  ];
  for (const [name, config, headers, expected] of cases) {
    it(`${name}: ${JSON.stringify(expected)}`, async () => {
      const s = await startServer(config, (srv) => srv.registerTask('ok', () => 1));
      assert.deepStrictEqual(await call(s.port, '/__runner/task/ok', headers), expected);
    });
  }

  it('an error answer on a connection that stays open announces it too (404)', async () => {
    const s = await startServer({}, () => {});
    assert.deepStrictEqual(await call(s.port, '/__runner/task/missing'), { status: 404, connection: 'keep-alive', keepAlive: 'timeout=30' });
  });

  it('an HTTP/1.0 request gets no Keep-Alive timeout (Node sends none either without its keep-alive)', async () => {
    const s = await startServer({}, (srv) => srv.registerTask('ok', () => 1));
    const text = await rawExchange(s.port, 'POST /__runner/task/ok HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}', 1);
    assert.match(text, /^HTTP\/1\.[01] 200/);
    assert.doesNotMatch(text, /\r\nkeep-alive:/i);
  });

  it('runner: nativeExposure announces what nodeExposure does (its idle timeout defaults to Node\'s keepAliveTimeout, 5 s)', async () => {
    const seen = {};
    for (const exposure of ['node', 'native']) {
      const app = await startApp({ exposure, http: { auth: { token: 'secret' } } });
      try {
        seen[exposure] = await call(app.port, '/__runner/task/app.tasks.add', { 'x-runner-token': 'secret' });
      } finally {
        await app.runtime.dispose();
      }
    }
    assert.deepStrictEqual(seen.native, seen.node);
    assert.deepStrictEqual(seen.node, { status: 200, connection: 'keep-alive', keepAlive: 'timeout=5' });
  });
});
