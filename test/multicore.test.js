'use strict';
/**
 * reusePort (issue #9): one port served by many JavaScript threads, balanced per call,
 * and by many processes.
 */
const assert = require('assert');
const http = require('http');
const net = require('net');
const path = require('path');
const { Worker } = require('worker_threads');
const { closeAll, post, runChild, waitFor, assertError, TunnelServer } = require('./helpers');
const { startWorkers } = require('..');

const ROOT = JSON.stringify(path.resolve(__dirname, '..'));

/** A free port, found by binding 0 and letting go. */
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/**
 * A worker thread serving `port` with reusePort: tasks 'who' (its name), 'shared' (its
 * name), and 'block' (only here: spins until the shared flag is set), 'gated' (waits
 * until told). Messages: {listening}, {entered: id}; send 'open' to release 'gated',
 * 'close' to close the server.
 */
function startWorker(name, port, flag) {
  const worker = new Worker(`
    const { parentPort, workerData } = require('worker_threads');
    const { TunnelServer } = require(${ROOT});
    const flag = new Int32Array(workerData.flag);
    const s = new TunnelServer({ port: workerData.port, host: '127.0.0.1', reusePort: true });
    let open;
    const gate = new Promise((r) => { open = r; });
    s.registerTask('who', () => workerData.name);
    s.registerTask('shared', () => workerData.name);
    s.registerTask('block', () => { parentPort.postMessage({ entered: 'block' }); while (Atomics.load(flag, 0) === 0) {} return workerData.name; });
    s.registerTask('gated', async () => { parentPort.postMessage({ entered: 'gated' }); await gate; return workerData.name; });
    parentPort.on('message', (m) => {
      if (m === 'open') open();
      if (m === 'close') s.close().then(() => parentPort.postMessage({ closed: true }));
      if (m === 'stats') parentPort.postMessage({ stats: s.getStats() });
    });
    s.listen().then(() => parentPort.postMessage({ listening: s.port }), (e) => parentPort.postMessage({ error: e.code }));
  `, { eval: true, workerData: { name, port, flag } });
  const state = { worker, entered: [], messages: [] };
  state.ready = new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      state.messages.push(m);
      if (m.entered) state.entered.push(m.entered);
      if (m.listening) resolve(state);
      if (m.error) reject(new Error(m.error));
    });
    worker.once('error', reject);
  });
  return state;
}

