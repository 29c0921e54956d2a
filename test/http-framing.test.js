'use strict';
/**
 * Strict HTTP/1.1: every case of test/fixtures/http-framing-cases.js is sent, byte for
 * byte, to runner-native and to a plain node:http server. runner-native must answer
 * exactly as the case says; both must agree on accepting or refusing it, except where the
 * case says why runner-native decides otherwise.
 */
const assert = require('assert');
const http = require('http');
const net = require('net');
const { startServer, closeAll } = require('./helpers');
const cases = require('./fixtures/http-framing-cases');

const TIMEOUT_MS = 1000;
const HEADER_LIMIT = 16384; // node:http's default

/** A valid request that must get 200 on a connection that stays usable. */
const PROBE = 'POST /__runner/task/t HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';

/** Codes of answers from the HTTP layer (the request was refused), not from a route. */
const PROTOCOL_CODES = new Set(['BAD_REQUEST', 'REQUEST_TIMEOUT', 'PAYLOAD_TOO_LARGE', 'HEADERS_TOO_LARGE',
  'NOT_IMPLEMENTED', 'HTTP_VERSION_NOT_SUPPORTED', 'EXPECTATION_FAILED']);

/**
 * Reads the responses one connection receives: final responses in order (1xx are
 * skipped), as they complete. A response without Content-Length or chunked framing
 * ends with the connection.
 */
class Exchange {
  constructor(port) {
    this.socket = net.connect(port, '127.0.0.1');
    this.raw = '';
    this.responses = [];
    this.closed = false;
    this.pos = 0;
    this.waiters = [];
    this.socket.on('data', (c) => { this.raw += c.toString('latin1'); this.update(); });
    this.socket.on('close', () => { this.closed = true; this.update(); });
    this.socket.on('error', () => {});
  }

  write(text) { this.socket.write(Buffer.from(text, 'latin1')); }

  /** Resolves once cond() holds, or once the connection is closed. */
  until(cond) {
    return new Promise((resolve) => {
      this.waiters.push({ cond, resolve });
      this.update();
    });
  }

  update() {
    for (let r = this.parseOne(); r; r = this.parseOne()) if (r.status >= 200) this.responses.push(r);
    this.waiters = this.waiters.filter((w) => {
      if (!w.cond() && !this.closed) return true;
      w.resolve();
      return false;
    });
  }

  parseOne() {
    const text = this.raw;
    const end = text.indexOf('\r\n\r\n', this.pos);
    if (end < 0) return null;
    const [statusLine, ...fields] = text.slice(this.pos, end).split('\r\n');
    const headers = {};
    for (const f of fields) headers[f.slice(0, f.indexOf(':')).toLowerCase()] = f.slice(f.indexOf(':') + 1).trim();
    const status = Number(statusLine.split(' ')[1]);
    let at = end + 4;
    let body = '';
    if (status < 200) {
      // interim: no body
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (text.length < at + n) return null;
      body = text.slice(at, at + n);
      at += n;
    } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      for (;;) {
        const eol = text.indexOf('\r\n', at);
        if (eol < 0) return null;
        const size = parseInt(text.slice(at, eol), 16);
        if (text.length < eol + 2 + size + 2) return null;
        body += text.slice(eol + 2, eol + 2 + size);
        at = eol + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      if (!this.closed) return null;
      body = text.slice(at);
      at = text.length;
    }
    this.pos = at;
    return { status, headers, body };
  }

  /** Writes the case's bytes, waiting where it says. */
  async play(send) {
    for (const step of Array.isArray(send) ? send : [send]) {
      if (typeof step === 'string') this.write(step);
      else if (typeof step.await === 'number') await this.until(() => this.responses.length >= step.await);
      else await this.until(() => this.raw.includes(step.await));
    }
  }

  close() { this.socket.destroy(); }
}

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/**
 * A case field as this Node decides it: the value itself, or, when keyed by Node major
 * ({ 18: ..., 22: ... }), the entry of the highest major not above the running one.
 */
function forThisNode(value) {
  if (value === null || typeof value !== 'object') return value;
  const from = Object.keys(value).map(Number).filter((m) => m <= NODE_MAJOR).sort((a, b) => b - a)[0];
  assert.ok(from !== undefined, `no entry for Node ${NODE_MAJOR} in ${JSON.stringify(value)}`);
  return value[from];
}

/** The answers a case expects from runner-native. */
function expected(c) {
  const answers = c.rn.filter((a) => a !== 'close').map((a) => {
    const [status, code] = a.split(' ');
    return { status: Number(status), code };
  });
  return { answers, close: c.rn.includes('close') };
}

