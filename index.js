'use strict';
/**
 * @bluelibs/runner-native: an HTTP tunnel server whose HTTP side (fasthttp, in Go) runs
 * inside this Node process and calls the task and event handlers registered here.
 *
 * The class below keeps the API of the original package; see index.d.ts for the types
 * and README.md for the protocol.
 */
const native = require('./lib/native');
const { Dispatcher, KIND_TASK, KIND_EVENT } = require('./lib/dispatcher');

/** Optional integer config fields and their smallest value (taskTimeoutMs: 0 means no limit). */
const INTEGER_FIELDS = {
  maxBodySize: 1,
  maxHeaderSize: 1,
  maxJsonDepth: 1,
  readTimeoutMs: 1,
  writeTimeoutMs: 1,
  idleTimeoutMs: 1,
  maxConnections: 1,
  maxInFlight: 1,
  taskTimeoutMs: 0,
};

/** Order of the counters filled by the addon's stats(); mirrors cmd/librunner. */
const STAT_NAMES = [
  'requests', 'status2xx', 'status4xx', 'status5xx', 'panics', 'pending', 'connections',
  'inFlight', 'timeouts', 'rejected', 'disconnects',
];

/**
 * Validates a TunnelConfig and returns the normalised copy sent to Go.
 * @param {import('./index').TunnelConfig} config
 */
