'use strict';
/**
 * The JavaScript end of the bridge (byte format: internal/wire, constants: lib/wire.js).
 *
 * When Go wakes this thread, the dispatcher calls exchange(): Go takes the answers
 * encoded so far and hands back every queued record in one crossing. Each record is
 * handled on its own (a throw while handling one answers that call 500 and the others
 * go on): calls start their handler without waiting for the previous one, checks run
 * the auth validator or the CORS origin policy, aborts fire signals. Answers are
 * encoded into a second buffer and handed back by the next exchange, made at the end of
 * the current microtask turn, which also takes the records queued meanwhile.
 */
const native = require('./native');
const W = require('./wire');
const { HandlerError } = require('./errors');
const { BodyStream, MultipartForm, discardedError, streamAnswer, isStreamingAnswer } = require('./streams');
const { kOnAbort } = require('./symbols');

const INITIAL_BUFFER = 64 * 1024;
/** A buffer grown for one huge request or answer is dropped back to this size after use. */
const RETAINED_BUFFER = 1024 * 1024;
/** Exchanges made in a row before the thread yields to the rest of the event loop. */
const MAX_ROUNDS = 16;
/**
 * A body chunk at least this large (and at least half the batch buffer) is handed to its
 * stream as a view of the batch buffer instead of a copy; the dispatcher then takes a
 * fresh batch buffer for the next exchange, so the view stays valid for as long as its
 * reader keeps it.
 */
const LEND_MIN = 16 * 1024;
const SLOT_MASK = 0xffffff;

/**
 * Message of a thrown or rejected value: an Error's message, a string as is, anything
 * else stringified. Never throws.
 * @param {unknown} reason
 * @param {string} fallback used when the message would be empty
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
function abortReason(aux) {
  const known = W.ABORT_REASONS[aux] || { code: 'ABORTED', message: 'The call was aborted' };
  const err = new Error(known.message);
  err.name = 'AbortError';
  err.code = known.code;
  return err;
}

/**
 * The error of a server whose Go process died (RUNNER_NATIVE_SERVER_EXITED): its calls are
 * aborted with it, and TunnelServer reports it.
 */
function serverExited() {
  const err = new Error(`runner-native: the Go server process (pid ${native.serverPid()}) ended unexpectedly, and its HTTP server with it; `
    + 'restart this Node process (its stderr may say what happened)');
  err.code = 'RUNNER_NATIVE_SERVER_EXITED';
  return err;
}

/** Module-private operations on a context: handlers never see them on ctx. */
const SETTLE = Symbol('settle');
const ABORT = Symbol('abort');
const CALL_ID = Symbol('callId');

/**
 * The second argument of every handler. `headers` and `signal` are built on first use,
 * so handlers that ignore them pay nothing for them.
 */
/** What a call whose client is gone (or was never TCP) reports. */
const NO_CLIENT = Object.freeze({ address: undefined, port: undefined, family: undefined });

class CallContext {
  constructor(dispatcher, callId, kind, id, extras, returnPayload) {
    this.#dispatcher = dispatcher;
    this.#callId = callId;
    /** @type {'task'|'event'} */
    this.kind = kind === W.KIND_EVENT ? 'event' : 'task';
    /** The task or event id. */
    this.id = id;
    /** x-runner-request-id of the request (runner protocol), else undefined. */
    this.requestId = extras.requestId;
    /** The request target as received, e.g. '/__runner/task/app.add?x=1' (runner protocol). */
    this.url = extras.url;
    /** Always 'POST': tasks and events are only called by POST. */
    this.method = 'POST';
    /** The raw x-runner-context header (runner protocol), else undefined. */
    this.contextHeader = extras.context;
    /** Events: whether the client asked for the event's result (returnPayload). */
    this.returnPayload = returnPayload;
  }

  #dispatcher;
  #callId;
  #headers;
  #client;
  #controller;
  #reason;
  #settled = false;
  /** kOnAbort listeners: one function, or an array of them once there are several. */
  #onAbort;

