'use strict';
const assert = require('assert');
const net = require('net');
const { startServer, closeAll, post, request, waitFor, TunnelServer } = require('./helpers');
const { HandlerError } = require('..');

describe('TunnelServer API', () => {
  afterEach(closeAll);

  describe('constructor', () => {
    it('rejects a missing or non-object config with a TypeError', () => {
      assert.throws(() => new TunnelServer(), { name: 'TypeError', message: /config must be an object/ });
      assert.throws(() => new TunnelServer(7070), TypeError);
    });

    it('validates port: integer (TypeError) between 0 and 65535 (RangeError)', () => {
      assert.throws(() => new TunnelServer({}), { name: 'TypeError', message: /config\.port must be an integer/ });
      assert.throws(() => new TunnelServer({ port: '7070' }), { name: 'TypeError', message: /config\.port/ });
      assert.throws(() => new TunnelServer({ port: 1.5 }), { name: 'TypeError', message: /config\.port/ });
      assert.throws(() => new TunnelServer({ port: -1 }), { name: 'RangeError', message: /config\.port must be between 0 and 65535/ });
      assert.throws(() => new TunnelServer({ port: 65536 }), { name: 'RangeError', message: /config\.port/ });
      assert.ok(new TunnelServer({ port: 0 }));
      assert.ok(new TunnelServer({ port: 65535 }));
    });

    it('validates basePath, corsOrigins and the limits, naming the field', () => {
      assert.throws(() => new TunnelServer({ port: 0, basePath: 5 }), { name: 'TypeError', message: /config\.basePath/ });
      assert.throws(() => new TunnelServer({ port: 0, basePath: '/a?b' }), { name: 'RangeError', message: /config\.basePath/ });
      assert.throws(() => new TunnelServer({ port: 0, corsOrigins: '*' }), { name: 'TypeError', message: /config\.corsOrigins/ });
      assert.throws(() => new TunnelServer({ port: 0, corsOrigins: [''] }), { name: 'TypeError', message: /config\.corsOrigins/ });
      assert.throws(() => new TunnelServer({ port: 0, maxBodySize: 0 }), { name: 'RangeError', message: /config\.maxBodySize/ });
      assert.throws(() => new TunnelServer({ port: 0, maxBodySize: '1' }), { name: 'TypeError', message: /config\.maxBodySize/ });
      assert.throws(() => new TunnelServer({ port: 0, idleTimeoutMs: -1 }), { name: 'RangeError', message: /config\.idleTimeoutMs/ });
    });

    it('reduceMemoryUsage must be a boolean; with it on, keep-alive connections still serve in order', async () => {
      assert.throws(() => new TunnelServer({ port: 0, reduceMemoryUsage: 'yes' }), { name: 'TypeError', message: /config\.reduceMemoryUsage/ });
      const server = await startServer({ reduceMemoryUsage: true }, (s) => s.registerTask('n', (i) => i));
      for (let i = 0; i < 20; i++) {
        assert.strictEqual((await post(server.port, '/__runner/task/n', { input: i })).text, `{"ok":true,"result":${i}}`);
      }
    });

    it('refuses a key no option has, naming it (a misspelt limit must not be ignored)', () => {
      assert.throws(() => new TunnelServer({ port: 0, maxBodySise: 1024 }), {
        name: 'TypeError', code: 'ERR_UNKNOWN_OPTION', field: 'maxBodySise',
        message: 'TunnelServer: config.maxBodySise is not an option; did you mean config.maxBodySize?',
      });
      assert.throws(() => new TunnelServer({ port: 0, auth: { tokens: ['a'] } }), { code: 'ERR_UNKNOWN_OPTION', message: /config\.auth\.tokens is not an option; did you mean config\.auth\.token\?/ });
      assert.throws(() => new TunnelServer({ port: 0, cors: { orgin: 'https://app.example' } }), { code: 'ERR_UNKNOWN_OPTION', message: /config\.cors\.orgin .*config\.cors\.origin/ });
      assert.throws(() => new TunnelServer({ port: 0, listen: { port: 1 } }), { code: 'ERR_UNKNOWN_OPTION', message: /config\.listen is not an option \(known: protocol, port, host, / });
      // An explicit undefined is absent, as for known keys (spread optional members).
      assert.ok(new TunnelServer({ port: 0, somethingElse: undefined }));
      // multipart is handed to busboy as runner hands it, and busboy ignores what it does not know.
      assert.ok(new TunnelServer({ port: 0, multipart: { files: 1, preservePath: true } }));
    });

    it("config errors carry Node's codes: ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, ERR_INVALID_ARG_VALUE", () => {
      assert.throws(() => new TunnelServer(), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => new TunnelServer({ port: '80' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', field: 'port' });
      assert.throws(() => new TunnelServer({ port: 0, maxBodySize: 0 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', field: 'maxBodySize' });
      assert.throws(() => new TunnelServer({ port: 0, multipart: { files: -1 } }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', field: 'multipart.files' });
      assert.throws(() => new TunnelServer({ port: 0, protocol: 'grpc' }), { name: 'RangeError', code: 'ERR_INVALID_ARG_VALUE', field: 'protocol' });
      assert.throws(() => new TunnelServer({ port: 0, corsOrigins: ['*'], cors: {} }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', field: 'cors' });
      const cyclic = { port: 0 };
      cyclic.self = cyclic;
      assert.throws(() => new TunnelServer(cyclic), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /config could not be read/ });
    });

    it('normalises basePath to one leading slash and no trailing slash', async () => {
      const server = await startServer({ basePath: 'api/v1/' }, (s) => s.registerTask('t', () => 1));
      assert.strictEqual((await post(server.port, '/api/v1/task/t', {})).text, '{"ok":true,"result":1}');
      const root = await startServer({ basePath: '/' }, (s) => s.registerTask('t', () => 2));
      assert.strictEqual((await post(root.port, '/task/t', {})).text, '{"ok":true,"result":2}');
    });
  });

  describe('registerTask / registerEvent', () => {
    it('rejects non-function handlers and empty ids with a TypeError', () => {
      const s = new TunnelServer({ port: 0 });
      assert.throws(() => s.registerTask('a', null), { name: 'TypeError', message: /must be a function/ });
      assert.throws(() => s.registerTask('a', {}), TypeError);
      assert.throws(() => s.registerEvent('a', 'nope'), { name: 'TypeError', message: /must be a function/ });
      assert.throws(() => s.registerTask('', () => {}), { name: 'TypeError', message: /taskId/ });
      assert.throws(() => s.registerEvent(42, () => {}), { name: 'TypeError', message: /eventId/ });
    });

    it('lists ids in registration order; registering again replaces without duplicating', async () => {
      const s = new TunnelServer({ port: 0 });
      s.registerTask('b', () => 1);
      s.registerTask('a', () => 1);
      s.registerTask('b', () => 2);
      s.registerEvent('e', () => {});
      assert.deepStrictEqual(await s.getTaskIds(), ['b', 'a']);
      assert.deepStrictEqual(await s.getEventIds(), ['e']);
      assert.ok(s.getTaskIds() instanceof Promise);
    });

    it('a replaced handler answers from then on, also while listening', async () => {
      const server = await startServer({}, (s) => s.registerTask('v', () => 'old'));
      assert.strictEqual((await post(server.port, '/__runner/task/v', {})).body.result, 'old');
      server.registerTask('v', () => 'new');
      assert.strictEqual((await post(server.port, '/__runner/task/v', {})).body.result, 'new');
    });

    it('a handler registered after listen() is served and listed in discovery at once', async () => {
      const server = await startServer();
      assert.strictEqual((await post(server.port, '/__runner/task/late', {})).status, 404);
      server.registerTask('late', (input) => input * 2);
      server.registerEvent('late.event', () => {});
      assert.strictEqual((await post(server.port, '/__runner/task/late', { input: 21 })).text, '{"ok":true,"result":42}');
      const discovery = await request(server.port, 'GET', '/__runner/discovery');
      assert.deepStrictEqual(discovery.body.result.allowList, { enabled: true, tasks: ['late'], events: ['late.event'] });
    });
  });

  describe('listen / close / port', () => {
    it('port is null before listen, the bound port while listening (port 0 picks one), null after close', async () => {
      const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
      assert.strictEqual(s.port, null);
      await s.listen();
      assert.ok(Number.isInteger(s.port) && s.port > 0);
      await s.close();
      assert.strictEqual(s.port, null);
    });

    it('address() is Node\'s server.address(): null before listen and after close, { address, family, port } while listening', async () => {
      const cases = [
        [{ host: '127.0.0.1' }, '127.0.0.1', 'IPv4', () => new Promise((r) => { const n = require('http').createServer().listen(0, '127.0.0.1', () => { const a = n.address(); n.close(() => r(a)); }); })],
        [{ host: '::1' }, '::1', 'IPv6', null],
        [{}, '::', 'IPv6', () => new Promise((r) => { const n = require('http').createServer().listen(0, () => { const a = n.address(); n.close(() => r(a)); }); })],
      ];
      for (const [config, address, family, node] of cases) {
        const s = new TunnelServer({ port: 0, ...config });
        assert.strictEqual(s.address(), null);
        await s.listen();
        assert.deepStrictEqual(s.address(), { address, family, port: s.port });
        if (node) {
          const a = await node();
          assert.deepStrictEqual([a.address, a.family], [address, family], 'as node:http reports it');
        }
        await s.close();
        assert.strictEqual(s.address(), null);
      }
    });

    it('listen resolves only once the port accepts connections', async () => {
      const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
      s.registerTask('x', () => 'y');
      await s.listen();
      const res = await post(s.port, '/__runner/task/x', {}); // no retry: must work at once
      assert.strictEqual(res.text, '{"ok":true,"result":"y"}');
      await s.close();
    });

    it('rejects with code EADDRINUSE when the port is taken', async () => {
      const blocker = net.createServer();
      await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
      const { port } = blocker.address();
      const s = new TunnelServer({ port, host: '127.0.0.1' });
      await assert.rejects(s.listen(), (err) => {
        assert.ok(err instanceof Error);
        assert.strictEqual(err.code, 'EADDRINUSE');
        assert.strictEqual(err.syscall, 'listen');
        assert.strictEqual(err.port, port);
        assert.match(err.message, /EADDRINUSE/);
        return true;
      });
      assert.strictEqual(s.port, null);
      await new Promise((r) => blocker.close(r));
      await s.listen(); // the failed attempt left nothing behind
      assert.strictEqual(s.port, port);
      await s.close();
    });

    it('a second listen() while listening rejects', async () => {
      const server = await startServer();
      await assert.rejects(server.listen(), /already listening/);
    });

    it('close() is idempotent and can listen again afterwards', async () => {
      const server = await startServer({}, (s) => s.registerTask('t', () => 'again'));
      const port = server.port;
      await Promise.all([server.close(), server.close()]);
      await server.close();
      await assert.rejects(post(port, '/__runner/task/t', {}), /ECONNREFUSED|ECONNRESET|socket hang up/);
      await server.listen();
      assert.strictEqual((await post(server.port, '/__runner/task/t', {})).body.result, 'again');
    });

    it('close() before listen() resolves', async () => {
      await new TunnelServer({ port: 0 }).close();
    });

    it('several servers in one process keep their own handlers and ports', async () => {
      const a = await startServer({}, (s) => s.registerTask('who', () => 'a'));
      const b = await startServer({}, (s) => s.registerTask('who', () => 'b'));
      const c = await startServer({ basePath: '/c' }, (s) => s.registerTask('who', () => 'c'));
      assert.notStrictEqual(a.port, b.port);
      const answers = await Promise.all([
        post(a.port, '/__runner/task/who', {}), post(b.port, '/__runner/task/who', {}), post(c.port, '/c/task/who', {}),
      ]);
      assert.deepStrictEqual(answers.map((r) => r.body.result), ['a', 'b', 'c']);
      await a.close();
      assert.strictEqual((await post(b.port, '/__runner/task/who', {})).body.result, 'b', 'closing one leaves the others');
    });
  });

  describe('getStats', () => {
    it('counts requests by outcome and open connections', async () => {
      const server = await startServer({}, (s) => s.registerTask('ok', () => 1));
      await post(server.port, '/__runner/task/ok', {});
      await post(server.port, '/__runner/task/ok', {});
      await post(server.port, '/__runner/task/missing', {});
      const stats = server.getStats();
      assert.strictEqual(stats.requests, 3);
      assert.strictEqual(stats.status2xx, 2);
      assert.strictEqual(stats.status4xx, 1);
      assert.strictEqual(stats.status5xx, 0);
      assert.strictEqual(stats.pending, 0);
      assert.ok(stats.connections >= 1, 'the keep-alive connection is open');
    });

    it('keeps the last counters after close() (a final scrape), live ones again after a new listen()', async () => {
      const server = new TunnelServer({ port: 0, host: '127.0.0.1' });
      server.registerTask('ok', () => 1);
      await server.listen();
      await post(server.port, '/__runner/task/ok', {});
      await post(server.port, '/__runner/task/missing', {});
      await server.close();
      const after = server.getStats();
      assert.deepStrictEqual([after.requests, after.status2xx, after.status4xx], [2, 1, 1]);
      assert.strictEqual(after.connections, 0, 'read once every connection had closed');
      await server.listen();
      try {
        assert.strictEqual(server.getStats().requests, 0, 'a new listen counts anew');
      } finally {
        await server.close();
      }
    });
  });

  describe('ctx.remoteAddress', () => {
    it('is the client\'s address and port as its socket sees them, IPv4 and IPv6; undefined once the call was answered', async () => {
      for (const host of ['127.0.0.1', '::1']) {
        let kept;
        const server = new TunnelServer({ port: 0, host });
        server.registerTask('who', (input, ctx) => { kept = ctx; return { address: ctx.remoteAddress, port: ctx.remotePort, family: ctx.remoteFamily }; });
        server.registerTask('late', (input, ctx) => { kept = ctx; return 'later'; });
        await server.listen();
        const call = async (id) => {
          const socket = net.connect(server.port, host);
          await new Promise((resolve) => socket.once('connect', resolve));
          const answer = await new Promise((resolve) => {
            let text = '';
            socket.on('data', (c) => { text += c; if (text.endsWith('}')) resolve(text); });
            socket.write(`POST /__runner/task/${id} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`);
          });
          const local = { address: socket.localAddress, port: socket.localPort };
          socket.destroy();
          return { local, result: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).result };
        };
        try {
          const { local, result } = await call('who');
          assert.deepStrictEqual(result, { ...local, family: host === '::1' ? 'IPv6' : 'IPv4' });
          assert.strictEqual((await call('late')).result, 'later');
          assert.strictEqual(kept.remoteAddress, undefined, 'read first after the answer: the connection may serve another client by now');
        } finally {
          await server.close();
        }
      }
    });
  });

  describe('onHandlerError', () => {
    it('is told of every call answered 5xx because its handler failed, with what the client got unchanged', async () => {
      const seen = [];
      const server = new TunnelServer({
        port: 0,
        host: '127.0.0.1',
        onHandlerError: (error, call) => seen.push([call.kind, call.id, error instanceof Error ? error.message : String(error)]),
      });
      server.registerTask('throws', () => { throw new Error('boom'); });
      server.registerTask('rejects', () => Promise.reject('nope')); // eslint-disable-line prefer-promise-reject-errors
      server.registerTask('typed500', () => { throw new HandlerError('down', { status: 503, code: 'DOWN' }); });
      server.registerTask('typed404', () => { throw new HandlerError('none', { status: 404, code: 'NONE' }); });
      server.registerTask('unencodable', () => 10n);
      server.registerTask('fine', () => 'ok');
      server.registerEvent('failing', () => { throw new Error('event boom'); });
      await server.listen();
      try {
        const cases = [
          ['/__runner/task/throws', 500, ['task', 'throws', 'boom']],
          ['/__runner/task/rejects', 500, ['task', 'rejects', 'nope']],
          ['/__runner/task/typed500', 503, ['task', 'typed500', 'down']],
          ['/__runner/task/typed404', 404, null],
          ['/__runner/task/unencodable', 500, ['task', 'unencodable', null]],
          ['/__runner/task/fine', 200, null],
          ['/__runner/event/failing', 500, ['event', 'failing', 'event boom']],
        ];
        for (const [path, status, report] of cases) {
          const before = seen.length;
          const res = await post(server.port, path, {});
          assert.strictEqual(res.status, status, path);
          if (report === null) {
            assert.strictEqual(seen.length, before, `${path}: not reported`);
          } else {
            assert.strictEqual(seen.length, before + 1, `${path}: reported once`);
            const [kind, id, message] = seen[seen.length - 1];
            assert.deepStrictEqual([kind, id], report.slice(0, 2), path);
            if (report[2] !== null) assert.strictEqual(message, report[2], path);
          }
        }
        assert.strictEqual((await post(server.port, '/__runner/task/throws', {})).text, '{"ok":false,"error":{"code":500,"message":"boom","codeName":"INTERNAL_ERROR"}}', 'the client still gets the seed envelope');
      } finally {
        await server.close();
      }
    });

    it('a hook that throws is a process warning; the answer and the server go on', async () => {
      const warnings = [];
      const onWarning = (w) => warnings.push(w.message);
      process.on('warning', onWarning);
      const server = new TunnelServer({ port: 0, host: '127.0.0.1', onHandlerError: () => { throw new Error('logger down'); } });
      server.registerTask('throws', () => { throw new Error('boom'); });
      await server.listen();
      try {
        assert.strictEqual((await post(server.port, '/__runner/task/throws', {})).status, 500);
        assert.strictEqual((await post(server.port, '/__runner/task/throws', {})).status, 500);
        await waitFor(() => warnings.length >= 2);
        assert.match(warnings[0], /onHandlerError threw: logger down/);
      } finally {
        process.off('warning', onWarning);
        await server.close();
      }
    });

    it('must be a function', () => {
      assert.throws(() => new TunnelServer({ port: 0, onHandlerError: 'log' }), { code: 'ERR_INVALID_ARG_TYPE', message: /onHandlerError must be a function/ });
    });
  });
});