/** One keep-alive connection that sends requests one after the other. */
function keepAlive(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    call: (id) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/__runner/task/${id}`, agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let b = '';
        res.on('data', (c) => { b += c; });
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(b), socket: req.socket }));
      });
      req.on('error', reject);
      req.end('{}');
    }),
    close: () => agent.destroy(),
  };
}

describe('reusePort: many threads, one port', function () {
  this.timeout(60000);
  afterEach(closeAll);

  it('a thread blocked in a synchronous handler delays nobody: 100 calls on one keep-alive connection go to the other thread', async () => {
    const port = await freePort();
    const flag = new SharedArrayBuffer(4);
    const blocker = await startWorker('worker', port, flag).ready;
    const main = new TunnelServer({ port, host: '127.0.0.1', reusePort: true });
    main.registerTask('who', () => 'main');
    await main.listen();
    try {
      assert.strictEqual(main.port, port);
      const blocked = post(port, '/__runner/task/block', {}); // registered only in the worker
      await waitFor(() => blocker.entered.includes('block'));
      const conn = keepAlive(port);
      const answers = [];
      for (let i = 0; i < 100; i++) answers.push(await conn.call('who'));
      const sockets = new Set(answers.map((a) => a.socket));
      conn.close();
      assert.strictEqual(sockets.size, 1, 'one keep-alive connection');
      assert.deepStrictEqual([...new Set(answers.map((a) => a.body.result))], ['main'], 'every call went to the free thread');
      assert.strictEqual(Atomics.load(new Int32Array(flag), 0), 0, 'all while the worker was still blocked');
      Atomics.store(new Int32Array(flag), 0, 1);
      assert.strictEqual((await blocked).body.result, 'worker');
      assert.strictEqual(main.getStats().threads, 2);
      assert.ok(main.getStats().threadCalls >= 100);
    } finally {
      Atomics.store(new Int32Array(flag), 0, 1);
      await main.close();
      await blocker.worker.terminate();
    }
  });

  it('ids registered on some threads go only there; unknown ids are still 404; both threads answer shared ids', async () => {
    const port = await freePort();
    const w = await startWorker('worker', port, new SharedArrayBuffer(4)).ready;
    const main = new TunnelServer({ port, host: '127.0.0.1', reusePort: true });
    main.registerTask('shared', () => 'main');
    main.registerTask('main.only', () => 'main');
    await main.listen();
    try {
      for (let i = 0; i < 10; i++) {
        assert.strictEqual((await post(port, '/__runner/task/who', {})).body.result, 'worker');
        assert.strictEqual((await post(port, '/__runner/task/main.only', {})).body.result, 'main');
      }
      assertError(await post(port, '/__runner/task/nobody', {}), 404, 'NOT_FOUND', 'Task not found: nobody');
      // With both threads busy on gated calls, shared calls spread over both.
      const seen = new Set();
      const gated = [post(port, '/__runner/task/gated', {})];
      await waitFor(() => w.entered.includes('gated'));
      for (let i = 0; i < 4; i++) seen.add((await post(port, '/__runner/task/shared', {})).body.result);
      assert.deepStrictEqual([...seen], ['main'], 'the worker is busy: the main thread takes them');
      w.worker.postMessage('open');
      assert.strictEqual((await gated[0]).body.result, 'worker');
    } finally {
      await main.close();
      await w.worker.terminate();
    }
  });

  it('close() of one thread keeps the port served by the others; the last close() closes it', async () => {
    const port = await freePort();
    const w = await startWorker('worker', port, new SharedArrayBuffer(4)).ready;
    const main = new TunnelServer({ port, host: '127.0.0.1', reusePort: true });
    main.registerTask('who', () => 'main');
    await main.listen();
    assert.strictEqual(main.getStats().threads, 2);
    await main.close();
    for (let i = 0; i < 5; i++) assert.strictEqual((await post(port, '/__runner/task/who', {})).body.result, 'worker');
    const closed = new Promise((r) => w.worker.on('message', (m) => m.closed && r()));
    w.worker.postMessage('close');
    await closed;
    await assert.rejects(post(port, '/__runner/task/who', {}), /ECONNREFUSED/);
    await w.worker.terminate();
  });

  it('a terminated thread loses nothing but its own in-flight calls', async () => {
    const port = await freePort();
    const w = await startWorker('worker', port, new SharedArrayBuffer(4)).ready;
    const main = new TunnelServer({ port, host: '127.0.0.1', reusePort: true });
    let mainEntered = 0;
    let release;
    const gate = new Promise((r) => { release = r; });
    main.registerTask('gated', async () => { mainEntered++; await gate; return 'main'; });
    main.registerTask('who', () => 'main');
    await main.listen();
    try {
      // Two calls in the worker, two in the main thread, all held.
      const calls = [1, 2, 3, 4].map(() => post(port, '/__runner/task/gated', {}));
      await waitFor(() => w.entered.length === 2 && mainEntered === 2);
      await w.worker.terminate();
      release();
      const answers = await Promise.all(calls);
      const byStatus = answers.reduce((acc, a) => { acc[a.status] = (acc[a.status] || 0) + 1; return acc; }, {});
      assert.deepStrictEqual(byStatus, { 200: 2, 503: 2 }, 'the worker\'s two calls got 503, the others their answer');
      answers.filter((a) => a.status === 503).forEach((a) => assertError(a, 503, 'SERVICE_UNAVAILABLE', 'Server is shutting down'));
      await waitFor(() => main.getStats().threads === 1);
      for (let i = 0; i < 5; i++) assert.strictEqual((await post(port, '/__runner/task/who', {})).body.result, 'main');
    } finally {
      release();
      await main.close();
    }
  });

  it('a thread that closes hands the calls it had not taken yet to the others', async () => {
    const port = await freePort();
    const flag = new SharedArrayBuffer(4);
    const main = new TunnelServer({ port, host: '127.0.0.1', reusePort: true });
    let release;
    const gate = new Promise((r) => { release = r; });
    let held = 0;
    main.registerTask('hold', async () => { held++; await gate; return 'main'; });
    main.registerTask('shared', () => 'main');
    await main.listen();
    // The worker: 'closer' spins until two more calls wait for it, then closes.
    const worker = new Worker(`
      const { parentPort, workerData } = require('worker_threads');
      const { TunnelServer } = require(${ROOT});
      const s = new TunnelServer({ port: workerData.port, host: '127.0.0.1', reusePort: true });
      const entered = new Int32Array(workerData.flag);
      s.registerTask('closer', () => { Atomics.store(entered, 0, 1); while (s.getStats().threadPending < 3) {} s.close(); return 'closing'; });
      s.registerTask('shared', () => 'worker');
      s.listen().then(() => parentPort.postMessage('listening'));
    `, { eval: true, workerData: { port, flag } });
    await new Promise((r) => worker.once('message', r));
    try {
      // Load: main holds three calls; the worker takes 'closer' (load 1), so the next two
      // shared calls go to the worker (1 and 2 < 3) and wait there, untaken.
      const holds = [1, 2, 3].map(() => post(port, '/__runner/task/hold', {}));
      await waitFor(() => held === 3);
      const closer = post(port, '/__runner/task/closer', {});
      // The worker's thread is inside 'closer' (it took it, alone, and spins): the shared
      // calls that follow wait for it untaken, and its close() hands them over at once.
      // (close() used to hand them over from a goroutine, and the worker's next exchange
      // could take them first: seen twice in 17 loaded runs of npm test.)
      const entered = new Int32Array(flag);
      await waitFor(() => Atomics.load(entered, 0) === 1);
      await waitFor(() => main.getStats().threadPending === 3 && main.getStats().pending === 4);
      const shared = [post(port, '/__runner/task/shared', {}), post(port, '/__runner/task/shared', {})];
      assert.strictEqual((await closer).body.result, 'closing');
      const answers = await Promise.all(shared);
      assert.deepStrictEqual(answers.map((a) => a.body.result), ['main', 'main'], 'handed over, answered by the main thread');
      release();
      assert.deepStrictEqual((await Promise.all(holds)).map((a) => a.body.result), ['main', 'main', 'main']);
    } finally {
      release();
      await worker.terminate();
      await main.close();
    }
  });

  it('a different configuration on the same port is refused, naming the field', async () => {
    const port = await freePort();
    const a = new TunnelServer({ port, host: '127.0.0.1', reusePort: true });
    await a.listen();
    const b = new TunnelServer({ port, host: '127.0.0.1', reusePort: true, basePath: '/other' });
    await assert.rejects(b.listen(), { code: 'ERR_REUSEPORT_CONFIG', message: /config\.basePath/ });
    const c = new TunnelServer({ port, host: '127.0.0.1' });
    await assert.rejects(c.listen(), { code: 'EADDRINUSE' });
    await a.close();
  });
});

describe('startWorkers', function () {
  this.timeout(60000);

  it('starts N threads serving one port from a module; every thread takes calls; close() frees the port', async () => {
    const port = await freePort();
    const workers = await startWorkers(path.join(__dirname, 'fixtures', 'threads-server.js'), { threads: 3, workerData: { port } });
    try {
      assert.strictEqual(workers.port, port);
      assert.strictEqual(workers.workers.length, 3);
      // Concurrent calls spread over the threads (each takes the least busy one).
      const seen = new Set();
      while (seen.size < 3) {
        const answers = await Promise.all(Array.from({ length: 30 }, () => post(port, '/__runner/task/thread', {})));
        answers.forEach((a) => seen.add(a.body.result));
      }
      assert.deepStrictEqual([...seen].sort(), workers.workers.map((w) => w.threadId).sort());
    } finally {
      await workers.close();
    }
    await assert.rejects(post(port, '/__runner/task/thread', {}), /ECONNREFUSED/);
  });

  it('with port 0, every thread shares the one port the first bound (one listener, calls reach every thread)', async () => {
    const workers = await startWorkers(path.join(__dirname, 'fixtures', 'threads-server.js'), { threads: 2, workerData: { port: 0 } });
    try {
      assert.ok(workers.port > 0);
      const seen = new Set();
      while (seen.size < 2) {
        const answers = await Promise.all(Array.from({ length: 30 }, () => post(workers.port, '/__runner/task/thread', {})));
        answers.forEach((a) => seen.add(a.body.result));
      }
      assert.deepStrictEqual([...seen].sort(), workers.workers.map((w) => w.threadId).sort());
    } finally {
      await workers.close();
    }
  });

  it('rejects a module that does not return a listening server, and bad options', async () => {
    await assert.rejects(startWorkers(path.join(__dirname, 'helpers.js'), { threads: 1 }), /must export a function returning a listening TunnelServer|is not a function/);
    await assert.rejects(startWorkers(path.join(__dirname, 'fixtures', 'threads-server.js'), { threads: 0 }), RangeError);
    await assert.rejects(startWorkers(''), TypeError);
  });
});

describe('reusePort: many processes, one port', function () {
  this.timeout(60000);

  // Windows has no SO_REUSEPORT: threads share a port there, processes cannot.
  const itUnix = process.platform === 'win32' ? it.skip : it;
  const itWindows = process.platform === 'win32' ? it : it.skip;

  itWindows('Windows: a second process is refused with EADDRINUSE, and the message says what Windows allows', async () => {
    const port = await freePort();
    const script = `
      const { TunnelServer } = require('.');
      const s = new TunnelServer({ port: ${port}, host: '127.0.0.1', reusePort: true });
      s.listen().then(() => console.log('listening'), (e) => { console.log(e.code + ' ' + e.errno + ' ' + e.message); process.exit(2); });`;
    let first;
    const firstExit = runChild(script, { timeoutMs: 55000, onSpawn: (c) => { first = c; } });
    await waitFor(() => first);
    await new Promise((r) => first.stdout.once('data', r));
    const second = await runChild(script, { timeoutMs: 55000 });
    first.kill();
    await firstExit;
    assert.strictEqual(second.code, 2, second.stderr);
    assert.match(second.stdout, /^EADDRINUSE -4091 listen EADDRINUSE: address already in use \(on Windows, reusePort shares a port between the threads of one process only; another process cannot listen on it\)/);
  });

  itUnix('two processes listening on one port both serve it', async () => {
    const port = await freePort();
    const script = `
      const { TunnelServer } = require('.');
      const s = new TunnelServer({ port: ${port}, host: '127.0.0.1', reusePort: true });
      s.registerTask('pid', () => process.pid);
      process.on('SIGTERM', () => s.close());
      s.listen().then(() => console.log('listening'));`;
    const children = [];
    const ready = [];
    const exits = [1, 2].map(() => runChild(script, {
      timeoutMs: 55000,
      onSpawn: (c) => {
        children.push(c);
        ready.push(new Promise((r) => c.stdout.once('data', r)));
      },
    }));
    await waitFor(() => ready.length === 2);
    await Promise.all(ready);
    const pids = new Set();
    const noKeepAlive = new http.Agent({ keepAlive: false });
    while (pids.size < 2) {
      const body = await new Promise((resolve, reject) => {
        http.request({ host: '127.0.0.1', port, method: 'POST', path: '/__runner/task/pid', agent: noKeepAlive }, (res) => {
          let b = ''; res.on('data', (c) => { b += c; }); res.on('end', () => resolve(JSON.parse(b)));
        }).on('error', reject).end('{}');
      });
      pids.add(body.result);
    }
    assert.deepStrictEqual([...pids].sort(), children.map((c) => c.pid).sort(), 'new connections reached both processes');
    children.forEach((c) => c.kill('SIGTERM'));
    for (const r of await Promise.all(exits)) assert.strictEqual(r.code, 0, r.stderr);
  });
});

describe('examples', function () {
  this.timeout(60000);

  for (const [example, id, env] of [
    ['examples/threads.js', 'app.tasks.hash', { THREADS: '2' }],
    ['examples/cluster.js', 'app.tasks.pid', { WORKERS: '2' }],
    ['examples/runner-threads.js', 'app.tasks.where', { THREADS: '2' }],
    ['examples/runner-cluster.js', 'app.tasks.where', { WORKERS: '2' }],
  ]) {
    // Signals to a child are TerminateProcess on Windows, and cluster.js needs processes sharing a port: Unix-only.
    (process.platform === 'win32' ? it.skip : it)(`${example} serves one port from two ${example.includes('cluster') ? 'processes' : 'threads'} and stops on SIGINT/SIGTERM`, async () => {
      const port = await freePort();
      const seen = new Set();
      let output = '';
      const result = await runChild('', {
        file: path.join(__dirname, '..', example),
        env: { PORT: String(port), ...env },
        timeoutMs: 55000,
        onSpawn: (child) => {
          child.stdout.on('data', async (c) => {
            output += c;
            const ready = example.includes('cluster') ? (output.match(/listening/g) || []).length === 2 : /listening/.test(output);
            if (!ready || seen.size) return;
            seen.add('started');
            const noKeepAlive = new http.Agent({ keepAlive: false });
            while (seen.size < 3) {
              const answers = await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve, reject) => {
                http.request({ host: '127.0.0.1', port, method: 'POST', path: `/__runner/task/${id}`, agent: noKeepAlive, headers: { 'x-runner-token': 'dev-token' } }, (res) => {
                  let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(JSON.parse(b)));
                }).on('error', reject).end(JSON.stringify({ input: { rounds: 2000 } }));
              })));
              for (const a of answers) seen.add(JSON.stringify(id === 'app.tasks.where' ? a.result : a.result.thread !== undefined ? a.result.thread : a.result));
            }
            child.kill(example.includes('cluster') ? 'SIGTERM' : 'SIGINT');
          });
        },
      });
      assert.strictEqual(seen.size, 3, 'two distinct threads or processes answered');
      assert.strictEqual(result.signal, null, result.stderr);
    });
  }
});
