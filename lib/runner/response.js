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
 *   then the answer's error, thrown; see answerRun); without it the failure is the answer
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
 * answerOf(settle(run, onError), hijack) with one promise less and no closure per call for
 * the error mapping, for the per-call path of the rpc lanes: runs run() (a synchronous
 * throw counts as a rejection) and answers as answerOf does, failures mapped by onError.
 * @param {() => any} run
 * @param {{response?: NativeResponse, committed?: object, onCommit?: Function}} hijack
 * @param {(err: unknown, arg: any) => any} onError
 * @param {any} arg
 */
function answerRun(run, hijack, onError, arg) {
  let result;
  try {
    result = Promise.resolve(run());
  } catch (err) {
    result = Promise.reject(err);
  }
  return answerOf(result, hijack, onError, arg);
}

module.exports = { NativeResponse, answerOf, answerRun };
