'use strict';
/**
 * The JavaScript end of the bridge (see internal/bridge/bridge.go for the wire format).
 *
 * When Go signals that calls are queued, the dispatcher drains them in batches into one
 * reusable buffer, parses each input once with JSON.parse, and starts every handler
 * without waiting for the previous one. Answers are encoded into a second buffer and
 * handed back to Go in one call per microtask turn, however many settled in it.
 */
const native = require('./native');

const KIND_TASK = 1;
const KIND_EVENT = 2;
const KIND_ABORT = 4;
/** Why Go stopped waiting for a call (the flags byte of an abort record). */
const ABORT_REASONS = { 1: ['TIMEOUT', 'The handler did not settle within taskTimeoutMs'], 2: ['CLIENT_DISCONNECTED', 'The client disconnected'] };
const DRAIN_HEADER = 16;
const COMPLETE_HEADER = 12;
const STATUS_RESULT = 0;
const STATUS_NO_RESULT = 1;
const STATUS_ERROR = 2;

const INITIAL_BUFFER = 64 * 1024;
/** A buffer grown for one huge request or answer is dropped back to this size after use. */
const RETAINED_BUFFER = 1024 * 1024;

/**
 * Message of a thrown or rejected value: an Error's message, a string as is, anything
 * else stringified. Never throws.
 * @param {unknown} reason
 * @param {string} fallback used when the message would be empty
 * @returns {string}
 */
function messageOf(reason, fallback) {
  let message;
  try {
    if (reason instanceof Error || (reason && typeof reason.message === 'string')) message = reason.message;
    else message = String(reason);
  } catch (_) {
    message = '';
  }
  return message || fallback;
}

/** An AbortSignal reason: an Error named AbortError with a machine-readable code. */
function abortReason(code, message) {
  const err = new Error(message);
  err.name = 'AbortError';
  err.code = code;
  return err;
}

/** Ends a context's life: module-private, so handlers never see it on ctx. */
const SETTLE = Symbol('settle');

/**
 * The second argument of every handler. `headers` and `signal` are built on first use,
 * so handlers that ignore them pay nothing for them.
 */
class CallContext {
  constructor(dispatcher, callId, kind, id) {
    this.#dispatcher = dispatcher;
    this.#callId = callId;
    /** @type {'task'|'event'} */
    this.kind = kind === KIND_EVENT ? 'event' : 'task';
    /** The task or event id. */
    this.id = id;
  }

  #dispatcher;
  #callId;
  #headers;
  #controller;
  #settled = false;

