'use strict';
/**
 * @bluelibs/runner-native: an HTTP tunnel server whose HTTP side (fasthttp, in Go) runs
 * inside this Node process and calls the task and event handlers registered here.
 *
 * The class below keeps the API of the original package; see index.d.ts for the types
 * and README.md for the protocol. Configuration is checked by Go (lib/config.js), the
 * bridge's byte format comes from Go (lib/wire.js).
 */
const net = require('net');
const native = require('./lib/native');
const W = require('./lib/wire');
const { checkConfig, errorFromGo } = require('./lib/config');
const { Dispatcher } = require('./lib/dispatcher');
const { HandlerError, nodeError, listenError } = require('./lib/errors');
const { kDeclareMissing, kTestOnlyFaults } = require('./lib/symbols');
const { startWorkers, sharedPort } = require('./lib/threads');

function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return value.name ? `[function ${value.name}]` : '[function]';
  try {
    return String(value);
  } catch (_) {
    return Object.prototype.toString.call(value);
  }
}

/** How a JavaScript-decided CORS origin (RegExp or function, as runner takes) is chosen. */
function originChooser(spec) {
  if (spec instanceof RegExp) return (origin) => (origin && spec.test(origin) ? origin : null);
  if (typeof spec === 'function') return (origin) => spec(origin) || null;
  return undefined;
}

/** Encodes registrations for rn_register (format: internal/wire). */
function encodeRegistrations(regs) {
  let size = 0;
  for (const r of regs) size += W.REG_HEADER + Buffer.byteLength(r.id);
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  for (const r of regs) {
    const n = buf.write(r.id, off + W.REG_HEADER, 'utf8');
    buf[off + W.REG_AT_KIND] = r.kind;
    buf[off + W.REG_AT_FLAGS] = (r.listed ? W.REG_LISTED : 0) | (r.missing ? W.REG_MISSING : 0);
    buf.writeUInt16LE(n, off + W.REG_AT_ID_LEN);
    buf.writeInt32LE(r.slot, off + W.REG_AT_SLOT);
    off += W.REG_HEADER + n;
  }
  return buf;
}

const MAX_ID_BYTES = 0xffff;

class TunnelServer {
  /** the config encoded for Go */
  #encoded;
  /** a shallow copy of the config, to encode again with the port startWorkers shares */
  #config;
  #host;
  #configPort;
  /** JavaScript-side hooks taken from the config */
  #hooks;
  /** handler entries by slot; a slot is reused when an id is registered again */
  #handlers = [];
  /** `${kind}:${id}` -> slot */
  #slots = new Map();
  /** registrations made while listening, sent to Go in one batch per microtask turn */
  #queued = [];
  #handle = 0;
  /** @type {Dispatcher|null} */
  #dispatcher = null;
  #port = null;
  #state = 'idle'; // idle | listening | closing
  /** @type {Promise<void>|null} settles when the current close() is done */
  #closing = null;
  #resolveClose = null;
  /** the counters read when the server last closed, else null */
  #finalStats = null;

