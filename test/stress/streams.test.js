'use strict';
// Streams under load, with the server in a child process (its RSS is its own):
// `npm run test:stress`. Figures are printed with a "[stress]" prefix.
const assert = require('assert');
const crypto = require('crypto');
const http = require('http');
const path = require('path');
const { forkServer } = require('./child');
const { Readable } = require('stream');
const { createHttpSmartClient, createNodeFile, Serializer } = require('@bluelibs/runner');

const MB = 2 ** 20;
const GB = 2 ** 30;
const report = (msg) => console.log(`      [stress] ${msg}`);
const sha = () => crypto.createHash('sha256');

/** The server's download block (stream-server.js): 1 MiB of a fixed pattern. */
const BLOCK = Buffer.alloc(MB);
for (let i = 0; i < BLOCK.length; i++) BLOCK[i] = (i * 7 + (i >> 10)) & 255;

/** bytes of an upload, 1 MiB at a time, each piece stamped with its index and seed (so order and origin show), hashed as it is made. */
function* payload(bytes, seed, hash) {
  for (let off = 0, i = 0; off < bytes; off += MB, i++) {
    const piece = Buffer.from(BLOCK.subarray(0, Math.min(MB, bytes - off)));
    if (piece.length >= 8) { piece.writeUInt32LE(i, 0); piece.writeUInt32LE(seed, 4); }
    hash.update(piece);
    yield piece;
  }
}

/** The digest of a download of bytes. */
function downloadDigest(bytes) {
  const h = sha();
  for (let left = bytes; left > 0; left -= MB) h.update(left >= MB ? BLOCK : BLOCK.subarray(0, left));
  return h.digest('hex');
}

