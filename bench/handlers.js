'use strict';
/** The benchmark's handlers, shared by every JavaScript server (Go has twins in internal/gohandlers). */
/**
 * About 1 ms of CPU on this project's machine: a fixed amount of hashing (FNV-1a over a
 * 4 KiB buffer, CPU_ROUNDS times), allocation-free so that it measures the threads'
 * CPU and not the garbage collector.
 */
const CPU_ROUNDS = 160;
const CPU_DATA = Buffer.alloc(4096);
for (let i = 0; i < CPU_DATA.length; i++) CPU_DATA[i] = (i * 31) & 255;

function burn() {
  let h = 0x811c9dc5;
  for (let r = 0; r < CPU_ROUNDS; r++) {
    for (let i = 0; i < CPU_DATA.length; i++) {
      h ^= CPU_DATA[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16);
}

/**
 * The stream scenario: each request uploads STREAM_BYTES (application/octet-stream), the
 * handler reads all of it (consume), then answers with a stream of STREAM_BYTES made of
 * STREAM_CHUNK pieces of one fixed buffer (streamChunks), the count it read in the
 * x-bench-received header. Every server runs exactly this.
 */
const STREAM_TASK = 'app.tasks.stream';
const STREAM_BYTES = 2 ** 20;
const STREAM_CHUNK = 64 * 1024;
const STREAM_DATA = Buffer.alloc(STREAM_CHUNK);
for (let i = 0; i < STREAM_DATA.length; i++) STREAM_DATA[i] = (i * 7) & 255;

/** Reads a stream to its end; resolves with its length in bytes. */
async function consume(readable) {
  let bytes = 0;
  for await (const chunk of readable) bytes += chunk.length;
  return bytes;
}

function* streamChunks() {
  for (let sent = 0; sent < STREAM_BYTES; sent += STREAM_CHUNK) yield STREAM_DATA;
}

/** The sha256 of the stream answer, for the harness's check. */
function streamDigest() {
  const hash = require('crypto').createHash('sha256');
  for (const chunk of streamChunks()) hash.update(chunk);
  return hash.digest('hex');
}

const tasks = {
  'app.tasks.add': async (input) => input.a + input.b,
  'app.tasks.echo': async (input) => input,
  'app.tasks.sleep': (input) => new Promise((resolve) => setTimeout(() => resolve(true), input.ms)),
  'app.tasks.cpu': () => burn(),
};
const events = {
  'app.events.notify': async () => {},
};
module.exports = { tasks, events, burn, CPU_ROUNDS, STREAM_TASK, STREAM_BYTES, consume, streamChunks, streamDigest };