  /**
   * @param {import('./index').TunnelConfig} config
   * @throws {TypeError|RangeError} when a field is invalid; the message names the field
   */
  constructor(config) {
    this.#encoded = checkConfig(config);
    this.#config = { ...config };
    this.#host = config.host;
    this.#configPort = config.port;
    this.#hooks = {
      serializer: config.serializer,
      authValidator: config.authValidator,
      onAuthFailure: config.onAuthFailure,
      onHandlerError: config.onHandlerError,
      onRequests: config.onRequests,
      corsOrigin: originChooser(config.cors && config.cors.origin),
    };
  }

  /**
   * Registers (or replaces) the handler of a task. Takes effect at once, also while
   * listening.
   * @param {string} taskId
   * @param {(input: any, ctx: import('./index').CallContext) => any} handler
   * @param {{listed?: boolean}} [options] listed: show the id in discovery (default true)
   */
  registerTask(taskId, handler, options) {
    this.#register(W.KIND_TASK, 'registerTask', 'taskId', taskId, handler, options);
  }

  /**
   * Registers (or replaces) the handler of an event.
   * @param {string} eventId
   * @param {(payload: any, ctx: import('./index').CallContext) => any} handler
   * @param {{listed?: boolean}} [options] listed: show the id in discovery (default true)
   */
  registerEvent(eventId, handler, options) {
    this.#register(W.KIND_EVENT, 'registerEvent', 'eventId', eventId, handler, options);
  }

  #register(kind, method, name, id, fn, options = {}) {
    if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > MAX_ID_BYTES) {
      throw new TypeError(`TunnelServer.${method}: ${name} must be a non-empty string of at most ${MAX_ID_BYTES} bytes, got ${describe(id)}`);
    }
    if (typeof fn !== 'function') {
      throw new TypeError(`TunnelServer.${method}: the handler for ${JSON.stringify(id)} must be a function, got ${describe(fn)}`);
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`TunnelServer.${method}: options must be an object such as { listed: false }, got ${describe(options)}`);
    }
    this.#put(kind, id, fn, options.listed !== false, false);
  }

  /**
   * Declares an id that is known but has no handler: answered 404 (runner's allow-listed
   * ids missing from its store). For the runner adapter.
   */
  [kDeclareMissing](kind, id, listed) {
    this.#put(kind, id, null, listed, true);
  }

  #put(kind, id, fn, listed, missing) {
    const key = `${kind}:${id}`;
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#handlers.length;
      this.#slots.set(key, slot);
      this.#handlers.push({ kind, id, fn, listed, missing });
    } else {
      Object.assign(this.#handlers[slot], { fn, listed, missing });
    }
    if (this.#handle !== 0) {
      if (this.#queued.length === 0) queueMicrotask(() => this.#sendQueued());
      this.#queued.push({ kind, id, slot, listed, missing });
    }
  }

  #sendQueued() {
    const regs = this.#queued;
    this.#queued = [];
    if (this.#handle !== 0 && regs.length > 0) {
      const batch = encodeRegistrations(regs);
      native.register(this.#handle, batch, batch.length);
    }
  }

  /**
   * Binds the port and starts serving. Resolves once connections are accepted.
   * @returns {Promise<void>} rejects with an Error carrying `code` (e.g. 'EADDRINUSE'),
   *   `errno`, `syscall`, `address` and `port`, as Node's servers do
   */
  async listen() {
    if (this.#state === 'listening') {
      throw nodeError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'TunnelServer.listen: the server is already listening; call close() first');
    }
    if (this.#state === 'closing') {
      throw nodeError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'TunnelServer.listen: the server is still closing; await close() first');
    }
    const joined = this.#config.reusePort === true && this.#configPort === 0 ? sharedPort() : undefined;
    const handle = native.create(joined === undefined ? this.#encoded : checkConfig({ ...this.#config, port: joined }));
    if (typeof handle === 'string') throw errorFromGo(handle, 'TunnelServer.listen: ');
    if (this.#handlers.length > 0) {
      const batch = encodeRegistrations(this.#handlers.map((h, slot) => ({ ...h, slot })));
      native.register(handle, batch, batch.length);
    }
    const dispatcher = new Dispatcher(handle, this.#handlers, {
      ...this.#hooks, onClosed: () => this.#closed(), onFailed: (error) => this.#failed(error),
    });
    const port = native.listen(handle, (what) => dispatcher.onSignal(what));
    if (typeof port === 'string') {
      native.free(handle);
      let info;
      try {
        info = JSON.parse(port);
      } catch (_) {
        info = { code: 'EINTERNAL', errno: 0, syscall: 'listen', message: port };
      }
      throw listenError(info, this.#host, this.#configPort);
    }
    this.#handle = handle;
    this.#dispatcher = dispatcher;
    this.#port = port;
    this.#state = 'listening';
  }

  /**
   * Stops accepting connections, closes idle ones, lets every accepted request finish
   * and get its answer, then releases every native resource so the process can exit.
   * Handlers still running go on to their end and their answers are sent (requests
   * still arriving on open connections too, answered with `Connection: close`);
   * `ctx.closing` is true from now on. Past `timeoutMs` (default: config.closeTimeoutMs,
   * 10 s), calls still running are answered 503, their ctx.signal fires
   * (SERVER_CLOSING), connections are closed and the promise resolves.
   * Safe to call more than once; resolves when done.
   * @param {{timeoutMs?: number}} [options]
   * @returns {Promise<void>}
   */
  close(options) {
    let timeoutMs = -1; // Go's configured closeTimeoutMs
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') {
        return Promise.reject(new TypeError(`TunnelServer.close: options must be an object such as { timeoutMs: 5000 }, got ${describe(options)}`));
      }
      const t = options.timeoutMs;
      if (t !== undefined) {
        if (typeof t !== 'number' || Number.isNaN(t)) {
          return Promise.reject(new TypeError(`TunnelServer.close: options.timeoutMs must be a number of milliseconds, got ${describe(t)}`));
        }
        if (t < 0) return Promise.reject(new RangeError(`TunnelServer.close: options.timeoutMs must not be negative, got ${t}`));
        timeoutMs = Math.min(Math.floor(t), Number.MAX_SAFE_INTEGER);
      }
    }
    if (this.#state === 'idle') return Promise.resolve();
    if (this.#state === 'listening') {
      this.#state = 'closing';
      this.#closing = new Promise((resolve) => { this.#resolveClose = resolve; });
      this.#sendQueued();
      native.close(this.#handle, timeoutMs);
      // Running handlers go on (ctx.closing tells them); only the deadline aborts them.
      this.#dispatcher.beginClose();
    }
    return this.#closing;
  }

  /** Closes every connection not in the middle of a request, as Node's server does. */
  closeIdleConnections() {
    if (this.#handle !== 0) native.closeConnections(this.#handle, true);
  }

  /**
   * Closes every connection at once, requests in progress included, as Node's server
   * does. Their handlers still run; their answers are dropped.
   */
  closeAllConnections() {
    if (this.#handle !== 0) native.closeConnections(this.#handle, false);
  }

  /** Go has closed the server and released its handle (SIGNAL_CLOSED). */
  #closed() {
    // The handle is freed after this callback: read the last counters while it is valid,
    // so that getStats() keeps them after close() (a final scrape, a shutdown log line).
    this.#finalStats = this.getStats();
    this.#handle = 0;
    this.#dispatcher = null;
    this.#port = null;
    this.#state = 'idle';
    this.#closing = null;
    this.#queued = [];
    const resolve = this.#resolveClose;
    this.#resolveClose = null;
    if (resolve) resolve();
  }

  /**
   * The Go server's process died (the 'process' transport): the server is closed, and
   * the error is thrown asynchronously, as an 'error' event without a listener is by a
   * Node server: an HTTP server that silently stopped would be worse than a crash that
   * a supervisor restarts. A close() in progress resolves.
   */
  #failed(error) {
    this.#closed();
    process.nextTick(() => {
      throw error;
    });
  }

  /** @returns {Promise<string[]>} task ids in registration order */
  async getTaskIds() {
    return this.#ids(W.KIND_TASK);
  }

  /** @returns {Promise<string[]>} event ids in registration order */
  async getEventIds() {
    return this.#ids(W.KIND_EVENT);
  }

  #ids(kind) {
    return this.#handlers.filter((h) => h.kind === kind && !h.missing).map((h) => h.id);
  }

  /** The bound port while listening (the real one when configured with port 0), else null. */
  get port() {
    return this.#port;
  }

  /**
   * The bound address while listening, as Node's `server.address()` gives it
   * (`{ address, family, port }`; all interfaces are `'::'`), else null.
   * @returns {{address: string, family: string, port: number}|null}
   */
  address() {
    if (this.#port === null) return null;
    const host = this.#host === undefined || this.#host === null || this.#host === '' ? '::' : this.#host;
    return { address: host, family: net.isIPv6(host) ? 'IPv6' : 'IPv4', port: this.#port };
  }

  /**
   * Counters of the running server, read from Go without locking JavaScript out.
   * @returns {import('./index').TunnelStats}
   */
  getStats() {
    if (this.#handle === 0 && this.#finalStats !== null) return copyStats(this.#finalStats);
    const bounds = W.LATENCY_BOUNDS_MICROS;
    const values = new BigUint64Array(W.STATS.length + 2 + bounds.length);
    if (this.#handle !== 0) native.stats(this.#handle, values);
    const stats = {};
    W.STATS.forEach((name, i) => { stats[name] = Number(values[i]); });
    // After the counters, the latency histogram: the sum (µs), then each bucket's count.
    const at = W.STATS.length;
    const counts = [];
    let count = 0;
    for (let i = 0; i <= bounds.length; i++) {
      const n = Number(values[at + 1 + i]);
      counts.push(n);
      count += n;
    }
    stats.latency = { boundsMs: bounds.map((us) => us / 1000), counts, count, sumMs: Number(values[at]) / 1000 };
    return stats;
  }

  /** TEST ONLY: fault injection (see kTestOnlyFaults in lib/symbols.js). */
  set [kTestOnlyFaults](faults) {
    this.#dispatcher.faults = faults;
  }
}

/** A copy of stats that shares nothing with it (callers may change theirs). */
function copyStats(stats) {
  const l = stats.latency;
  return { ...stats, latency: { ...l, boundsMs: [...l.boundsMs], counts: [...l.counts] } };
}

module.exports = { TunnelServer, HandlerError, startWorkers };
