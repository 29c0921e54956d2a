'use strict';
/**
 * runner protocol: the headers a task sets on a streamed answer (issue 16, defect 4),
 * nativeExposure against nodeExposure. A name that is not a token or a value with a
 * control byte (NUL, CR, LF, ...) makes Node's setHeader throw, and runner answers 500
 * INTERNAL_ERROR; nativeExposure must answer the same, and never send a header the task
 * did not set (a NUL used to split a value into headers of the client's choosing).
 */
const assert = require('assert');
const net = require('net');
const { usePair, same, raw, post, TOKEN } = require('./helpers');
const { clientSerializer } = require('./app');

/** The raw head of an answer (one connection, Connection: close), for what no client library shows. */
function rawHead(app, body) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(app.port, '127.0.0.1', () => {
      socket.write(`POST /__runner/task/app.tasks.streamHeaders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nx-runner-token: ${TOKEN['x-runner-token']}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      resolve(all.toString('latin1', 0, all.indexOf('\r\n\r\n')));
    });
  });
}

const input = (i) => clientSerializer().stringify({ input: i });

const REFUSED = [
  ['a NUL in a value (a file name that adds Refresh)', { headers: { 'content-disposition': 'attachment; filename="a\0Refresh\0 0;url=http://evil.test/\0x"' } }],
  ['CR in a value', { headers: { 'x-name': 'a\rRefresh: 0' } }],
  ['LF in a value', { headers: { 'x-name': 'a\nRefresh: 0' } }],
  ['CRLF in a value', { headers: { 'x-name': 'a\r\nRefresh: 0' } }],
  ['another control byte in a value', { headers: { 'x-name': 'a\x01' } }],
  ['DEL in a value', { headers: { 'x-name': 'a\x7f' } }],
  ['a character above U+00FF in a value', { headers: { 'x-name': 'a\u010aRefresh: 0' } }],
  ['a name with a space', { headers: { 'x bad': 'v' } }],
  ['a name with a NUL', { headers: { 'x\0refresh': 'v' } }],
  ['a name with CRLF', { headers: { 'x\r\nrefresh': 'v' } }],
  ['an empty name', { headers: { '': 'v' } }],
  ['a content type with LF', { contentType: 'text/html\nRefresh: 0' }],
];

describe('runner mode: the headers a task sets on a streamed answer', function () {
  this.timeout(30000);
  const pair = usePair({ http: { auth: { token: 'secret' } } });

  for (const [what, spec] of REFUSED) {
    it(`${what}: 500 INTERNAL_ERROR as nodeExposure answers, no header injected`, async () => {
      const got = await same(pair(), (app) => raw(app, 'POST', '/__runner/task/app.tasks.streamHeaders', post('', input(spec))));
      assert.strictEqual(got.status, 500);
      assert.deepStrictEqual(got.body, { ok: false, error: { message: 'Internal Error', code: 'INTERNAL_ERROR' } });
      const head = await rawHead(pair().native, input(spec));
      assert.ok(head.startsWith('HTTP/1.1 500'), head);
      assert.ok(!/\r\nrefresh:/i.test(head), head);
      assert.ok(!/[\0-\x08\x0a-\x0c\x0e-\x1f\x7f]/.test(head.replace(/\r\n/g, '')), 'no control byte in the head');
    });
  }

  it('HTAB and Latin-1 characters are valid, and sent as Node sends them (one byte each)', async () => {
    const spec = { contentType: 'text/plain', headers: { 'x-tab': 'a\tb', 'content-disposition': 'attachment; filename="caf\u00e9.txt"' } };
    const got = await same(pair(), (app) => raw(app, 'POST', '/__runner/task/app.tasks.streamHeaders', post('', input(spec))));
    assert.strictEqual(got.status, 200);
    assert.strictEqual(got.body, 'data');
    const heads = await Promise.all([rawHead(pair().node, input(spec)), rawHead(pair().native, input(spec))]);
    for (const head of heads) assert.ok(head.includes('filename="caf\u00e9.txt"'), head);
  });
});
