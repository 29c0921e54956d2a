'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startServer, closeAll, post, runChild, sleep, waitFor } = require('./helpers');

describe('concurrency', () => {
  afterEach(closeAll);

  it('500 concurrent requests with random handler delays each get their own input back', async () => {
    // Every handler waits until all 500 have started, then finishes after its own random
    // delay: they certainly run at the same time on the event loop (how many overlap
    // without the gate depends on how fast the requests arrive), and the answers come
    // back in a shuffled order. Were they run one at a time, the first would wait for
    // ever and mocha's timeout would fail the test.
    let entered = 0;
    let release;
    const gate = new Promise((r) => { release = r; });
    const server = await startServer({}, (s) => s.registerTask('delayed.echo', async (input) => {
      if (++entered === 500) release();
      await gate;
      await sleep(Math.floor(Math.random() * 50));
      return { n: input.n, tag: `#${input.n}` };
    }));
    const answers = await Promise.all(Array.from({ length: 500 }, (_, n) =>
      post(server.port, '/__runner/task/delayed.echo', { input: { n } })));
    answers.forEach((res, n) => assert.strictEqual(res.text, `{"ok":true,"result":{"n":${n},"tag":"#${n}"}}`));
    assert.strictEqual(entered, 500, 'all 500 handlers were running at once');
  });

  it('a slow handler does not hold up others, and the JS thread stays free while Go waits', async () => {
    let release;
    const gate = new Promise((r) => { release = r; });
    const server = await startServer({}, (s) => {
      s.registerTask('slow', async () => { await gate; return 'slow'; });
      s.registerTask('fast', () => 'fast');
    });
    const slow = post(server.port, '/__runner/task/slow', {});
    for (let i = 0; i < 20; i++) {
      assert.strictEqual((await post(server.port, '/__runner/task/fast', {})).body.result, 'fast');
    }
    // Timers fire while the call waits in Go: the JavaScript thread is not blocked.
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 1));
    assert.strictEqual(server.getStats().pending, 1);
    release();
    assert.strictEqual((await slow).body.result, 'slow');
  });
});

describe('close()', () => {
  afterEach(closeAll);

  it('answers every accepted request, then refuses new connections', async () => {
    let entered = 0;
    const server = await startServer({}, (s) => s.registerTask('slow', async (input) => {
      entered++;
      await sleep(150);
      return input;
    }));
    const port = server.port;
    const inFlight = Array.from({ length: 50 }, (_, i) => post(port, '/__runner/task/slow', { input: i }));
    await waitFor(() => entered === 50);
    const closed = server.close();
    const answers = await Promise.all(inFlight);
    answers.forEach((res, i) => assert.strictEqual(res.text, `{"ok":true,"result":${i}}`));
    await closed;
    await assert.rejects(post(port, '/__runner/task/slow', { input: 1 }), /ECONNREFUSED|ECONNRESET|socket hang up/);
  });
});

/** A dependent project whose node_modules links to this package. */
function dependentProject() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-app-'));
  fs.mkdirSync(path.join(dir, 'node_modules', '@bluelibs'), { recursive: true });
  fs.symlinkSync(path.resolve(__dirname, '..'), path.join(dir, 'node_modules', '@bluelibs', 'runner-native'), process.platform === 'win32' ? 'junction' : 'dir'); // a junction needs no privilege on Windows
  return dir;
}