  /**
   * Request headers with lower-case names (repeated ones joined with ", "). Read them
   * while the call runs: once it has been answered or aborted they are gone and this is {}.
   * @returns {Record<string, string>}
   */
  get headers() {
    if (this.#headers === undefined) this.#headers = this.#dispatcher.headersOf(this.#callId);
    return this.#headers;
  }

  /**
   * Fires when the client disconnects before its answer, the call times out
   * (taskTimeoutMs), or close() reaches its deadline with the call still running;
   * reason.code says which. A signal first read after that is born aborted, with the
   * same reason. close() alone does not fire it: a graceful shutdown lets calls finish.
   * @returns {AbortSignal}
   */
  get signal() {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * The client's IP address, as Node's `req.socket.remoteAddress` ('127.0.0.1', '::1';
   * an IPv4-mapped address as IPv4). Read it while the call runs: once it has been
   * answered the connection may serve another client, and this is undefined.
   * @returns {string|undefined}
   */
  get remoteAddress() {
    return this.#remote().address;
  }

  /** The client's port, as `req.socket.remotePort`. @returns {number|undefined} */
  get remotePort() {
    return this.#remote().port;
  }

  /** 'IPv4' or 'IPv6', as `req.socket.remoteFamily`. @returns {string|undefined} */
  get remoteFamily() {
    return this.#remote().family;
  }

  #remote() {
    if (this.#client === undefined) this.#client = this.#dispatcher.remoteOf(this.#callId) || NO_CLIENT;
    return this.#client;
  }

  /**
   * Whether close() has begun on this server: the call still runs to its end and its
   * answer is sent, but a long handler may choose to wrap up early.
   * @returns {boolean}
   */
  get closing() {
    return this.#dispatcher.closing;
  }

  /** The bridge's id of this call (a slot reused by a later call has another id). */
  get [CALL_ID]() {
    return this.#callId;
  }

  /**
   * Calls fn(reason) when the call is aborted (see lib/symbols.js kOnAbort). Listeners
   * run in the order they were added, before ctx.signal's own listeners.
   * @returns {Error|undefined} the reason, when the call was already aborted
   */
  [kOnAbort](fn) {
    if (this.#reason !== undefined) return this.#reason;
    if (this.#settled) return undefined; // never fires from now on
    const current = this.#onAbort;
    if (current === undefined) this.#onAbort = fn;
    else if (typeof current === 'function') this.#onAbort = [current, fn];
    else current.push(fn);
    return undefined;
  }

  /** Aborts the call (the first reason wins); nothing happens once it has settled. */
  [ABORT](reason) {
    if (this.#settled || this.#reason !== undefined) return;
    this.#reason = reason;
    const listeners = this.#onAbort;
    this.#onAbort = undefined;
    if (typeof listeners === 'function') callListener(listeners, reason);
    else if (listeners !== undefined) for (const fn of listeners) callListener(fn, reason);
    if (this.#controller !== undefined) this.#controller.abort(reason);
  }

  /** The handler settled: its signal will never fire from now on. */
  [SETTLE]() {
    this.#settled = true;
    this.#onAbort = undefined;
  }
}

/**
 * Runs an abort listener as an AbortSignal runs its own: a throw does not stop the
 * others and surfaces as an uncaught exception on the next tick.
 */
function callListener(fn, reason) {
  try {
    fn(reason);
  } catch (err) {
    process.nextTick(() => { throw err; });
  }
}

/**
 * Decodes access records (internal/wire Access) into the objects onRequests gets.
 * @returns {import('../index').RequestRecord[]}
 */
function readAccess(buf, start, end) {
  const records = [];
  let off = start;
  while (off + W.ACCESS_HEADER <= end) {
    const lengths = off + W.ACCESS_AT_LENGTHS;
    let from = off + W.ACCESS_HEADER;
    let to = from + buf.readUInt16LE(lengths);
    const method = buf.latin1Slice(from, to);
    from = to; to += buf.readUInt16LE(lengths + 2);
    const path = buf.latin1Slice(from, to);
    from = to; to += buf.readUInt16LE(lengths + 4);
    const id = to > from ? buf.utf8Slice(from, to) : undefined;
    from = to; to += buf.readUInt16LE(lengths + 6);
    const requestId = to > from ? buf.latin1Slice(from, to) : undefined;
    from = to; to += buf.readUInt16LE(lengths + 8);
    const remoteAddress = to > from ? buf.latin1Slice(from, to) : undefined;
    const kind = buf[off + W.ACCESS_AT_KIND];
    records.push({
      time: buf.readDoubleLE(off + W.ACCESS_AT_TIME),
      method,
      path,
      kind: kind === W.KIND_TASK ? 'task' : kind === W.KIND_EVENT ? 'event' : undefined,
      id,
      status: buf.readUInt16LE(off + W.ACCESS_AT_STATUS),
      durationMs: buf.readDoubleLE(off + W.ACCESS_AT_DURATION),
      bytesIn: buf.readDoubleLE(off + W.ACCESS_AT_BYTES_IN),
      bytesOut: buf.readDoubleLE(off + W.ACCESS_AT_BYTES_OUT),
      remoteAddress,
      remotePort: remoteAddress === undefined ? undefined : buf.readUInt16LE(off + W.ACCESS_AT_REMOTE_PORT),
      requestId,
    });
    off = to;
  }
  return records;
}

/**
 * Reads the extras of a record into an object ({requestId, context, returnPayload,
 * origin, method, url, path, code, fileId, filename, filenameCharset, fileType});
 * absent ones stay undefined. A filename stays bytes (its charset says how to read it).
 */
function readExtras(buf, start, end) {
  const out = {};
  let off = start;
  while (off + W.EXTRA_HEADER <= end) {
    const tag = buf.readUInt32LE(off + W.EXTRA_AT_TAG);
    const len = buf.readUInt32LE(off + W.EXTRA_AT_LEN);
    const from = off + W.EXTRA_HEADER;
    const text = buf.toString('utf8', from, from + len);
    off = from + len;
    switch (tag) {
      case W.EXTRA_REQUEST_ID: out.requestId = text; break;
      case W.EXTRA_CONTEXT: out.context = text; break;
      case W.EXTRA_RETURN_PAYLOAD: out.returnPayload = text; break;
      case W.EXTRA_ORIGIN: out.origin = text; break;
      case W.EXTRA_METHOD: out.method = text; break;
      case W.EXTRA_URL: out.url = text; break;
      case W.EXTRA_PATH: out.path = text; break;
      case W.EXTRA_CODE: out.code = text; break;
      case W.EXTRA_FILE_ID: out.fileId = text; break;
      case W.EXTRA_FILENAME: out.filename = Buffer.from(buf.subarray(from, from + len)); break;
      case W.EXTRA_FILENAME_CHARSET: out.filenameCharset = text; break;
      case W.EXTRA_FILE_TYPE: out.fileType = text; break;
      case W.EXTRA_HEADERS: out.headers = text; break;
      default: break;
    }
  }
  return out;
}

const NO_EXTRAS = Object.freeze({});

class Dispatcher {
  /**
   * @param {number} handle the Go server's handle
   * @param {Array<{kind: number, id: string, fn: Function}>} handlers by slot (shared, live)
   * @param {object} options
   * @param {{parse: (text: string) => any, stringify: (value: any) => string}} [options.serializer]
   * @param {(request: object) => unknown} [options.authValidator]
   * @param {(origin: string|undefined) => unknown} [options.corsOrigin] a RegExp's test or a function
   * @param {(info: object) => void} [options.onAuthFailure]
   * @param {(error: unknown, info: {kind: string, id: string|undefined, requestId: string|undefined}) => void} [options.onHandlerError]
   * @param {() => void} options.onClosed called once Go has finished closing
   * @param {(error: Error) => void} options.onFailed called instead when the Go server's
   *   process died (the 'process' transport)
   */
  constructor(handle, handlers, options) {
    this.handle = handle;
    this.handlers = handlers;
    this.options = options;
    const serializer = options.serializer;
    this.parse = serializer ? (text) => serializer.parse(text) : JSON.parse;
    this.stringify = serializer ? (value) => serializer.stringify(value) : JSON.stringify;
    this.in = Buffer.allocUnsafeSlow(INITIAL_BUFFER);
    /** Whether views of `in` were handed out (see LEND_MIN): it must not be written again. */
    this.lent = false;
    this.out = Buffer.allocUnsafeSlow(INITIAL_BUFFER);
    this.outLength = 0;
    this.flushQueued = false;
    this.exchanging = false;
    this.closing = false;
    /** @type {Array<CallContext|undefined>} running calls by slot (call id & SLOT_MASK) */
    this.calls = [];
    /** Answer streams on their way to Go, and streamed request bodies, by call id. */
    this.streams = new Map();
    this.bodies = new Map();
    this.headerBuf = Buffer.allocUnsafeSlow(4096);
    this.flush = this.flush.bind(this);
    /** Test-only fault injection (see test/hardening.test.js); never set in production. */
    this.faults = null;
  }

  /** Called by the addon on the JavaScript thread. Must never throw. */
  onSignal(what) {
    try {
      if (what === W.SIGNAL_WAKE) {
        if (this.faults && this.faults.dropWake && this.faults.dropWake()) return;
        this.exchange(W.EXCHANGE_WAKE);
      } else if (what === W.SIGNAL_CLOSED) {
        this.exchange(W.EXCHANGE_FLUSH); // the last answers out, the last aborts in
        this.handle = 0;
        this.options.onClosed();
      } else if (what === W.SIGNAL_FAILED) {
        this.handle = 0;
        const error = serverExited();
        this.failAll(error);
        this.options.onFailed(error);
      }
    } catch (err) {
      process.emitWarning(`runner-native: internal dispatcher error: ${err && err.stack}`);
    }
  }

  /**
   * Hands the encoded answers to Go and handles the records it gives back, as long as
   * there are some (up to MAX_ROUNDS; Go wakes this thread again for the rest).
   */
  exchange(mode) {
    if (this.handle === 0 || this.exchanging) return;
    this.exchanging = true;
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (this.lent) {
          this.in = Buffer.allocUnsafeSlow(this.in.length);
          this.lent = false;
        }
        const n = native.exchange(this.handle, mode, this.out, this.outLength, this.in);
        this.outLength = 0;
        mode = W.EXCHANGE_FLUSH;
        if (n === -1) throw new Error('Go refused a corrupt answer batch');
        if (n < 0) {
          this.in = Buffer.allocUnsafeSlow(Math.max(-n, this.in.length * 2));
          continue;
        }
        if (n > 0) this.dispatch(n);
        if (n === 0 && this.outLength === 0) break;
      }
    } finally {
      this.exchanging = false;
      if (this.in.length > RETAINED_BUFFER) this.in = Buffer.allocUnsafeSlow(INITIAL_BUFFER);
      if (this.out.length > RETAINED_BUFFER && this.outLength === 0) this.out = Buffer.allocUnsafeSlow(INITIAL_BUFFER);
    }
    // Answers pushed while exchanging but not yet handed over leave with the next flush.
    if (this.outLength > 0) this.scheduleFlush();
  }

  dispatch(length) {
    const buf = this.in;
    let off = 0;
    while (off + W.CALL_HEADER <= length) {
      const id = buf.readUInt32LE(off + W.CALL_AT_ID);
      const kind = buf[off + W.CALL_AT_KIND];
      const flags = buf[off + W.CALL_AT_FLAGS];
      const aux = buf.readUInt16LE(off + W.CALL_AT_AUX);
      const slot = buf.readUInt32LE(off + W.CALL_AT_SLOT);
      const inputLen = buf.readUInt32LE(off + W.CALL_AT_INPUT_LEN);
      const extraLen = buf.readUInt32LE(off + W.CALL_AT_EXTRA_LEN);
      const start = off + W.CALL_HEADER;
      const inputEnd = start + inputLen;
      off = inputEnd + extraLen;
      try {
        if (kind === W.KIND_ABORT) {
          this.abort(id, aux);
        } else if (kind === W.KIND_CREDIT) {
          const answer = this.streams.get(id);
          if (answer) answer.credit(slot);
        } else if (kind === W.KIND_BODY) {
          const body = this.bodies.get(id);
          if (body) {
            const extras = extraLen === 0 ? NO_EXTRAS : readExtras(buf, inputEnd, off);
            let bytes = buf.subarray(start, inputEnd);
            // A view pins the whole batch buffer: lend only when the chunk is large and
            // fills at least half of it, so a reader keeping chunks keeps at most twice
            // their bytes.
            if (inputLen >= LEND_MIN && inputLen * 2 >= buf.length) this.lent = true;
            else bytes = Buffer.from(bytes);
            if (body instanceof MultipartForm) body.deliver(aux, flags, bytes, extras, slot);
            else body.deliver(flags, bytes, extras.code);
          }
        } else if (kind === W.KIND_TASK || kind === W.KIND_EVENT) {
          const extras = extraLen === 0 ? NO_EXTRAS : readExtras(buf, inputEnd, off);
          this.call(id, kind, slot, (flags & W.FLAG_HAS_INPUT) !== 0 ? buf.toString('utf8', start, inputEnd) : undefined, extras, flags, aux);
        } else if (kind === W.KIND_CHECK) {
          this.check(id, aux, readExtras(buf, inputEnd, off));
        } else if (kind === W.KIND_NOTICE) {
          if (aux === W.NOTICE_ACCESS) this.requests(buf, start, inputEnd, id);
          else this.notice(aux, slot, readExtras(buf, inputEnd, off), id);
        }
      } catch (err) {
        // Whatever went wrong belongs to this record alone: answer it, keep going.
        if (kind === W.KIND_TASK || kind === W.KIND_EVENT || kind === W.KIND_CHECK) this.pushError(id, 500, undefined, messageOf(err, 'Internal error'));
      }
    }
  }

  /** Starts the handler of one call. */
  call(id, kind, slot, text, extras, flags, aux) {
    if (this.faults && this.faults.call) this.faults.call(id);
    const entry = this.handlers[slot];
    let input;
    if (text !== undefined) {
      try {
        input = this.parse(text);
      } catch (err) {
        this.pushText(id, W.ANSWER_BAD_INPUT, messageOf(err, 'parse error'));
        return;
      }
    }
    let returnPayload = false;
    if (extras.returnPayload !== undefined) {
      try {
        returnPayload = Boolean(this.parse(extras.returnPayload));
      } catch (err) {
        this.pushText(id, W.ANSWER_BAD_INPUT, messageOf(err, 'parse error'));
        return;
      }
    }
    const ctx = new CallContext(this, id, kind, entry.id, extras, returnPayload);
    if ((flags & W.FLAG_BODY_STREAM) !== 0) {
      const body = new BodyStream((offset) => this.pushCredit(id, 0, offset, 0));
      body.once('close', () => { if (this.bodies.get(id) === body) this.bodies.delete(id); });
      this.bodies.set(id, body);
      ctx.body = body;
    } else if ((flags & W.FLAG_MULTIPART) !== 0) {
      const form = new MultipartForm(this, id, aux);
      this.bodies.set(id, form);
      /** A multipart form's files (runner protocol; see lib/streams.js MultipartForm). */
      ctx.form = form;
    }
    this.calls[id & SLOT_MASK] = ctx;
    let ret;
    try {
      ret = entry.fn(input, ctx);
    } catch (reason) {
      this.settle(id, ctx);
      this.fail(id, kind, reason, ctx);
      return;
    }
    if (ret !== null && (typeof ret === 'object' || typeof ret === 'function') && typeof ret.then === 'function' && !isStreamingAnswer(ret)) {
      ret.then(
        (value) => this.settleWith(id, kind, ctx, value),
        (reason) => { this.settle(id, ctx); this.fail(id, kind, reason, ctx); },
      );
      return;
    }
    this.settleWith(id, kind, ctx, ret);
  }

  /** The handler returned value: answer it, as a stream when it is one. */
  settleWith(id, kind, ctx, value) {
    if (kind === W.KIND_TASK && isStreamingAnswer(value)) {
      // The call lives on until the stream is over: aborts still reach its signal.
      streamAnswer(this, id, value, (err) => this.fail(id, kind, err, ctx))
        .catch((err) => { this.report(err, kind, ctx); this.pushText(id, W.ANSWER_STREAM_ERROR, messageOf(err, 'stream failed')); })
        .finally(() => this.settle(id, ctx));
      return;
    }
    this.settle(id, ctx);
    this.succeed(id, kind, ctx, value);
  }

  settle(id, ctx) {
    ctx[SETTLE]();
    const slot = id & SLOT_MASK;
    if (this.calls[slot] === ctx) this.calls[slot] = undefined;
    // Go sends nothing more of the call's body: what was not read to its end fails.
    const body = this.bodies.get(id);
    if (body) {
      this.bodies.delete(id);
      if (body instanceof MultipartForm) body.close();
      else if (!body.ended) body.destroy(discardedError());
    }
  }

  /** Fires the signal of call id, if it still runs here, and ends its streams. */
  abort(id, aux) {
    const ctx = this.calls[id & SLOT_MASK];
    const reason = abortReason(aux);
    if (ctx !== undefined && ctx[CALL_ID] === id) ctx[ABORT](reason);
    const answer = this.streams.get(id);
    if (answer) answer.abort(reason);
    const body = this.bodies.get(id);
    if (body) {
      this.bodies.delete(id);
      body.destroy(reason);
    }
  }

  /**
   * The Go server is gone with everything it held: every running call here is aborted
   * with reason, its streams ended. Their answers can no longer go anywhere.
   */
  failAll(reason) {
    for (const ctx of this.calls) if (ctx !== undefined) ctx[ABORT](reason);
    for (const answer of this.streams.values()) answer.abort(reason);
    for (const body of this.bodies.values()) body.destroy(reason);
    this.streams.clear();
    this.bodies.clear();
  }

  /**
   * close() started. Running calls, and calls that still arrive on open connections,
   * run to their end (ctx.closing tells them); Go aborts the ones still running when the
   * close deadline passes (abort records with ABORT_CLOSING).
   */
  beginClose() {
    this.closing = true;
  }

  /** Answers a question Go cannot decide alone. */
  check(id, what, extras) {
    let decision;
    if (what === W.CHECK_AUTH) {
      const validator = this.options.authValidator;
      // Go sends the headers with the question: nothing to ask it back.
      const headers = extras.headers === undefined ? {} : JSON.parse(extras.headers);
      decision = validator ? validator({ headers, method: extras.method, url: extras.url, path: extras.path, requestId: extras.requestId }) : false;
    } else if (what === W.CHECK_ORIGIN) {
      const choose = this.options.corsOrigin;
      decision = choose ? choose(extras.origin) : null;
    }
    const answer = (value) => {
      if (what === W.CHECK_AUTH) this.pushVerdict(id, value === true || (value && value.ok === true) ? 1 : 0, '');
      else this.pushVerdict(id, value ? 1 : 0, value ? String(value) : '');
    };
    if (decision && typeof decision.then === 'function') decision.then(answer, () => answer(false));
    else answer(decision);
  }

  /**
   * Tells options.onHandlerError about a call answered 5xx because its handler failed
   * (a throw or rejection, a HandlerError of status 5xx, a result that cannot be
   * encoded, a stream that failed). A hook that throws is reported as a process
   * warning: it never changes the answer nor stalls the bridge.
   */
  report(error, kind, ctx) {
    const hook = this.options.onHandlerError;
    if (!hook) return;
    try {
      hook(error, { kind: kind === W.KIND_EVENT ? 'event' : 'task', id: ctx ? ctx.id : undefined, requestId: ctx ? ctx.requestId : undefined });
    } catch (err) {
      process.emitWarning(`runner-native: onHandlerError threw: ${messageOf(err, 'unknown error')}`);
    }
  }

  /** A notice; more: how many later ones Go coalesced into it (see internal/wire). */
  notice(what, status, extras, more) {
    if (what === W.NOTICE_AUTH_FAILURE && this.options.onAuthFailure) {
      const info = { requestId: extras.requestId, method: extras.method, path: extras.path, status, code: extras.code };
      if (more > 0) info.more = more;
      try {
        this.options.onAuthFailure(info);
      } catch (_) { /* a logger's failure is not the server's */ }
    }
  }

  /**
   * A batch of access records (internal/wire Access) for onRequests; dropped: how many
   * Go dropped before it because too many waited. A hook that throws is reported as a
   * process warning: it never stalls the bridge.
   */
  requests(buf, start, end, dropped) {
    const hook = this.options.onRequests;
    if (!hook) return;
    const records = readAccess(buf, start, end);
    try {
      hook(records, { dropped });
    } catch (err) {
      process.emitWarning(`runner-native: onRequests threw: ${messageOf(err, 'unknown error')}`);
    }
  }

  /**
   * The client of a call still waiting in Go: { address, port, family } as Node's socket
   * gives them, or undefined once the call is gone.
   */
  remoteOf(id) {
    if (this.handle === 0) return undefined;
    const buf = this.remoteBuf || (this.remoteBuf = Buffer.allocUnsafeSlow(64));
    const n = native.remote(this.handle, id, buf);
    if (!(n > 0)) return undefined;
    const text = buf.latin1Slice(0, n);
    const colon = text.lastIndexOf(':');
    const v6 = text.charCodeAt(0) === 91; // '['
    return { address: v6 ? text.slice(1, colon - 1) : text.slice(0, colon), port: Number(text.slice(colon + 1)), family: v6 ? 'IPv6' : 'IPv4' };
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

  succeed(id, kind, ctx, value) {
    if (kind === W.KIND_EVENT && !ctx.returnPayload) {
      this.pushText(id, W.ANSWER_NO_RESULT, '');
      return;
    }
    let text;
    try {
      text = this.stringify(value);
    } catch (err) {
      const what = kind === W.KIND_EVENT ? 'Event result' : 'Task result';
      this.pushText(id, W.ANSWER_UNENCODABLE, `${what} could not be serialized to JSON: ${messageOf(err, 'unknown error')}`);
      this.report(err, kind, ctx);
      return;
    }
    if (text === undefined) this.pushText(id, W.ANSWER_NO_RESULT, '');
    else this.pushText(id, W.ANSWER_RESULT, text);
  }

  fail(id, kind, reason, ctx) {
    if (reason instanceof HandlerError) {
      this.pushError(id, reason.status, reason.code, reason.message, reason);
      if (reason.status >= 500) this.report(reason, kind, ctx);
      return;
    }
    this.pushError(id, 500, undefined, messageOf(reason, kind === W.KIND_EVENT ? 'Event handler failed' : 'Task execution failed'));
    this.report(reason, kind, ctx);
  }

  /** Encodes an error answer: code?, message, id?, data? (see internal/wire). */
  pushError(id, status, code, message, err) {
    let flags = 0;
    let httpCode = 0;
    const parts = [];
    if (code !== undefined) { flags |= W.FLAG_HAS_CODE; parts.push(String(code)); }
    parts.push(message);
    if (err && typeof err.id === 'string') { flags |= W.FLAG_HAS_ID; parts.push(err.id); }
    if (err && Object.prototype.hasOwnProperty.call(err, 'data')) {
      let data;
      try {
        data = this.stringify(err.data);
      } catch (_) { data = undefined; }
      if (data !== undefined) {
        flags |= W.FLAG_HAS_DATA;
        if (err.data === undefined) flags |= W.FLAG_DATA_UNDEFINED;
        parts.push(data);
      }
    }
    if (err && Number.isInteger(err.httpCode)) { flags |= W.FLAG_HAS_HTTP_CODE; httpCode = err.httpCode; }
    let worst = W.ANSWER_HEADER;
    for (const p of parts) worst += W.FIELD_LEN + p.length * 3;
    const at = this.reserve(worst);
    const out = this.out;
    let pos = at + W.ANSWER_HEADER;
    for (const p of parts) {
      const n = out.write(p, pos + W.FIELD_LEN, 'utf8');
      out.writeUInt32LE(n, pos);
      pos += W.FIELD_LEN + n;
    }
    this.header(at, id, W.ANSWER_ERROR, flags, status, pos - at - W.ANSWER_HEADER, httpCode);
    this.outLength = pos;
    this.scheduleFlush();
  }

  pushVerdict(id, allow, value) {
    this.pushText(id, W.ANSWER_VERDICT, value, allow ? W.FLAG_ALLOW : 0);
  }

  /** Encodes an answer whose payload is one text. */
  pushText(id, kind, text, flags = 0, status = 0) {
    const at = this.reserve(W.ANSWER_HEADER + text.length * 3); // UTF-8 bytes per UTF-16 unit, at most
    const n = text.length === 0 ? 0 : this.out.write(text, at + W.ANSWER_HEADER, 'utf8');
    this.header(at, id, kind, flags, status, n, 0);
    this.outLength = at + W.ANSWER_HEADER + n;
    this.scheduleFlush();
  }

  /** Encodes an answer whose payload is bytes (a stream's chunk, or its start and headers). */
  pushBytes(id, kind, bytes, status = 0) {
    const at = this.reserve(W.ANSWER_HEADER + bytes.length);
    bytes.copy(this.out, at + W.ANSWER_HEADER);
    this.header(at, id, kind, 0, status, bytes.length, 0);
    this.outLength = at + W.ANSWER_HEADER + bytes.length;
    this.scheduleFlush();
  }

  /**
   * Body credit for call id's stream (0: the raw body; 1...: a form's files): Go may
   * send its bytes up to offset; FLAG_DISCARD: the rest is not wanted.
   */
  pushCredit(id, stream, offset, flags) {
    const at = this.reserve(W.ANSWER_HEADER);
    this.header(at, id, W.ANSWER_BODY_CREDIT, flags, stream, 0, offset);
    this.outLength = at + W.ANSWER_HEADER;
    this.scheduleFlush();
  }

  header(at, id, kind, flags, status, length, httpCode) {
    const out = this.out;
    out.writeUInt32LE(id, at + W.ANSWER_AT_ID);
    out[at + W.ANSWER_AT_KIND] = kind;
    out[at + W.ANSWER_AT_FLAGS] = flags;
    out.writeUInt16LE(status, at + W.ANSWER_AT_STATUS);
    out.writeUInt32LE(length, at + W.ANSWER_AT_LEN);
    out.writeUInt32LE(httpCode, at + W.ANSWER_AT_HTTP_CODE);
  }

  /** Makes room for size bytes at the end of the answer buffer; returns where they start. */
  reserve(size) {
    if (this.outLength + size > this.out.length) {
      if (this.outLength > 0 && !this.exchanging) this.flush();
      if (this.outLength + size > this.out.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(this.outLength + size, this.out.length * 2));
        this.out.copy(grown, 0, 0, this.outLength);
        this.out = grown;
      }
    }
    return this.outLength;
  }

  scheduleFlush() {
    if (!this.flushQueued && !this.exchanging) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  /** Hands every encoded answer to Go, and takes what Go has queued meanwhile. */
  flush() {
    this.flushQueued = false;
    if (this.outLength === 0) return;
    try {
      this.exchange(W.EXCHANGE_FLUSH);
    } catch (err) {
      process.emitWarning(`runner-native: internal dispatcher error: ${err && err.stack}`);
    }
  }
}

module.exports = { Dispatcher, CallContext, messageOf };
