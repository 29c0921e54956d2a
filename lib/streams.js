'use strict';
/**
 * Streams through the bridge (Go's half: internal/bridge/stream.go).
 *
 * Request bodies: a call whose body is streamed gets `ctx.body`, a Readable fed by
 * KindBody records. It asks Go for more (AnswerBodyCredit) only when its consumer reads,
 * so an upload is never buffered whole on either side. A multipart form (runner
 * protocol) gets `ctx.form`: its files as such streams, one per part, in order.
 *
 * Answers: a handler may return a Readable, or `{ stream, status?, contentType?,
 * headers? }`. The dispatcher waits for the first chunk (an error before it is a normal
 * error answer), sends the status and headers (Go filters the headers a handler may not
 * set), then the chunks, never more than STREAM_WINDOW bytes ahead of the credit Go
 * gives back as it writes them: a slow client slows the stream down. An error after the
 * first byte cuts the response; a client that goes away destroys the stream.
 */
const { Readable } = require('stream');
const W = require('./wire');

const noop = () => {};

/** Whether a handler's value is an answer stream. */
function isReadable(value) {
  return value !== null && typeof value === 'object' && typeof value.pipe === 'function' && typeof value[Symbol.asyncIterator] === 'function';
}

function isStreamingAnswer(value) {
  return isReadable(value) || (value !== null && typeof value === 'object' && isReadable(value.stream));
}

/**
 * A streamed request body: `ctx.body` (a raw body), or one file of a multipart form.
 *
 * Credit is an offset: "Go may send bytes of this stream up to here" (modulo 2^32).
 * Readable calls _read when its consumer wants more (and not again before a push): the
 * stream then lets Go send up to highWaterMark bytes past what it received, so at most
 * about twice highWaterMark is buffered, however the bytes are cut into records. When
 * it does not ask, Go still has credit and its next record brings the next _read.
 */
class BodyStream extends Readable {
  /**
   * @param {(offset: number) => void} grant sends Go credit up to offset
   * @param {number} [granted] the credit Go starts with (a file part: BODY_CHUNK)
   * @param {() => void} [discard] tells Go the rest is not wanted (a file part)
   */
  constructor(grant, granted = 0, discard = undefined) {
    // Four records' worth: Go reads on while JavaScript handles what came (one
    // record's worth made every chunk a round trip; the stream bench halved its
    // context switches with this).
    super({ highWaterMark: 4 * W.BODY_CHUNK });
    this.grant = grant;
    this.granted = granted;
    this.discard = discard;
    this.received = 0;
    this.ended = false;
    // The server fails a body stream when its call ends before it was read (settled,
    // aborted, a form refused). A handler that never reads it has no 'error' listener,
    // and an unhandled 'error' would take the host process down: readers still get the
    // error (for await, pipeline and their own listeners do).
    this.on('error', noop);
  }

  _read() {
    const target = this.received + this.readableHighWaterMark;
    // Ask when Go has sent all it may, or for a good piece more.
    if (target > this.granted && (this.received >= this.granted || target - this.granted >= this.readableHighWaterMark / 4)) {
      this.granted = target;
      this.grant(target >>> 0);
    }
  }

  /** A KindBody record arrived. */
  deliver(flags, bytes, code) {
    if (this.destroyed) return;
    if ((flags & W.FLAG_FAILED) !== 0) {
      const err = new Error(bytes.toString('utf8') || W.ANSWERS.BODY_READ_FAILED.message);
      err.code = code || W.ANSWERS.BODY_READ_FAILED.code;
      this.ended = true; // Go sends nothing more
      this.destroy(err);
      return;
    }
    this.received += bytes.length;
    if (bytes.length > 0) this.push(bytes);
    if ((flags & W.FLAG_END) !== 0) {
      this.ended = true;
      this.push(null);
    }
  }

  _destroy(err, callback) {
    if (!this.ended && this.discard) {
      this.ended = true;
      this.discard();
    }
    callback(err);
  }
}

/** What an unread body's stream fails with once its call has settled. */
function discardedError() {
  const { code, message } = W.ANSWERS.BODY_DISCARDED;
  const err = new Error(message);
  err.code = code;
  return err;
}

/**
 * The files of a multipart form (runner protocol), as Go parses it: each file part
 * becomes a BodyStream, announced to the listener given to onFile (with its id, raw
 * filename and charset, content type); `ended` resolves with how the form ended:
 * {ok: true} once read to its end, or {ok: false, status, code, message}.
 */
class MultipartForm {
  /**
   * @param {import('./dispatcher').Dispatcher} dispatcher
   * @param {number} id the call
   * @param {number} early how many file parts came before the manifest
   */
  constructor(dispatcher, id, early) {
    this.dispatcher = dispatcher;
    this.id = id;
    this.early = early;
    this.seen = 0;
    this.parts = new Map();
    this.pending = [];
    this.listener = null;
    this.earlyWaiters = [];
    this.result = undefined;
    this.ended = new Promise((resolve) => { this.resolveEnded = resolve; });
  }

  /** Calls fn with every file part, those already seen first. */
  onFile(fn) {
    this.listener = fn;
    for (const file of this.pending.splice(0)) fn(file);
  }

  /** Resolves once the parts before the manifest have been announced (or the form ended). */
  earlyParts() {
    if (this.seen >= this.early || this.result !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.earlyWaiters.push(resolve));
  }

  /** The task settled: Go stops waiting for the files to be read (see wire.FLAG_DISCARD). */
  settled() {
    if (this.result === undefined) this.dispatcher.pushCredit(this.id, 0, 0, W.FLAG_DISCARD);
  }

