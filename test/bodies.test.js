'use strict';
// Request bodies as an attacker sends them (issue 16): bodies announced but never sent
// to requests that are refused anyway, and bodies that drip slower than requestTimeoutMs.
const assert = require('assert');
const net = require('net');
const { startServer, closeAll, rawExchange, waitFor } = require('./helpers');

const MB = 2 ** 20;
const BOUNDARY = 'b0und';

/** Splits one raw HTTP/1.1 response (Content-Length framed) into status, headers, body. */
function parse(text) {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  const [line, ...lines] = head.split('\r\n');
  const headers = {};
  for (const l of lines) { const i = l.indexOf(':'); headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
  const body = text.slice(head.length + 4);
  let json;
  try { json = JSON.parse(body); } catch (_) { json = undefined; }
  return { status: Number(line.split(' ')[1]), headers, body, json };
}

/**
 * Sends head, then drips one byte of `drip` at a time until the server answers (or
 * closes); resolves with everything the server sent. Bounded: at most drip.length bytes.
 */
function dripUntilAnswered(port, head, drip) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let sent = 0;
    let timer;
    const done = () => { clearInterval(timer); sock.destroy(); resolve(text); };
    sock.on('data', (c) => { text += c.toString('latin1'); if (text.includes('\r\n\r\n')) { const r = parse(text); if (Buffer.byteLength(r.body, 'latin1') >= Number(r.headers['content-length'] || 0)) done(); } });
    sock.on('close', done);
    sock.on('error', () => {});
    sock.on('connect', () => {
      sock.write(head);
      // The attack itself: a byte now and then, each well within readTimeoutMs.
      timer = setInterval(() => {
        if (sent === drip.length) { clearInterval(timer); reject(new Error(`the whole body was dripped and no answer came: ${text}`)); return; }
        sock.write(drip.subarray(sent, sent + 1));
        sent++;
      }, 20);
    });
  });
}

const seedToken = { auth: { token: 'secret' } };
const runnerConfig = { protocol: 'runner', auth: { token: 'secret' }, exposure: 'open' };

