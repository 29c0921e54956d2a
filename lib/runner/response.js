'use strict';
/**
 * useExposureContext().res: the response a runner task may write itself ("response
 * hijack", runner's TUNNELS.md: writeHead, setHeader, write, end, req.pipe(res)). Node's
 * ServerResponse is not there (the server is Go's), so this is a Writable with the members
 * tasks use, carried over the streamed-answer path: the first write (or writeHead,
 * flushHeaders, end) commits the status and headers and the call's answer becomes a
 * stream of what the task writes, with backpressure from the client. As under
 * nodeExposure, a task that committed its response gets no envelope: what it returns
 * afterwards is ignored, and a failure after that cuts the response.
 *
 * Headers go through the same checks as a streamed answer's (Go refuses a value HTTP
 * cannot carry; runner's security list — set-cookie, CORS, X-Frame-Options... — is the
 * server's to set). Without a content-type the answer is application/octet-stream.
 */
const { PassThrough, Writable } = require('stream');

function headersSentError(what) {
  const err = new Error(`Cannot ${what} headers after they are sent to the client`);
  err.code = 'ERR_HTTP_HEADERS_SENT';
  return err;
}

class NativeResponse extends Writable {
  #headers = new Map(); // lower-case name -> [name, value]
  #sent = false;
  #body = new PassThrough();
  #onCommit;

  /** @param {(answer: {stream: PassThrough, status: number, contentType?: string, headers: object}) => void} onCommit */
  constructor(onCommit) {
    super();
    this.#onCommit = onCommit;
    /** The status the answer will have (default 200), until the headers are sent. */
    this.statusCode = 200;
    /** Not sent: fasthttp writes the standard reason phrase. */
    this.statusMessage = '';
  }

  /** Whether the status and headers were committed (written to the answer). */
  get headersSent() {
    return this.#sent;
  }