  deliver(stream, flags, bytes, extras, status) {
    if (stream === 0) {
      if ((flags & W.FLAG_FAILED) !== 0) this.finish({ ok: false, status, code: extras.code, message: bytes.toString('utf8') });
      else if ((flags & W.FLAG_END) !== 0) this.finish({ ok: true });
      return;
    }
    let part = this.parts.get(stream);
    if ((flags & W.FLAG_PART) !== 0) {
      const { dispatcher, id } = this;
      part = new BodyStream((offset) => dispatcher.pushCredit(id, stream, offset, 0), W.BODY_CHUNK, () => dispatcher.pushCredit(id, stream, 0, W.FLAG_DISCARD));
      this.parts.set(stream, part);
      part.once('close', () => this.parts.delete(stream));
      const file = { id: extras.fileId, filename: extras.filename, filenameCharset: extras.filenameCharset, type: extras.fileType, stream: part };
      if (this.listener) this.listener(file);
      else this.pending.push(file);
      this.seen++;
      if (this.seen >= this.early) for (const resolve of this.earlyWaiters.splice(0)) resolve();
    }
    if (part) part.deliver(flags, bytes, extras.code);
  }

  finish(result) {
    if (this.result !== undefined) return;
    this.result = result;
    for (const resolve of this.earlyWaiters.splice(0)) resolve();
    this.resolveEnded(result);
  }

  /** The call was aborted (client gone, timeout, close): every file fails with reason. */
  destroy(reason) {
    for (const part of this.parts.values()) part.destroy(reason);
    const { status, code, message } = W.ANSWERS.CLIENT_GONE;
    this.finish({ ok: false, status, code, message, reason });
  }

  /** The call settled: files not read to their end fail. */
  close() {
    for (const part of this.parts.values()) if (!part.ended) part.destroy(discardedError());
    const { status, code, message } = W.ANSWERS.FORM_DISCARDED;
    this.finish({ ok: false, status, code, message });
  }
}

/** A character Latin-1 cannot carry (Node's setHeader refuses it). */
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/g;

/**
 * Encodes an answer stream's headers for Go (internal/wire NextHeader): each name, then
 * value, as u32 length then bytes, content-type first. Lengths, not separators, so no
 * character a handler puts in a header can end it early. One byte per character, as
 * Node writes headers (Latin-1); a character beyond U+00FF becomes NUL, which Go
 * refuses as Node refuses that character: Go checks every name and value.
 */
function encodeHeaders(contentType, headers) {
  const parts = ['content-type', String(contentType)];
  if (headers && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) parts.push(String(name), String(v));
    }
  }
  let size = 0;
  for (let i = 0; i < parts.length; i++) {
    parts[i] = parts[i].replace(BEYOND_LATIN1, '\0');
    size += W.FIELD_LEN + parts[i].length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    at += W.FIELD_LEN;
    at += out.write(p, at, 'latin1');
  }
  return out;
}

/**
 * One answer stream on its way to Go: it sends chunks while it has credit and waits for
 * more otherwise.
 */
class AnswerStream {
  constructor(dispatcher, id, stream) {
    this.dispatcher = dispatcher;
    this.id = id;
    this.stream = stream;
    this.available = W.STREAM_WINDOW;
    this.waiting = null;
    this.aborted = false;
  }

  /** Go wrote n bytes to the client: that much more may follow. */
  credit(n) {
    this.available += n;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve();
    }
  }

  /** The client went away, or the server closed: stop and destroy the stream. */
  abort(reason) {
    this.aborted = true;
    this.stream.destroy(reason);
    this.credit(0);
  }

  async send(bytes) {
    for (let off = 0; off < bytes.length && !this.aborted;) {
      while (this.available <= 0 && !this.aborted) await new Promise((resolve) => { this.waiting = resolve; });
      if (this.aborted) return;
      const n = Math.min(this.available, bytes.length - off);
      this.dispatcher.pushBytes(this.id, W.ANSWER_CHUNK, bytes.subarray(off, off + n));
      this.available -= n;
      off += n;
    }
  }
}

function toBuffer(chunk) {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}

/**
 * Streams a handler's answer to Go. Resolves when it is over (ended, failed or aborted).
 * @param {import('./dispatcher').Dispatcher} dispatcher
 * @param {number} id the call
 * @param {unknown} value a Readable or { stream, status?, contentType?, headers? }
 * @param {(err: unknown) => void} failEarly answers an error that came before any byte
 */
async function streamAnswer(dispatcher, id, value, failEarly) {
  const spec = isReadable(value) ? { stream: value } : value;
  const { stream } = spec;
  const status = Number.isInteger(spec.status) && spec.status >= 100 && spec.status <= 599 ? spec.status : 200;
  const answer = new AnswerStream(dispatcher, id, stream);
  dispatcher.streams.set(id, answer);
  const it = stream[Symbol.asyncIterator]();
  try {
    let first;
    try {
      first = await it.next();
    } catch (err) {
      failEarly(err);
      return;
    }
    if (answer.aborted) return;
    dispatcher.pushBytes(id, W.ANSWER_STREAM_START, encodeHeaders(spec.contentType || 'application/octet-stream', spec.headers), status);
    try {
      for (let step = first; !step.done; step = await it.next()) {
        await answer.send(toBuffer(step.value));
        if (answer.aborted) return;
      }
    } catch (err) {
      if (!answer.aborted) dispatcher.pushText(id, W.ANSWER_STREAM_ERROR, String((err && err.message) || err));
      return;
    }
    if (!answer.aborted) dispatcher.pushText(id, W.ANSWER_END, '');
  } finally {
    dispatcher.streams.delete(id);
    if (typeof stream.destroy === 'function' && !stream.destroyed) stream.destroy();
  }
}

module.exports = { BodyStream, MultipartForm, discardedError, streamAnswer, isStreamingAnswer };