describe('request bodies: read only once the request is accepted (issue 16, D3)', () => {
  afterEach(closeAll);

  for (const [protocol, config] of [['seed', seedToken], ['runner', runnerConfig]]) {
    for (const [what, path, token, status] of [
      ['no token', '/__runner/task/echo', '', 401],
      ['an unknown task', '/__runner/task/nope', 'x-runner-token: secret\r\n', 404],
      ['an unknown route', '/__runner/elsewhere', 'x-runner-token: secret\r\n', 404],
    ]) {
      it(`${protocol}: ${what}, a head announcing 10 MiB and one byte of it: answered ${status} at once, connection closed`, async () => {
        const s = await startServer({ ...config, readTimeoutMs: 600000, requestTimeoutMs: 0 }, (srv) => srv.registerTask('echo', (x) => x));
        // No more than one byte of the body is ever sent (fasthttp waits for the first
        // one before the handler runs): an answer proves the server did not wait for more.
        const text = await rawExchange(s.port, `POST ${path} HTTP/1.1\r\nHost: x\r\n${token}Content-Type: application/json\r\nContent-Length: ${10 * MB}\r\n\r\n{`);
        const res = parse(text);
        assert.strictEqual(res.status, status, text);
        assert.strictEqual(res.json.ok, false, text);
        assert.match(text, /\r\nConnection: close\r\n/i, 'what is left of the body is not read: the connection closes');
        await waitFor(() => s.getStats().connections === 0);
      });
    }

    it(`${protocol}: a refused request whose small body has arrived keeps its connection`, async () => {
      const s = await startServer(config, (srv) => srv.registerTask('echo', (x) => x));
      const text = await rawExchange(s.port,
        'POST /__runner/task/nope HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"input":123}'
        + 'POST /__runner/task/echo HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"input":456}', 2);
      assert.match(text, /^HTTP\/1\.1 404 /);
      assert.match(text, /HTTP\/1\.1 200 [^]*456/, 'the second request, on the same connection, is answered');
    });

    it(`${protocol}: a JSON body that arrives in many pieces (or chunked) is read whole`, async () => {
      const s = await startServer({ ...config, maxBodySize: 10 * MB }, (srv) => srv.registerTask('echo', (x) => x));
      const value = 'v'.repeat(3 * MB + 17);
      const body = Buffer.from(JSON.stringify({ input: value }));
      for (const chunked of [false, true]) {
        const head = `POST /__runner/task/echo HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/json\r\nConnection: close\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`}\r\n\r\n`;
        const parts = [Buffer.from(head)];
        for (let i = 0; i < body.length; i += 100000) {
          const piece = body.subarray(i, i + 100000);
          parts.push(chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
        }
        if (chunked) parts.push(Buffer.from('0\r\n\r\n'));
        const res = parse(await rawExchange(s.port, Buffer.concat(parts)));
        assert.strictEqual(res.status, 200, res.body.slice(0, 200));
        assert.strictEqual(res.json.result, value);
      }
    });
  }
});

describe('requestTimeoutMs: the whole request, streamed bodies included (issue 16, D8)', function () {
  this.timeout(30000);
  afterEach(closeAll);

  /** A task that reads its raw body (ctx.body) to the end. */
  const rawSink = (srv) => srv.registerTask('sink', async (input, ctx) => { let n = 0; for await (const c of ctx.body) n += c.length; return n; });
  const drip = Buffer.alloc(1000, 0x61);
  const octetHead = `POST /__runner/task/sink HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/octet-stream\r\nContent-Length: ${drip.length}\r\n\r\n`;

  it('seed: an octet-stream body dripping a byte every 20 ms (readTimeoutMs 30 s) gets 408 REQUEST_TIMEOUT past requestTimeoutMs', async () => {
    const s = await startServer({ ...seedToken, requestTimeoutMs: 300 }, rawSink);
    const res = parse(await dripUntilAnswered(s.port, octetHead, drip));
    assert.strictEqual(res.status, 408, res.body);
    assert.deepStrictEqual(res.json, { ok: false, error: { code: 408, message: 'Request not received within requestTimeoutMs', codeName: 'REQUEST_TIMEOUT' } });
    assert.strictEqual(res.headers.connection, 'close');
  });

  it('seed: a JSON body dripping slower than requestTimeoutMs gets the same 408', async () => {
    const s = await startServer({ ...seedToken, requestTimeoutMs: 300 }, (srv) => srv.registerTask('echo', (x) => x));
    const res = parse(await dripUntilAnswered(s.port, `POST /__runner/task/echo HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/json\r\nContent-Length: ${drip.length}\r\n\r\n`, drip));
    assert.strictEqual(res.status, 408, res.body);
    assert.strictEqual(res.json.error.codeName, 'REQUEST_TIMEOUT');
  });

  it('runner: an octet-stream body dripping past requestTimeoutMs gets Node\'s bare 408 and the connection closes', async () => {
    const s = await startServer({ ...runnerConfig, requestTimeoutMs: 300 }, rawSink);
    const text = await dripUntilAnswered(s.port, octetHead, drip);
    const res = parse(text);
    assert.strictEqual(res.status, 408, text);
    assert.strictEqual(res.body, '', 'as Node answers requestTimeout: no body');
    assert.strictEqual(res.headers.connection, 'close');
  });

  const multipartHead = (length) => `POST /__runner/task/files HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${length}\r\n\r\n`;
  const files = (srv) => srv.registerTask('files', (input, ctx) => new Promise((resolve, reject) => {
    ctx.form.onFile(async (f) => { try { let n = 0; for await (const c of f.stream) n += c.length; resolve(n); } catch (err) { reject(err); } });
  }));
  const manifest = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="__manifest"\r\n\r\n{"input":{"f":{"$runnerFile":"File","id":"F"}}}\r\n`;

  it('runner: a multipart manifest dripping past requestTimeoutMs gets 408', async () => {
    const s = await startServer({ ...runnerConfig, requestTimeoutMs: 300 }, files);
    const text = await dripUntilAnswered(s.port, multipartHead(manifest.length + 1000), Buffer.from(manifest + 'x'.repeat(1000)));
    assert.strictEqual(parse(text).status, 408, text);
  });

  it('runner: a multipart file part dripping past requestTimeoutMs (the task reading it) gets 408', async () => {
    const s = await startServer({ ...runnerConfig, requestTimeoutMs: 300 }, files);
    const filePart = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file:F"; filename="f.txt"\r\n\r\n`;
    const head = multipartHead(manifest.length + filePart.length + 1000) + manifest + filePart;
    const text = await dripUntilAnswered(s.port, head, drip);
    assert.strictEqual(parse(text).status, 408, text);
  });
});

describe('maxJsonDepth at the most a config allows (issue 16, D7)', function () {
  this.timeout(60000);
  afterEach(closeAll);

  for (const protocol of ['seed', 'runner']) {
    it(`${protocol}: 10 MiB of '[' with maxJsonDepth 5,000,000 (and 2^31-1) is a 400, and the process lives on`, async () => {
      for (const maxJsonDepth of [5000000, 2 ** 31 - 1]) {
        const config = protocol === 'seed' ? seedToken : runnerConfig;
        const depth = (x) => { let d = 0; for (; Array.isArray(x); x = x[0]) d++; return d; };
        const s = await startServer({ ...config, maxJsonDepth, maxBodySize: 16 * MB }, (srv) => srv.registerTask('echo', depth));
        const body = Buffer.alloc(10 * MB, 0x5b);
        const res = parse(await rawExchange(s.port, Buffer.concat([Buffer.from(`POST /__runner/task/echo HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body])));
        assert.strictEqual(res.status, 400, res.body);
        assert.strictEqual(protocol === 'seed' ? res.json.error.codeName : res.json.error.code, 'INVALID_JSON');
        // Nested (as deep as runner's serializer decodes) within the limit: answered.
        const nested = `${'['.repeat(900)}${']'.repeat(900)}`;
        const deep = `{"input":${nested}}`;
        const ok = parse(await rawExchange(s.port, `POST /__runner/task/echo HTTP/1.1\r\nHost: x\r\nx-runner-token: secret\r\nContent-Type: application/json\r\nContent-Length: ${deep.length}\r\n\r\n${deep}`));
        assert.strictEqual(ok.status, 200, ok.body.slice(0, 300));
        assert.strictEqual(ok.json.result, 900);
      }
    });
  }
});
