'use strict';
/**
 * Async contexts around exposed calls, as runner 5.5.0 sets them up
 * (src/node/exposure/handlers/contextWrapper.ts):
 *
 * - user contexts from the x-runner-context header: serializer.parse gives
 *   {contextId: text}; each context of the store present there is parsed with its own
 *   ctx.parse and provided around the call; a bad header or entry is ignored;
 * - for tasks only, runner's exposure request context (useExposureContext()), which is
 *   keyed by id in runner's async-local map, so a context defined with the same id and
 *   provided here is what useExposureContext() reads. Its value carries what exists
 *   without a Node request: url, basePath, headers, method and signal; req and res are
 *   undefined.
 */
const { Readable } = require('stream');
const { NativeResponse } = require('./response');
const { ANSWERS } = require('../wire');
const { kOnAbort } = require('../symbols');

/**
 * runner's withUserContexts: fn wrapped in the contexts the header carries.
 * @param {string|undefined} headerText the raw x-runner-context header
 * @param {() => Promise<any>} fn
 * @returns {() => Promise<any>}
 */
function withUserContexts(headerText, store, serializer, fn) {
  if (!headerText) return fn;
  let wrapped = fn;
  try {
    const map = serializer.parse(headerText);
    for (const [id, ctx] of store.asyncContexts.entries()) {
      const raw = map[id];
      if (typeof raw !== 'string') continue;
      try {
        const value = ctx.parse(raw);
        const prev = wrapped;
        wrapped = async () => await ctx.provide(value, prev);
      } catch (_) {
        // a context that does not parse is ignored, as runner does
      }
    }
  } catch (_) {
    // a header that does not parse is ignored, as runner does
  }
  return wrapped;
}

/**
 * The value of useExposureContext() inside an exposed task. Built per call; url,
 * headers and signal are made on first read, so tasks that never look pay nothing.
 */
class ExposureRequest {
  #ctx;
  #cancellation;
  #url;
  #headers;
  #signal;
  #req;

  /**
   * @param {import('../../index').CallContext} ctx the call's context
   * @param {string} basePath
   * @param {any} cancellationError runner's cancellationError helper
   */
  constructor(ctx, basePath, cancellationError) {
    this.#ctx = ctx;
    this.#cancellation = cancellationError;
    this.basePath = basePath;
    this.method = ctx.method;
    /** The response a task may write (see res and response.js answerOf). */
    this.hijack = {};
  }

  /**
   * Node's IncomingMessage under nodeExposure: here a Readable with what a task reads of
   * one (method, url, headers, socket.remoteAddress/remotePort/remoteFamily). For a raw
   * body (application/octet-stream, how runner's smart client sends a Readable input) it
   * is the body, read from the client as the task reads it; otherwise the body was the
   * input, so the stream is already at its end, as runner's is once it has read it. Made
   * on first read.
   */
  get req() {
    if (this.#req === undefined) {
      const body = this.#ctx.body || Readable.from([]);
      this.#req = asIncoming(body, this, this.#ctx);
    }
    return this.#req;
  }

  /**
   * Node's ServerResponse under nodeExposure: here a NativeResponse (lib/runner/response.js)
   * a task may write its answer to itself; made on first read.
   */
  get res() {
    const hijack = this.hijack;
    if (hijack.response === undefined) {
      hijack.response = new NativeResponse((answer) => {
        if (hijack.onCommit) hijack.onCommit(answer);
        else hijack.committed = answer;
      });
      const gone = () => hijack.response.destroy();
      if (this.#ctx[kOnAbort](gone) !== undefined) gone();
    }
    return hijack.response;
  }

  /** The request URL, as runner builds it: new URL(req.url, "http://localhost"). */
  get url() {
    if (this.#url === undefined) this.#url = new URL(this.#ctx.url || '/', 'http://localhost');
    return this.#url;
  }

  /** Request headers, lower-case names, with the request id runner writes into them. */
  get headers() {
    if (this.#headers === undefined) {
      this.#headers = { ...this.#ctx.headers }; // with the request id, written by Go as runner does
    }
    return this.#headers;
  }

  /**
   * Aborts when the call's signal would (the client went away, the call timed out, the
   * close deadline passed), with runner's cancellation error as its reason. One
   * AbortController per call: it listens to the call itself (kOnAbort), not to
   * ctx.signal, which would be a second one.
   */
  get signal() {
    if (this.#signal === undefined) {
      const controller = new AbortController();
      this.#signal = controller.signal;
      const cancellation = this.#cancellation;
      const forward = (reason) => controller.abort(cancellationReason(cancellation, reason));
      const reason = this.#ctx[kOnAbort](forward);
      if (reason !== undefined) forward(reason);
    }
    return this.#signal;
  }
}

/** Gives a body stream the fields of an IncomingMessage that a task may read. */
function asIncoming(body, request, ctx) {
  // Read now, while the call runs (the address is asked of Go, which forgets it once the
  // call is answered); a socket-like object, as tasks read req.socket.remoteAddress.
  const socket = Object.freeze({ remoteAddress: ctx.remoteAddress, remotePort: ctx.remotePort, remoteFamily: ctx.remoteFamily });
  Object.defineProperties(body, {
    headers: { get: () => request.headers, configurable: true },
    method: { value: 'POST', configurable: true },
    url: { get: () => request.url.pathname + request.url.search, configurable: true },
    socket: { value: socket, configurable: true },
    connection: { value: socket, configurable: true },
  });
  return body;
}

function cancellationReason(cancellationError, reason) {
  const text = reason && reason.code === ANSWERS.ABORT_DISCONNECT.code
    ? ANSWERS.CLIENT_GONE.message
    : (reason && reason.message) || 'Request aborted';
  try {
    cancellationError.throw({ reason: text });
  } catch (err) {
    return err;
  }
  return new Error(text);
}

module.exports = { withUserContexts, ExposureRequest };
