'use strict';
/**
 * startWorkers: serve one port from several JavaScript threads, the common case of
 * reusePort in a few lines. Each worker thread loads `modulePath`, which exports a
 * function that builds a TunnelServer with `reusePort: true`, registers its handlers,
 * and returns it listening. Go then hands every call to the least busy thread that
 * registered its id.
 *
 *   // server.js
 *   module.exports = async ({ port }) => {
 *     const server = new TunnelServer({ port, reusePort: true });
 *     server.registerTask('app.tasks.add', (input) => input.a + input.b);
 *     await server.listen();
 *     return server;
 *   };
 *   // main.js
 *   const workers = await startWorkers(require.resolve('./server.js'), { threads: 4, workerData: { port: 7070 } });
 *   ...
 *   await workers.close();
 */
const os = require('os');
const { Worker } = require('worker_threads');

const BOOT = `
const { parentPort, workerData } = require('worker_threads');
let server;
(async () => {
  // Threads after the first join the port the first bound, even when asked for port 0.
  if (workerData.sharedPort !== undefined) require(workerData.threadsModule).joinPort(workerData.sharedPort);
  const setup = require(workerData.modulePath);
  server = await (typeof setup === 'function' ? setup : setup.default)(workerData.data);
  if (!server || typeof server.close !== 'function' || typeof server.port !== 'number') {
    throw new TypeError('startWorkers: ' + workerData.modulePath + ' must export a function returning a listening TunnelServer');
  }
  parentPort.postMessage({ listening: server.port });
})().catch((err) => parentPort.postMessage({ failed: { message: err && err.message, code: err && err.code } }));
parentPort.on('message', (m) => {
  if (m === 'close' && server) server.close().then(() => parentPort.postMessage({ closed: true }));
});
`;

/**
 * Starts `threads` worker threads that each run `modulePath` (see above), and resolves
 * once every one listens.
 * @param {string} modulePath absolute path of the module (use require.resolve)
 * @param {{threads?: number, workerData?: unknown}} [options] threads defaults to
 *   os.availableParallelism(); workerData is passed to the module's function
 * @returns {Promise<{workers: Worker[], port: number, close(): Promise<void>}>}
 */
async function startWorkers(modulePath, options = {}) {
  if (typeof modulePath !== 'string' || modulePath === '') {
    throw new TypeError(`startWorkers: modulePath must be a module's path (use require.resolve), got ${String(modulePath)}`);
  }
  const threads = options.threads === undefined ? os.availableParallelism() : options.threads;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`startWorkers: options.threads must be a positive integer, got ${String(threads)}`);
  }
  const workers = [];
  const start = (sharedPort) => {
    const worker = new Worker(BOOT, { eval: true, workerData: { modulePath, data: options.workerData, sharedPort, threadsModule: __filename } });
    workers.push(worker);
    return new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m.listening !== undefined) resolve(m.listening);
        if (m.failed) reject(Object.assign(new Error(`startWorkers: a worker failed to start: ${m.failed.message}`), { code: m.failed.code }));
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`startWorkers: a worker exited with code ${code} before listening`)));
    });
  };
  // One at a time: the first binds the port (a free one for port 0), the others join it.
  let port;
  try {
    for (let i = 0; i < threads; i++) port = await start(port);
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  return {
    workers,
    port,
    /** Closes every thread's server (the last one closes the port), then ends the threads. */
    async close() {
      await Promise.all(workers.map((w) => new Promise((resolve) => {
        w.on('message', (m) => m.closed && resolve());
        w.once('exit', resolve);
        w.postMessage('close');
      })));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * The port startWorkers' first thread bound, in the threads it starts after it: a
 * reusePort server of such a thread configured with port 0 listens there instead of on
 * a port of its own (which would be a second listener that no call reaches through the
 * first). undefined elsewhere.
 * @type {number|undefined}
 */
let joinedPort;

/** Called in a worker thread by startWorkers before the user's module loads. */
function joinPort(port) {
  joinedPort = port;
}

/** The port a reusePort server asking for port 0 should share, if any (see joinPort). */
function sharedPort() {
  return joinedPort;
}

module.exports = { startWorkers, joinPort, sharedPort };
