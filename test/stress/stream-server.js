'use strict';
/**
 * The streaming stress tests' server, in a child process so that its RSS is its own: a
 * @bluelibs/runner app served by nativeExposure, whose tasks take uploads (a multipart
 * file, or a raw octet-stream body) and send downloads, reading and writing every byte.
 * The parent asks over IPC: {rss} for RSS and peak RSS, {reset} to start a new peak.
 */
const crypto = require('crypto');
const { memory, serveParent } = require('./child');
const { Readable } = require('stream');
const { r, run, globals, useExposureContext } = require('@bluelibs/runner');
const { nativeExposure } = require('../../runner');

/** The bytes every download repeats: 1 MiB, the same pattern stream-stress.test.js checks. */
const BLOCK = Buffer.alloc(1 << 20);
for (let i = 0; i < BLOCK.length; i++) BLOCK[i] = (i * 7 + (i >> 10)) & 255;

async function digest(stream) {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) { h.update(chunk); bytes += chunk.length; }
  return { bytes, digest: h.digest('hex') };
}

function* blocks(bytes) {
  for (let left = bytes; left > 0; left -= BLOCK.length) yield left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
}

const tasks = [
  r.task('stress.sink').run(async (input) => digest(input.file.stream())).build(),
  r.task('stress.rawSink').run(async () => digest(useExposureContext().req)).build(),
  r.task('stress.source').run(async (input) => Readable.from(blocks(input.bytes))).build(),
];

async function main() {
  const tunnel = r.resource('stress.tunnel').tags([globals.tags.tunnel])
    .init(async () => ({ mode: 'server', transport: 'http', tasks: tasks.map((t) => t.id) })).build();
  const exposure = nativeExposure.with({
    http: { listen: { port: 0 }, auth: { token: 'secret' }, limits: { multipart: { fileSize: 2 ** 40, files: 10, fields: 100, fieldSize: 1 << 20 } } },
  });
  const runtime = await run(r.resource('stress.app').register([...tasks, tunnel, exposure]).build(), { logs: { printThreshold: null }, shutdownHooks: false });
  const value = runtime.getResourceValue(exposure);
  serveParent({
    ready: { port: value.port, url: `http://127.0.0.1:${value.port}${value.basePath}` },
    rss: () => ({ memory: memory(), stats: value.server.getStats() }),
    close: () => runtime.dispose(),
  });
}

main().catch((err) => { console.error(err); process.exit(1); });