  /**
   * Request headers with lower-case names (repeated ones joined with ", "). Read them
   * before the call times out: afterwards they are gone and this is {}.
   * @returns {Record<string, string>}
   */
  get headers() {
    if (this.#headers === undefined) this.#headers = this.#dispatcher.headersOf(this.#callId);
    return this.#headers;
  }

  /**
   * Fires when the client disconnects before its answer, the call times out
   * (taskTimeoutMs), or the server closes. reason.code says which.
   * @returns {AbortSignal}
   */
  get signal() {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (!this.#settled) this.#dispatcher.controllers.set(this.#callId, this.#controller);
    }
    return this.#controller.signal;
  }

  /** The handler settled: its signal, if it asked for one, will never fire. */
  [SETTLE]() {
    this.#settled = true;
    if (this.#controller !== undefined) this.#dispatcher.controllers.delete(this.#callId);
  }
}

class Dispatcher {
  /**
   * @param {number} handle the Go server's handle
   * @param {Array<{kind: number, id: string, fn: Function}>} handlers by slot (shared, live)
   * @param {() => void} onClosed called once Go has finished closing
   */
  constructor(handle, handlers, onClosed) {
    this.handle = handle;
    this.handlers = handlers;
    this.onClosed = onClosed;
    this.in = Buffer.allocUnsafeSlow(INITIAL_BUFFER);
    this.out = Buffer.allocUnsafeSlow(INITIAL_BUFFER);
    this.outLength = 0;
    this.flushQueued = false;
    /** @type {Map<number, AbortController>} signals handed out for calls still running */
    this.controllers = new Map();
    this.headerBuf = Buffer.allocUnsafeSlow(4096);
    this.flush = this.flush.bind(this);
  }

  /** Called by the addon on the JavaScript thread. Must never throw. */
  onSignal(what) {
    try {
      if (what === native.SIGNAL_REQUESTS) this.drain();
      else if (what === native.SIGNAL_CLOSED) {
        this.flush();
        this.handle = 0;
        this.onClosed();
      }
    } catch (err) {
      process.emitWarning(`runner-native: internal dispatcher error: ${err && err.stack}`);
    }
  }

  drain() {
    for (;;) {
      const n = native.drain(this.handle, this.in);
      if (n === 0) break;
      if (n < 0) {
        this.in = Buffer.allocUnsafeSlow(Math.max(-n, this.in.length * 2));
        continue;
      }
      this.dispatch(n);
    }
    if (this.in.length > RETAINED_BUFFER) this.in = Buffer.allocUnsafeSlow(INITIAL_BUFFER);
    this.flush(); // answers of synchronous handlers leave now, not a microtask later
  }

  dispatch(length) {
    const buf = this.in;
    let off = 0;
    while (off < length) {
      const id = buf.readUInt32LE(off);
      const slot = buf.readUInt32LE(off + 4);
      const kind = buf[off + 8];
      const flags = buf[off + 9];
      const size = buf.readUInt32LE(off + 12);
      const start = off + DRAIN_HEADER;
      off = start + size;
      if (kind === KIND_ABORT) {
        this.abort(id, ...(ABORT_REASONS[flags] || ['ABORTED', 'The call was aborted']));
        continue;
      }
      const hasInput = (flags & 1) === 1;
      let input;
      if (hasInput) {
        try {
          input = JSON.parse(buf.toString('utf8', start, off));
        } catch (err) {
          this.push(id, STATUS_ERROR, `Invalid JSON input: ${messageOf(err, 'parse error')}`);
          continue;
        }
      }
      this.run(id, kind, this.handlers[slot], input);
    }
  }

  run(id, kind, entry, input) {
    const ctx = new CallContext(this, id, kind, entry.id);
    let ret;
    try {
      ret = entry.fn(input, ctx);
      if (ret !== null && (typeof ret === 'object' || typeof ret === 'function') && typeof ret.then === 'function') {
        ret.then((value) => { ctx[SETTLE](); this.succeed(id, kind, value); }, (reason) => { ctx[SETTLE](); this.fail(id, kind, reason); });
        return;
      }
    } catch (reason) {
      ctx[SETTLE]();
      this.fail(id, kind, reason);
      return;
    }
    ctx[SETTLE]();
    this.succeed(id, kind, ret);
  }

  /** Fires the signal of call id, if its handler asked for one. */
  abort(id, code, message) {
    const controller = this.controllers.get(id);
    if (!controller) return;
    this.controllers.delete(id);
    controller.abort(abortReason(code, message));
  }

  /** Fires every signal still live (the server is closing). */
  abortAll(code, message) {
    for (const id of [...this.controllers.keys()]) this.abort(id, code, message);
  }

  /** Headers of a call still waiting in Go, or {} once it is gone. */
  headersOf(id) {
    if (this.handle === 0) return {};
    let n = native.headers(this.handle, id, this.headerBuf);
    if (n < 0) {
      this.headerBuf = Buffer.allocUnsafeSlow(-n);
      n = native.headers(this.handle, id, this.headerBuf);
    }
    return n > 0 ? JSON.parse(this.headerBuf.toString('utf8', 0, n)) : {};
  }

  succeed(id, kind, value) {
    if (kind === KIND_EVENT) {
      this.push(id, STATUS_NO_RESULT, '');
      return;
    }
    let json;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      this.push(id, STATUS_ERROR, `Task result could not be serialized to JSON: ${messageOf(err, 'unknown error')}`);
      return;
    }
    if (json === undefined) this.push(id, STATUS_NO_RESULT, '');
    else this.push(id, STATUS_RESULT, json);
  }

  fail(id, kind, reason) {
    this.push(id, STATUS_ERROR, messageOf(reason, kind === KIND_EVENT ? 'Event handler failed' : 'Task execution failed'));
  }

  /** Encodes one answer; schedules a flush at the end of this microtask turn. */
  push(id, status, text) {
    const worst = COMPLETE_HEADER + text.length * 3; // UTF-8 bytes per UTF-16 unit, at most
    if (this.outLength + worst > this.out.length) {
      this.flush();
      if (worst > this.out.length) this.out = Buffer.allocUnsafeSlow(worst);
    }
    const out = this.out;
    const at = this.outLength;
    out.writeUInt32LE(id, at);
    out.writeUInt32LE(status, at + 4); // status byte + 3 zero bytes
    const written = text.length === 0 ? 0 : out.write(text, at + COMPLETE_HEADER, 'utf8');
    out.writeUInt32LE(written, at + 8);
    this.outLength = at + COMPLETE_HEADER + written;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  /** Hands every encoded answer to Go in one call. */
  flush() {
    this.flushQueued = false;
    if (this.outLength === 0) return;
    if (this.handle !== 0) native.complete(this.handle, this.out, this.outLength);
    this.outLength = 0;
    if (this.out.length > RETAINED_BUFFER) this.out = Buffer.allocUnsafeSlow(INITIAL_BUFFER);
  }
}

module.exports = { Dispatcher, KIND_TASK, KIND_EVENT };