function normaliseConfig(config) {
  if (config === null || typeof config !== 'object') {
    throw new TypeError('TunnelServer: config must be an object such as { port: 7070 }');
  }
  const { port, host = '', basePath = '/__runner', corsOrigins = ['*'] } = config;
  if (typeof port !== 'number' || !Number.isInteger(port)) {
    throw new TypeError(`TunnelServer: config.port must be an integer, got ${describe(port)}`);
  }
  if (port < 0 || port > 65535) {
    throw new RangeError(`TunnelServer: config.port must be between 0 and 65535, got ${port}`);
  }
  if (typeof host !== 'string') {
    throw new TypeError(`TunnelServer: config.host must be a string, got ${describe(host)}`);
  }
  if (typeof basePath !== 'string') {
    throw new TypeError(`TunnelServer: config.basePath must be a string, got ${describe(basePath)}`);
  }
  if (/[?#%\s]/.test(basePath)) {
    throw new RangeError(`TunnelServer: config.basePath must not contain '?', '#', '%' or spaces, got ${JSON.stringify(basePath)}`);
  }
  if (!Array.isArray(corsOrigins) || !corsOrigins.every((o) => typeof o === 'string' && o.length > 0)) {
    throw new TypeError('TunnelServer: config.corsOrigins must be an array of non-empty strings, such as ["*"]');
  }
  const out = { port, host, basePath: normaliseBasePath(basePath), corsOrigins: [...corsOrigins] };
  for (const [field, min] of Object.entries(INTEGER_FIELDS)) {
    const value = config[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new TypeError(`TunnelServer: config.${field} must be an integer, got ${describe(value)}`);
    }
    if (value < min || value > 0x7fffffff) {
      throw new RangeError(`TunnelServer: config.${field} must be between ${min} and ${0x7fffffff}, got ${value}`);
    }
    out[field] = value;
  }
  if (config.reduceMemoryUsage !== undefined) {
    if (typeof config.reduceMemoryUsage !== 'boolean') {
      throw new TypeError(`TunnelServer: config.reduceMemoryUsage must be a boolean, got ${describe(config.reduceMemoryUsage)}`);
    }
    out.reduceMemoryUsage = config.reduceMemoryUsage;
  }
  if (config.auth !== undefined) {
    const { auth } = config;
    if (auth === null || typeof auth !== 'object' || typeof auth.token !== 'string' || auth.token.length === 0) {
      throw new TypeError('TunnelServer: config.auth must be { token: string, header?: string } with a non-empty token');
    }
    const header = auth.header === undefined ? 'x-runner-token' : auth.header;
    if (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
      throw new TypeError(`TunnelServer: config.auth.header must be a valid header name, got ${describe(header)}`);
    }
    out.authToken = auth.token;
    out.authHeader = header.toLowerCase();
  }
  return out;
}

/**
 * One leading slash, no trailing slash. The root stays "/" (Go reads "" as "unset" and
 * serves the root for "/").
 */
function normaliseBasePath(p) {
  return `/${p.replace(/^\/+|\/+$/g, '')}`;
}

function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

/**
 * Turns the addon's "CODE: text" into an Error shaped like Node's own listen errors.
 * @returns {Error & {code: string, syscall: string, address: string, port: number}}
 */
function listenError(message, host, port) {
  const colon = message.indexOf(':');
  const code = colon > 0 ? message.slice(0, colon) : 'ELISTEN';
  const address = host || '0.0.0.0';
  const err = new Error(`listen ${code}: ${message.slice(colon + 1).trim()} (${address}:${port})`);
  err.code = code;
  err.syscall = 'listen';
  err.address = address;
  err.port = port;
  return err;
}

class TunnelServer {
  /** @type {ReturnType<typeof normaliseConfig>} */
  #config;
  /** handler entries by slot; a slot is reused when an id is registered again */
  #handlers = [];
  /** `${kind}:${id}` -> slot */
  #slots = new Map();
  #handle = 0;
  /** @type {Dispatcher|null} */
  #dispatcher = null;
  #port = null;
  #state = 'idle'; // idle | listening | closing
  /** @type {Promise<void>|null} settles when the current close() is done */
  #closing = null;
  #resolveClose = null;

  /**
   * @param {import('./index').TunnelConfig} config
   * @throws {TypeError|RangeError} when a field is invalid; the message names the field
   */
  constructor(config) {
    this.#config = normaliseConfig(config);
  }

  /**
   * Registers (or replaces) the handler of a task. Takes effect at once, also while
   * listening.
   * @param {string} taskId
   * @param {(input: any, ctx: import('./index').CallContext) => any} handler
   */
  registerTask(taskId, handler) {
    this.#register(KIND_TASK, 'registerTask', 'taskId', taskId, handler);
  }

  /**
   * Registers (or replaces) the handler of an event.
   * @param {string} eventId
   * @param {(payload: any, ctx: import('./index').CallContext) => any} handler
   */
  registerEvent(eventId, handler) {
    this.#register(KIND_EVENT, 'registerEvent', 'eventId', eventId, handler);
  }

  #register(kind, method, name, id, fn) {
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`TunnelServer.${method}: ${name} must be a non-empty string, got ${describe(id)}`);
    }
    if (typeof fn !== 'function') {
      throw new TypeError(`TunnelServer.${method}: the handler for ${JSON.stringify(id)} must be a function, got ${describe(fn)}`);
    }
    const key = `${kind}:${id}`;
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#handlers.length;
      this.#slots.set(key, slot);
      this.#handlers.push({ kind, id, fn });
    } else {
      this.#handlers[slot].fn = fn;
    }
    if (this.#handle !== 0) native.register(this.#handle, kind, id, slot);
  }

  /**
   * Binds the port and starts serving. Resolves once connections are accepted.
   * @returns {Promise<void>} rejects with an Error carrying `code` (e.g. 'EADDRINUSE')
   */
  async listen() {
    if (this.#state === 'listening') throw new Error('TunnelServer.listen: the server is already listening; call close() first');
    if (this.#state === 'closing') throw new Error('TunnelServer.listen: the server is still closing; await close() first');
    const handle = native.create(JSON.stringify(this.#config));
    if (typeof handle === 'string') throw new Error(`TunnelServer.listen: ${handle}`);
    for (const [slot, { kind, id }] of this.#handlers.entries()) native.register(handle, kind, id, slot);
    const dispatcher = new Dispatcher(handle, this.#handlers, () => this.#closed());
    const port = native.listen(handle, (what) => dispatcher.onSignal(what));
    if (typeof port === 'string') {
      native.free(handle);
      throw listenError(port, this.#config.host, this.#config.port);
    }
    this.#handle = handle;
    this.#dispatcher = dispatcher;
    this.#port = port;
    this.#state = 'listening';
  }

  /**
   * Stops accepting connections, answers every request already accepted, closes idle
   * keep-alive connections and releases every native resource, so the process can exit.
   * Safe to call more than once; resolves when done.
   * @returns {Promise<void>}
   */
  close() {
    if (this.#state === 'idle') return Promise.resolve();
    if (this.#state === 'listening') {
      this.#state = 'closing';
      this.#closing = new Promise((resolve) => { this.#resolveClose = resolve; });
      native.close(this.#handle);
      // Tell running handlers to wrap up; their answers are still sent.
      this.#dispatcher.abortAll('SERVER_CLOSING', 'The server is closing');
    }
    return this.#closing;
  }

  /** Go has closed the server and released its handle (RN_SIGNAL_CLOSED). */
  #closed() {
    this.#handle = 0;
    this.#dispatcher = null;
    this.#port = null;
    this.#state = 'idle';
    this.#closing = null;
    const resolve = this.#resolveClose;
    this.#resolveClose = null;
    if (resolve) resolve();
  }

  /** @returns {Promise<string[]>} task ids in registration order */
  async getTaskIds() {
    return this.#ids(KIND_TASK);
  }

  /** @returns {Promise<string[]>} event ids in registration order */
  async getEventIds() {
    return this.#ids(KIND_EVENT);
  }

  #ids(kind) {
    return this.#handlers.filter((h) => h.kind === kind).map((h) => h.id);
  }

  /** The bound port while listening (the real one when configured with port 0), else null. */
  get port() {
    return this.#port;
  }

  /**
   * Counters of the running server, read from Go without locking JavaScript out.
   * @returns {import('./index').TunnelStats}
   */
  getStats() {
    const values = new BigUint64Array(STAT_NAMES.length);
    if (this.#handle !== 0) native.stats(this.#handle, values);
    const stats = {};
    STAT_NAMES.forEach((name, i) => { stats[name] = Number(values[i]); });
    return stats;
  }
}

module.exports = { TunnelServer };
