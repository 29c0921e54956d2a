'use strict';
/**
 * Streams through the bridge (Go's half: internal/bridge/stream.go).
 *
 * Request bodies: a call whose body is streamed gets `ctx.body`, a Readable fed by
 * KindBody records. It asks Go for more (AnswerBodyCredit) only when its consumer reads,
 * so an upload is never buffered whole on either side.
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

/** Whether a handler's value is an answer stream. */
function isReadable(value) {
  return value !== null && typeof value === 'object' && typeof value.pipe === 'function' && typeof value[Symbol.asyncIterator] === 'function';
}

function isStreamingAnswer(value) {
  return isReadable(value) || (value !== null && typeof value === 'object' && isReadable(value.stream));
}

/** A streamed request body: what `ctx.body` is. */
class BodyStream extends Readable {
  /**
   * @param {(bytes: number) => void} askForMore sends Go credit for that many bytes
   */
  constructor(askForMore) {
    super({ highWaterMark: W.BODY_CHUNK });
    this.askForMore = askForMore;
    this.asked = false;
  }

  _read() {
    if (!this.asked) {
      this.asked = true;
      this.askForMore(W.BODY_CHUNK);
    }
  }

  /** A KindBody record arrived. */
  deliver(flags, bytes, code) {
    this.asked = false;
    if ((flags & W.FLAG_FAILED) !== 0) {
      const err = new Error(bytes.toString('utf8') || 'The request body failed');
      err.code = code || 'BODY_READ_FAILED';
      this.destroy(err);
      return;
    }
    if (bytes.length > 0 && !this.push(bytes)) return; // the consumer has enough for now
    if ((flags & W.FLAG_END) !== 0) {
      this.push(null);
      return;
    }
    // The consumer still wants more: ask again without waiting for another _read.
    if (bytes.length > 0 && !this.asked && this.readableFlowing !== false && this.readableLength < this.readableHighWaterMark) {
      this.asked = true;
      this.askForMore(W.BODY_CHUNK);
    }
  }
}

/**
 * Encodes an answer stream's status line and headers for Go: name NUL value NUL pairs,
 * content-type first.
 */
function encodeHeaders(contentType, headers) {
  const parts = ['content-type', String(contentType)];
  if (headers && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) parts.push(String(name), String(v));
    }
  }
  return `${parts.join('\0')}\0`;
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
    dispatcher.pushText(id, W.ANSWER_STREAM_START, encodeHeaders(spec.contentType || 'application/octet-stream', spec.headers), 0, status);
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

module.exports = { BodyStream, streamAnswer, isStreamingAnswer };