describe('stress: streams (server in a child process)', function () {
  this.timeout(300000);
  let server;
  let url;
  let port;
  const ask = (what, key) => server.ask(what, key).then((m) => m[key]);

  before(async () => {
    server = forkServer(path.join(__dirname, 'stream-server.js'));
    ({ port } = await server.next('port'));
    url = `http://127.0.0.1:${port}/__runner`;
  });
  after(() => server && server.stop());

  const client = () => createHttpSmartClient({ baseUrl: url, auth: { token: 'secret' }, serializer: new Serializer() });

  /** Runs fn with the server's peak RSS reset first; resolves with fn's value and the peak's growth in MB. */
  async function measured(fn) {
    const before = await ask('reset', 'reset');
    const began = process.hrtime.bigint();
    const value = await fn();
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    const { memory } = await ask('rss', 'memory').then((m) => ({ memory: m }));
    return { value, seconds, growthMB: (memory.peak - before.rss) / MB, baseMB: before.rss / MB };
  }

  /** A raw download of bytes from stress.source; resolves with its size and digest. */
  function download(bytes, agent) {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify({ input: { bytes } });
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/__runner/task/stress.source', agent, headers: { 'x-runner-token': 'secret', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const h = sha();
        let n = 0;
        res.on('data', (c) => { h.update(c); n += c.length; });
        res.on('end', () => resolve({ status: res.statusCode, bytes: n, digest: h.digest('hex') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('warm-up: one upload of each kind and a download, byte-exact', async () => {
    const h = sha();
    assert.deepStrictEqual(await client().task('stress.sink', { file: createNodeFile({ name: 'w' }, { stream: Readable.from(payload(10 * MB, 1, h)) }, 'F') }), { bytes: 10 * MB, digest: h.digest('hex') });
    const h2 = sha();
    assert.deepStrictEqual(await client().task('stress.rawSink', Readable.from(payload(10 * MB, 2, h2))), { bytes: 10 * MB, digest: h2.digest('hex') });
    assert.deepStrictEqual(await download(10 * MB), { status: 200, bytes: 10 * MB, digest: downloadDigest(10 * MB) });
  });

  it('a 1 GB multipart upload through a task that reads it: server RSS grows < 64 MB', async () => {
    const h = sha();
    const m = await measured(() => client().task('stress.sink', { file: createNodeFile({ name: 'big.bin' }, { stream: Readable.from(payload(GB, 3, h)) }, 'F') }));
    report(`1 GB multipart upload: ${(1024 / m.seconds).toFixed(0)} MB/s, server RSS ${m.baseMB.toFixed(0)} MB + peak growth ${m.growthMB.toFixed(1)} MB`);
    assert.deepStrictEqual(m.value, { bytes: GB, digest: h.digest('hex') });
    assert.ok(m.growthMB < 64, `RSS grew ${m.growthMB.toFixed(1)} MB`);
  });

  it('a 1 GB raw (octet-stream) upload: server RSS grows < 64 MB', async () => {
    const h = sha();
    const m = await measured(() => client().task('stress.rawSink', Readable.from(payload(GB, 4, h))));
    report(`1 GB octet-stream upload: ${(1024 / m.seconds).toFixed(0)} MB/s, peak RSS growth ${m.growthMB.toFixed(1)} MB`);
    assert.deepStrictEqual(m.value, { bytes: GB, digest: h.digest('hex') });
    assert.ok(m.growthMB < 64, `RSS grew ${m.growthMB.toFixed(1)} MB`);
  });

  it('a 1 GB download from a task\'s stream: server RSS grows < 64 MB', async () => {
    const m = await measured(() => download(GB));
    report(`1 GB download: ${(1024 / m.seconds).toFixed(0)} MB/s, peak RSS growth ${m.growthMB.toFixed(1)} MB`);
    assert.deepStrictEqual(m.value, { status: 200, bytes: GB, digest: downloadDigest(GB) });
    assert.ok(m.growthMB < 64, `RSS grew ${m.growthMB.toFixed(1)} MB`);
  });

  it('200 concurrent 10 MB uploads (multipart and raw) and 200 concurrent 10 MB downloads, byte-exact', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 400 });
    // runner's smart client uses Node's global agent, whose sockets time out after 5 s
    // without traffic; a stream may wait longer for its turn among 400 on two cores.
    const globalAgent = http.globalAgent;
    http.globalAgent = new http.Agent({ keepAlive: true });
    const gaps = [];
    const expected = downloadDigest(10 * MB);
    const m = await measured(() => Promise.all([
      ...Array.from({ length: 200 }, async (_, i) => {
        const h = sha();
        let last = Date.now();
        let gap = 0;
        const body = Readable.from((function* () { for (const piece of payload(10 * MB, 100 + i, h)) { const now = Date.now(); gap = Math.max(gap, now - last); last = now; yield piece; } })());
        body.on('end', () => gaps.push(gap));
        const got = i % 2 === 0
          ? await client().task('stress.sink', { file: createNodeFile({ name: `f${i}` }, { stream: body }, 'F') })
          : await client().task('stress.rawSink', body);
        assert.deepStrictEqual(got, { bytes: 10 * MB, digest: h.digest('hex') }, `upload ${i}`);
      }),
      ...Array.from({ length: 200 }, async (_, i) => {
        assert.deepStrictEqual(await download(10 * MB, agent), { status: 200, bytes: 10 * MB, digest: expected }, `download ${i}`);
      }),
    ]));
    agent.destroy();
    http.globalAgent = globalAgent;
    gaps.sort((a, b) => a - b);
    report(`upload gaps: median ${gaps[gaps.length >> 1]} ms, max ${gaps[gaps.length - 1]} ms`);
    report(`200 + 200 concurrent 10 MB streams: 4,000 MB in ${m.seconds.toFixed(1)} s (${(4000 / m.seconds).toFixed(0)} MB/s), peak RSS growth ${m.growthMB.toFixed(1)} MB`);
    const { stats } = await server.ask('rss', 'memory');
    assert.strictEqual(stats.pending, 0);
    assert.strictEqual(stats.streamErrors, 0);
  });
});
