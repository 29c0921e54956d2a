'use strict';
/**
 * The headers a handler sets on a streamed answer (issue 16, defect 4). Each name must be
 * an HTTP token and each value a field-value (no control byte but HTAB; bytes 0x80-0xFF
 * allowed, as Node allows them); anything else fails the call as Node's setHeader does
 * (ERR_INVALID_CHAR, ERR_INVALID_HTTP_TOKEN): 500 with the protocol's envelope, before
 * any byte of the answer. A NUL used to split a value into headers of the client's
 * choosing (a file name put into content-disposition added `Refresh: 0;url=…`).
 */
const assert = require('assert');
const net = require('net');
const { Readable } = require('stream');
const { startServer, closeAll, waitFor } = require('./helpers');

/** One raw request on its own connection; resolves with the raw head and body as received. */
function rawCall(port, id, input) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ input });
    // write, not end: a client that half-closes is taken as gone (as node:http aborts the
    // request on FIN), which would cut the stream under a slow scheduler.
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`POST /__runner/task/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const at = raw.indexOf('\r\n\r\n');
      const head = raw.toString('latin1', 0, at); // a head's bytes, one character each
      const lines = head.split('\r\n');
      resolve({ head, status: Number(lines[0].split(' ')[1]), names: lines.slice(1).map((l) => l.slice(0, l.indexOf(':')).toLowerCase()), body: raw.toString('utf8', at + 4) });
    });
  });
}

/** A server whose task 'dl' streams 'data' with the status, content type and headers its input names. */
async function streamServer(streams = []) {
  return startServer({}, (srv) => srv.registerTask('dl', (input) => {
    const stream = Readable.from(['da', 'ta']);
    streams.push(stream);
    return { stream, status: 201, contentType: input.contentType || 'text/plain', headers: input.headers };
  }));
}

const BAD_VALUES = [
  ['NUL (a file name that adds Refresh)', 'attachment; filename="a\0Refresh\0 0;url=http://evil.test/\0x"'],
  ['CR', 'a\rRefresh: 0'],
  ['LF', 'a\nRefresh: 0'],
  ['CRLF', 'a\r\nRefresh: 0;url=http://evil.test/'],
  ['another control byte (ESC)', 'a\x1b[31m'],
  ['DEL', 'a\x7f'],
  ['a character above U+00FF (Node refuses it too)', 'a\u010aRefresh: 0'],
];
const BAD_NAMES = [
  ['a space', 'x bad'], ['a colon', 'refresh:'], ['a NUL', 'x\0refresh'], ['CRLF', 'x\r\nrefresh'], ['empty', ''],
  ['a non-ASCII letter', 'x-é'],
];

describe('streamed answers: the headers a handler sets', function () {
  this.timeout(30000);
  afterEach(closeAll);

  const refused = async (input, message) => {
    const streams = [];
    const s = await streamServer(streams);
    const res = await rawCall(s.port, 'dl', input);
    assert.strictEqual(res.status, 500, res.head);
    assert.deepStrictEqual(JSON.parse(res.body), { ok: false, error: { code: 500, message, codeName: 'INTERNAL_ERROR' } });
    assert.ok(!res.names.includes('refresh'), `no injected header: ${JSON.stringify(res.head)}`);
    assert.ok(!res.names.includes('x') && !res.names.includes('transfer-encoding'), res.head);
    assert.ok(!/[\0\x7f]/.test(res.head), 'no control byte in the head');
    // The stream is stopped and its call released.
    await waitFor(() => streams[0].destroyed);
    await waitFor(() => s.getStats().pending === 0 && s.getStats().inFlight === 0);
  };

  for (const [what, value] of BAD_VALUES) {
    it(`a value with ${what}: 500, as Node refuses it (ERR_INVALID_CHAR), no header injected`, () => refused(
      { headers: { 'content-disposition': value } }, 'Invalid character in header content ["content-disposition"]'));
  }

  for (const [what, name] of BAD_NAMES) {
    it(`a name with ${what}: 500, as Node refuses it (ERR_INVALID_HTTP_TOKEN)`, () => refused(
      { headers: { [name]: 'v' } }, `Header name must be a valid HTTP token ["${name}"]`));
  }

  it('a bad header after good ones: 500, and none of them is sent', async () => {
    await refused({ headers: { 'x-first': 'ok', 'x-second': 'a\0Refresh\0 0' } }, 'Invalid character in header content ["x-second"]');
  });

  it('a content type with LF: 500', () => refused({ contentType: 'text/html\nRefresh: 0' }, 'Invalid character in header content ["content-type"]'));

  it('a header in a list with a NUL: 500', () => refused({ headers: { 'x-list': ['ok', 'b\0Refresh\0 0'] } }, 'Invalid character in header content ["x-list"]'));

  it('HTAB, spaces and bytes 0x80-0xFF (Latin-1, as Node sends them) are valid: sent as set', async () => {
    const s = await streamServer();
    const res = await rawCall(s.port, 'dl', { headers: { 'x-tab': 'a\tb', 'content-disposition': 'attachment; filename="caf\u00e9 \u00ff.txt"', "x-!#$%&'*+-.^_`|~": 'token' } });
    assert.strictEqual(res.status, 201, res.head);
    assert.ok(res.head.includes('\r\nX-Tab: a\tb\r\n') || res.head.toLowerCase().includes('\r\nx-tab: a\tb\r\n'), res.head);
    assert.ok(res.head.includes('filename="caf\u00e9 \u00ff.txt"'), 'Latin-1 bytes, one per character, as Node writes them');
    assert.ok(res.names.includes("x-!#$%&'*+-.^_`|~"), res.head);
    // The body is chunked, and 'da' and 'ta' are one chunk or two depending on timing:
    // its data lines (every second line) joined.
    assert.strictEqual(res.body.split('\r\n').filter((_, i) => i % 2 === 1).join(''), 'data', res.body);
  });
});
