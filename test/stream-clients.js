'use strict';
/**
 * Raw-socket clients of streamed answers, as an attacker or a hostile network would be:
 * half-closes, slow reads, cuts mid-stream. Each one decodes the chunked body it gets
 * itself and checks every byte against what its own request asked for, so a byte of
 * another request's answer shows, wherever it lands.
 */
const net = require('net');

/**
 * Decodes a chunked HTTP/1.1 response that may be cut anywhere. Feed it what arrives;
 * onBody gets the body bytes (the chunk framing taken away).
 */
class ChunkedDecoder {
  constructor(onBody) {
    this.onBody = onBody;
    this.pending = Buffer.alloc(0);
    this.state = 'head'; // head, size, data, crlf, trailer, done; plain, answered (not a stream)
    this.left = 0;
    this.head = '';
    this.bad = null; // what broke the framing (a foreign byte in a size line shows here)
    this.status = 0;
  }

  push(buf) {
    let b = this.pending.length ? Buffer.concat([this.pending, buf]) : buf;
    this.pending = Buffer.alloc(0);
    while (b.length && !this.bad) {
      if (this.state === 'head') {
        const end = b.indexOf('\r\n\r\n');
        if (end < 0) { this.pending = b; return; }
        this.head = b.subarray(0, end).toString('latin1');
        this.status = Number(this.head.slice(9, 12));
        b = b.subarray(end + 4);
        if (!/\r\ntransfer-encoding: chunked/i.test(this.head)) {
          // Not a stream (the call failed before its stream started: a 499 for a client
          // taken for gone, say): its body is what Content-Length says, nothing more.
          const m = this.head.match(/\r\ncontent-length: *(\d+)/i);
          if (!m) { this.bad = `neither chunked nor sized: ${this.head}`; return; }
          this.left = Number(m[1]);
          this.state = 'plain';
          continue;
        }
        this.state = 'size';
      } else if (this.state === 'size') {
        const end = b.indexOf('\r\n');
        if (end < 0) {
          if (b.length > 16) this.bad = `bad chunk size line ${JSON.stringify(b.subarray(0, 16).toString('latin1'))}`;
          else this.pending = b;
          return;
        }
        const line = b.subarray(0, end).toString('latin1');
        if (!/^[0-9a-fA-F]{1,8}$/.test(line)) { this.bad = `bad chunk size line ${JSON.stringify(line.slice(0, 16))}`; return; }
        this.left = parseInt(line, 16);
        b = b.subarray(end + 2);
        this.state = this.left === 0 ? 'trailer' : 'data';
      } else if (this.state === 'data') {
        const n = Math.min(this.left, b.length);
        this.onBody(b.subarray(0, n));
        this.left -= n;
        b = b.subarray(n);
        if (this.left === 0) this.state = 'crlf';
      } else if (this.state === 'crlf') {
        if (b.length < 2) { this.pending = b; return; }
        if (b[0] !== 13 || b[1] !== 10) { this.bad = 'no CRLF after a chunk'; return; }
        b = b.subarray(2);
        this.state = 'size';
      } else if (this.state === 'trailer') {
        if (b.length < 2) { this.pending = b; return; }
        if (b[0] !== 13 || b[1] !== 10) { this.bad = 'trailers after the last chunk'; return; }
        b = b.subarray(2);
        this.state = 'done';
      } else if (this.state === 'plain') {
        const n = Math.min(this.left, b.length);
        this.left -= n;
        b = b.subarray(n);
        if (this.left === 0) this.state = 'answered';
        if (b.length) { this.bad = 'bytes after a sized answer'; return; }
      } else {
        this.bad = `bytes after the end of the answer (${this.state})`;
        return;
      }
    }
  }
}

/**
 * Checks body bytes against the pattern of a request: byte i of the body must be
 * pattern[i % pattern.length]. Counts the bytes and the foreign ones.
 */
class PatternCheck {
  constructor(pattern) {
    this.pattern = Buffer.from(pattern, 'latin1');
    this.offset = 0;
    this.foreign = 0;
    this.firstForeign = null;
  }

  add(chunk) {
    const p = this.pattern;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== p[(this.offset + i) % p.length]) {
        if (this.foreign === 0) this.firstForeign = chunk.subarray(i, i + 32).toString('latin1');
        this.foreign++;
      }
    }
    this.offset += chunk.length;
  }
}

/**
 * One raw request for a streamed answer whose bytes are `pattern` repeated.
 * @param {number} port
 * @param {string} requestLine e.g. 'POST /__runner/task/x HTTP/1.1'
 * @param {string} body the JSON body
 * @param {object} how
 *   halfClose: send FIN right after the request (true), or once the first bytes of the
 *     answer arrived ('afterFirstBytes': the half-close then lands while the answer streams);
 *   slow: read one piece, then pause, and wait for `tick()` before reading the next;
 *   cutAfter: destroy the socket after this many body bytes;
 *   onBytes(check, decoder): called after each piece that arrives.
 * @returns {{ done: Promise<{status: number, bytes: number, foreign: number, firstForeign: string|null, bad: string|null, head: string, complete: boolean}>, tick: () => void }}
 */
function streamClient(port, requestLine, body, pattern, { halfClose = false, slow = false, cutAfter = Infinity, onBytes } = {}) {
  const check = new PatternCheck(pattern);
  const decoder = new ChunkedDecoder((c) => check.add(c));
  const socket = net.connect(port, '127.0.0.1');
  let finished = false;
  const done = new Promise((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ status: decoder.status, bytes: check.offset, foreign: check.foreign, firstForeign: check.firstForeign, bad: decoder.bad, head: decoder.head, complete: decoder.state === 'done' });
    };
    socket.on('connect', () => {
      socket.write(`${requestLine}\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      if (halfClose === true) socket.end();
    });
    socket.on('data', (c) => {
      if (halfClose === 'afterFirstBytes' && !socket.writableEnded) socket.end();
      decoder.push(c);
      if (onBytes) onBytes(check, decoder);
      if (slow) socket.pause();
      if (check.offset >= cutAfter || decoder.state === 'done' || decoder.state === 'answered' || decoder.bad) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', finish);
  });
  return { done, tick: () => { if (!finished) socket.resume(); }, destroy: () => socket.destroy(), get finished() { return finished; } };
}

module.exports = { ChunkedDecoder, PatternCheck, streamClient };