describe('process', function () {
  this.timeout(30000);

  it('exits by itself after close(), with nothing written by Go to stdout or stderr', async () => {
    const result = await runChild(`
      const { TunnelServer } = require('.');
      const http = require('http');
      (async () => {
        const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
        s.registerTask('t', () => 'ok');
        await s.listen();
        const body = await new Promise((resolve) => {
          http.request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/__runner/task/t' }, (res) => {
            let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(b));
          }).end('{}');
        });
        await s.close();
        console.log('done', body);
      })();`);
    assert.strictEqual(result.code, 0, result.stderr);
    assert.strictEqual(result.stdout, 'done {"ok":true,"result":"ok"}\n');
    assert.strictEqual(result.stderr, '');
  });

  it('a listening server keeps the process alive; SIGTERM without a listener kills it as in plain Node', async () => {
    let answer;
    const result = await runChild(`
      const { TunnelServer } = require('.');
      const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
      s.registerTask('alive', () => 'yes');
      s.listen().then(() => console.log(s.port));`,
    {
      // Nothing but the server keeps the child's event loop alive: that it still answers
      // after printing its port shows the server holds the loop open.
      onSpawn: (c) => c.stdout.once('data', async (port) => {
        answer = (await post(Number(port), '/__runner/task/alive', {})).text;
        c.kill('SIGTERM');
      }),
    });
    assert.strictEqual(answer, '{"ok":true,"result":"yes"}');
    assert.strictEqual(result.signal, 'SIGTERM');
  });

  // Windows: child.kill() is TerminateProcess, and process.on('SIGINT') is reached only by a
  // console's Ctrl-C, which a test cannot send: Unix-only.
  const itUnix = process.platform === 'win32' ? it.skip : it;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    itUnix(`${signal} reaches process.on('${signal}'): the handler closes the server and the process exits 0`, async () => {
      const result = await runChild(`
        const { TunnelServer } = require('.');
        const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
        process.on('${signal}', async () => { await s.close(); console.log('closed on ${signal}'); });
        s.listen().then(() => console.log('listening'));`,
      { onSpawn: (c) => c.stdout.once('data', () => c.kill(signal)) });
      assert.strictEqual(result.code, 0, result.stderr);
      assert.strictEqual(result.stdout, `listening\nclosed on ${signal}\n`);
    });
  }

  it('the seed README examples run unchanged from a dependent project', async () => {
    const dir = dependentProject();
    // Quick Start, Basic Usage, Error Handling and the runner integration, verbatim
    // except for the stubs they assume (db, emailService, store, ...) and the port.
    const script = `
      const db = { users: { create: async (input) => ({ id: 1, email: input.email }) } };
      const emailService = { sent: [], send: async (to, subject) => { emailService.sent.push([to, subject]); } };
      const performOperation = async (input) => { if (input.fail) throw new Error('disk full'); return 'done'; };
      const store = { tasks: new Map([['app.tasks.double', {}]]), events: new Map([['app.events.ping', {}]]) };
      const taskRunner = { run: async (id, input) => input * 2 };
      const eventManager = { emit: async () => {} };
      (async () => {
        {
          const { TunnelServer } = require('@bluelibs/runner-native');
          const server = new TunnelServer({ port: 0 });
          server.registerTask('app.tasks.add', async (input) => {
            return input.a + input.b;
          });
          await server.listen();
          const r = await fetch('http://127.0.0.1:' + server.port + '/__runner/task/app.tasks.add', {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"input": {"a": 5, "b": 3}}' });
          console.log(await r.text());
          await server.close();
        }
        {
          const { TunnelServer } = require('@bluelibs/runner-native');
          const server = new TunnelServer({
            port: 0,
            basePath: '/__runner',
            corsOrigins: ['https://example.com']
          });
          server.registerTask('users.create', async (input) => {
            const user = await db.users.create(input);
            return { id: user.id, email: user.email };
          });
          server.registerEvent('user.created', async (payload) => {
            await emailService.send(payload.email, 'Welcome!');
          });
          server.registerTask('risky.operation', async (input) => {
            try {
              return await performOperation(input);
            } catch (error) {
              throw new Error(\`Operation failed: \${error.message}\`);
            }
          });
          for (const [taskId, task] of store.tasks) {
            server.registerTask(taskId, async (input) => {
              return await taskRunner.run(taskId, input);
            });
          }
          for (const [eventId, event] of store.events) {
            server.registerEvent(eventId, async (payload) => {
              return await eventManager.emit(eventId, payload);
            });
          }
          await server.listen();
          const base = 'http://127.0.0.1:' + server.port + '/__runner';
          const call = async (p, body, method = 'POST') => (await fetch(base + p, {
            method, headers: { 'Content-Type': 'application/json', Origin: 'https://example.com' },
            body: method === 'GET' ? undefined : JSON.stringify(body) })).text();
          console.log(await call('/task/users.create', { input: { email: 'a@b.c' } }));
          console.log(await call('/event/user.created', { payload: { email: 'a@b.c' } }), JSON.stringify(emailService.sent));
          console.log(await call('/task/risky.operation', { input: { fail: true } }));
          console.log(await call('/task/app.tasks.double', { input: 21 }));
          console.log(await call('/event/app.events.notify', { payload: { message: 'Hello' } }));
          console.log(await call('/discovery', null, 'GET'));
          console.log(JSON.stringify(await server.getTaskIds()), JSON.stringify(await server.getEventIds()));
          await server.close();
        }
      })();`;
    const result = await runChild(script, { env: { NODE_PATH: '' } , timeoutMs: 20000, cwd: dir });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.strictEqual(result.code, 0, result.stderr);
    assert.deepStrictEqual(result.stdout.trim().split('\n'), [
      '{"ok":true,"result":8}',
      '{"ok":true,"result":{"id":1,"email":"a@b.c"}}',
      '{"ok":true} [["a@b.c","Welcome!"]]',
      '{"ok":false,"error":{"code":500,"message":"Operation failed: disk full","codeName":"INTERNAL_ERROR"}}',
      '{"ok":true,"result":42}',
      '{"ok":false,"error":{"code":404,"message":"Event not found: app.events.notify","codeName":"NOT_FOUND"}}',
      '{"ok":true,"result":{"allowList":{"enabled":true,"tasks":["users.create","risky.operation","app.tasks.double"],"events":["user.created","app.events.ping"]}}}',
      '["users.create","risky.operation","app.tasks.double"] ["user.created","app.events.ping"]',
    ]);
  });
});