  setHeader(name, value) {
    if (this.#sent) throw headersSentError('set');
    this.#headers.set(String(name).toLowerCase(), [String(name), value]);
    return this;
  }

  getHeader(name) {
    const entry = this.#headers.get(String(name).toLowerCase());
    return entry && entry[1];
  }

  getHeaders() {
    const out = Object.create(null);
    for (const [lower, [, value]] of this.#headers) out[lower] = value;
    return out;
  }

  getHeaderNames() {
    return [...this.#headers.keys()];
  }

  hasHeader(name) {
    return this.#headers.has(String(name).toLowerCase());
  }

  removeHeader(name) {
    if (this.#sent) throw headersSentError('remove');
    this.#headers.delete(String(name).toLowerCase());
  }

  /** writeHead(status[, statusMessage][, headers]) as Node's: headers as an object or [name, value, ...]. */
  writeHead(status, message, headers) {
    if (this.#sent) throw headersSentError('write');
    if (typeof message !== 'string') headers = message;
    this.statusCode = status;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(headers[i], headers[i + 1]);
    } else if (headers) {
      for (const name of Object.keys(headers)) this.setHeader(name, headers[name]);
    }
    this.#commit();
    return this;
  }

  flushHeaders() {
    this.#commit();
  }

  #commit() {
    if (this.#sent) return;
    this.#sent = true;
    let contentType;
    const headers = {};
    for (const [lower, [name, value]] of this.#headers) {
      if (lower === 'content-type') contentType = String(value);
      else headers[name] = Array.isArray(value) ? value.map(String) : String(value);
    }
    this.#onCommit({ stream: this.#body, status: this.statusCode, contentType, headers });
  }

  _write(chunk, encoding, callback) {
    this.#commit();
    if (this.#body.write(chunk, encoding)) callback();
    else this.#body.once('drain', () => callback());
  }

  _final(callback) {
    this.#commit();
    this.#body.end();
    callback();
  }

  _destroy(err, callback) {
    // A Writable destroys itself once it has finished (autoDestroy): the body then holds
    // the last bytes, still to be sent, and must not be cut. Destroyed before its end (the
    // client went away, the task failed), the answer is cut.
    if (!this.writableFinished && !this.#body.destroyed) this.#body.destroy(err || undefined);
    callback(err);
  }
}

/**
 * The call's answer for a task run with a response it may write: the task's own result,
 * unless the task commits its response first, which then is the answer (a stream). After
 * a commit the task's result is ignored and its failure cuts the response.
 * @param {Promise<any>} result the task's answer, as settle() gives it
 * @param {{response?: NativeResponse, committed?: object, onCommit?: Function}} hijack
 * @param {(err: unknown, arg: any) => any} [onError] maps a failure first (runner's log,
 *   then the answer's error, thrown; see LaneAnswer); without it the failure is the answer
 * @param {any} [arg] onError's second argument
 */
function answerOf(result, hijack, onError, arg) {
  return new Promise((resolve, reject) => {
    let committed = hijack.committed !== undefined; // a task may commit before it first awaits
    if (committed) resolve(hijack.committed);
    hijack.onCommit = (answer) => { committed = true; resolve(answer); };
    const failed = (err) => {
      if (!committed) reject(err);
      // Cut the response (its body ends early: the client sees an incomplete answer).
      // No error on the response itself: nobody listens for one (the failure is
      // already logged as runner logs a task's error).
      else if (hijack.response && !hijack.response.destroyed) hijack.response.destroy();
    };
    result.then(
      (value) => { if (!committed) resolve(value); },
      onError === undefined ? failed : (err) => {
        let value;
        try {
          value = onError(err, arg);
        } catch (mapped) {
          failed(mapped);
          return;
        }
        if (!committed) resolve(value);
      },
    );
  });
}

/**
 * answerOf(Promise.resolve(result), hijack, onError, arg) for the per-call path of the rpc
 * lanes (rpc-lanes.js), as a thenable instead of a promise: the dispatcher subscribes to
 * a handler's answer once (lib/dispatcher.js call: `ret.then(onValue, onError)`), so the
 * answer needs no promise of its own, nor does that subscription make one. Two promises
 * per call fewer (each also costs its async hooks where AsyncLocalStorage runs on them, as
 * on Node 22) and no closures for resolve and reject. Settles as answerOf's promise would:
 * the task's value, or the response it committed first; a failure mapped by onError,
 * cutting the response once committed. Only the first then() subscribes (the dispatcher
 * is the only one); a commit, or an answer settled before then(), is delivered on a later
 * microtask, as a promise's reaction would be, never inside the task's own write.
 */
class LaneAnswer {
  #hijack;
  #onError;
  #arg;
  #committed = false;
  /** 0: pending, 1: fulfilled, 2: rejected. */
  #state = 0;
  #value;
  #onFulfilled;
  #onRejected;

  /**
   * @param {any} result the task's answer (a promise, usually)
   * @param {{response?: NativeResponse, committed?: object, onCommit?: Function}} hijack
   * @param {(err: unknown, arg: any) => any} onError
   * @param {any} arg onError's second argument
   */
  constructor(result, hijack, onError, arg) {
    this.#hijack = hijack;
    this.#onError = onError;
    this.#arg = arg;
    if (hijack.committed !== undefined) { // a task may commit before it first awaits
      this.#committed = true;
      this.#settle(1, hijack.committed);
    }
    hijack.onCommit = (answer) => {
      this.#committed = true;
      this.#settle(1, answer);
    };
    Promise.resolve(result).then((value) => this.#fulfilled(value), (err) => this.#rejected(err));
  }

  #fulfilled(value) {
    if (!this.#committed) this.#deliver(1, value);
  }

  #rejected(err) {
    let value;
    try {
      value = this.#onError(err, this.#arg);
    } catch (mapped) {
      if (!this.#committed) this.#deliver(2, mapped);
      // Cut the response (its body ends early: the client sees an incomplete answer), as
      // answerOf does.
      else if (this.#hijack.response && !this.#hijack.response.destroyed) this.#hijack.response.destroy();
      return;
    }
    if (!this.#committed) this.#deliver(1, value);
  }

  /** Settles from a reaction (already a microtask of its own): the subscriber hears it now. */
  #deliver(state, value) {
    if (this.#state !== 0) return;
    this.#state = state;
    this.#value = value;
    const fn = state === 1 ? this.#onFulfilled : this.#onRejected;
    if (fn !== undefined) fn(value);
  }

  /** Settles from a commit (inside the task's write): the subscriber hears it on a microtask. */
  #settle(state, value) {
    if (this.#state !== 0) return;
    this.#state = state;
    this.#value = value;
    if (this.#onFulfilled !== undefined) queueMicrotask(() => this.#onFulfilled(value));
  }

  then(onFulfilled, onRejected) {
    if (this.#onFulfilled !== undefined || this.#onRejected !== undefined) return;
    this.#onFulfilled = typeof onFulfilled === 'function' ? onFulfilled : undefined;
    this.#onRejected = typeof onRejected === 'function' ? onRejected : undefined;
    if (this.#state === 0) return;
    const fn = this.#state === 1 ? this.#onFulfilled : this.#onRejected;
    const value = this.#value;
    if (fn !== undefined) queueMicrotask(() => fn(value));
  }
}

module.exports = { NativeResponse, answerOf, LaneAnswer };