function rnVerdict(responses) {
  const refused = (r) => r.status >= 400 && PROTOCOL_CODES.has(r.json.error.codeName) &&
    !r.json.error.message.startsWith('Invalid id'); // the router's 400, after HTTP
  return responses.length === 0 || responses.some(refused) ? 'reject' : 'accept';
}

function nodeVerdict(responses) {
  return responses.length > 0 && responses.every((r) => r.status < 400) ? 'accept' : 'reject';
}

describe('strict HTTP/1.1: runner-native and node:http on the same bytes', function () {
  this.timeout(20000);
  let rn;
  let node;

  before(async () => {
    rn = await startServer({ readTimeoutMs: TIMEOUT_MS, maxHeaderSize: HEADER_LIMIT }, (s) => s.registerTask('t', () => 'ok'));
    node = http.createServer({ requestTimeout: TIMEOUT_MS, headersTimeout: TIMEOUT_MS, connectionsCheckingInterval: 100, maxHeaderSize: HEADER_LIMIT },
      (req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
    await new Promise((resolve) => node.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await closeAll();
    node.closeAllConnections();
    await new Promise((resolve) => node.close(resolve));
  });

  /** runner-native's answers to a case, checked as it says. */
  async function runnerNative(c) {
    const want = expected(c);
    const ex = new Exchange(rn.port);
    try {
      await ex.play(c.send);
      await ex.until(() => ex.responses.length >= want.answers.length && (!want.close || ex.closed));
      const got = ex.responses.map((r) => ({ ...r, json: JSON.parse(r.body) }));
      assert.deepStrictEqual(got.map((r) => r.status), want.answers.map((a) => a.status), `answers: ${ex.raw.slice(0, 500)}`);
      got.forEach((r, i) => {
        assert.strictEqual(r.headers['content-type'], 'application/json; charset=utf-8');
        if (r.status < 300) return assert.strictEqual(r.json.ok, true);
        assert.deepStrictEqual(Object.keys(r.json.error), ['code', 'message', 'codeName']);
        assert.strictEqual(r.json.error.code, r.status);
        assert.strictEqual(r.json.error.codeName, want.answers[i].code, r.body);
      });
      if (want.close) {
        assert.ok(ex.closed, 'the server closed the connection');
        assert.match(ex.responses.at(-1)?.headers.connection || 'close', /close/i);
      } else {
        ex.write(PROBE);
        await ex.until(() => ex.responses.length > got.length);
        assert.strictEqual(ex.responses.at(-1)?.status, 200, `the connection stays usable: ${ex.raw.slice(-300)}`);
      }
      return got;
    } finally {
      ex.close();
    }
  }

  /** node:http's answers: until it closes, or has answered as often as runner-native. */
  async function nodeHttp(c) {
    const ex = new Exchange(node.address().port);
    try {
      await ex.play(c.send);
      await ex.until(() => ex.responses.length >= expected(c).answers.length);
      return ex.responses;
    } finally {
      ex.close();
    }
  }

  for (const c of cases) {
    it(`${c.class}: ${c.name}: ${c.rn.join(', ')}`, async () => {
      const [rnAnswers, nodeAnswers] = await Promise.all([runnerNative(c), nodeHttp(c)]);
      const nodeWants = forThisNode(c.node);
      assert.strictEqual(nodeVerdict(nodeAnswers), nodeWants, `node:http ${process.version}: ${nodeAnswers.map((r) => r.status)}`);
      const differs = rnVerdict(rnAnswers) !== nodeWants;
      assert.strictEqual(differs, Boolean(forThisNode(c.differs)), differs ? 'runner-native decides otherwise than node:http, without a reason in the table' : 'the table claims a difference that is not there');
    });
  }

  it('the table covers every class of the issue', () => {
    const classes = new Set(cases.map((c) => c.class));
    for (const k of ['request line', 'method', 'target', 'field', 'line end', 'Host', 'framing', 'chunked', 'trailers', 'expect', 'connection']) {
      assert.ok(classes.has(k), k);
    }
  });

  it('the server still answers after all of them, and counted every answer', async () => {
    const res = await new Promise((resolve, reject) => {
      http.request({ port: rn.port, host: '127.0.0.1', method: 'POST', path: '/__runner/task/t', agent: false }, (r) => {
        let text = '';
        r.on('data', (d) => { text += d; });
        r.on('end', () => resolve({ status: r.statusCode, text }));
      }).on('error', reject).end('{}');
    });
    assert.deepStrictEqual(res, { status: 200, text: '{"ok":true,"result":"ok"}' });
    const stats = rn.getStats();
    assert.strictEqual(stats.requests, stats.status2xx + stats.status4xx + stats.status5xx);
  });
});
